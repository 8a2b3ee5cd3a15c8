"""Writing worlds as the contract's export folder.

CSV: UTF-8, header row, LF, `""` quoting only where needed, dates YYYY-MM-DD,
timestamps `YYYY-MM-DD HH:MM:SS` (no offset = UTC), booleans true/false, numbers as
plain decimals, missing = empty field. Parquet: typed columns, dates as date32.

Formatting runs in Arrow compute kernels: the benchmark writes a million deals, where
per-value Python formatting (pandas to_csv, strftime) takes minutes and gigabytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DATE_COLUMNS = {
    "accounts": ("created_at",),
    "deals": ("created_at", "closed_at"),
    "negotiation_events": ("occurred_at",),
    "account_revenue": ("month",),
    "strategy_plan": ("effective_from",),
}
FORMATS = ("csv", "parquet")
_TEXT = pa.large_string()


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, _TEXT)


def _column_as_text(values: pd.Series, is_date: bool) -> pa.Array:
    """One column as the strings an export file holds ("" when missing); text columns pass through."""
    if isinstance(values.dtype, pd.StringDtype):  # text frames from frame_as_text / add_messy_rows
        text = pc.cast(pa.array(values.array), _TEXT)
    elif pd.api.types.is_datetime64_any_dtype(values):
        unit = "datetime64[D]" if is_date else "datetime64[s]"
        typed = pa.array(values.to_numpy().astype(unit))  # date32 / timestamp[s]; NaT -> null
        text = pc.cast(typed, _TEXT)  # ISO: YYYY-MM-DD / YYYY-MM-DD HH:MM:SS
    elif pd.api.types.is_bool_dtype(values):
        text = pc.if_else(pa.array(values.to_numpy(dtype=bool)), _text("true"), _text("false"))
    elif pd.api.types.is_numeric_dtype(values):
        # shortest round-trip decimal; whole floats print without ".0"
        text = pc.cast(pa.array(values, from_pandas=True), _TEXT)
    else:
        text = pc.cast(pa.array(values.to_numpy(dtype=object), from_pandas=True, type=pa.string()), _TEXT)
    return pc.fill_null(text, _text(""))


def table_as_text(frame: pd.DataFrame, table: str) -> pa.Table:
    dates = DATE_COLUMNS.get(table, ())
    return pa.table({c: _column_as_text(frame[c], c in dates) for c in frame.columns})


def frame_as_text(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Every column as the string the export file holds (missing = empty string).

    Columns are Arrow-backed pandas strings (`string[pyarrow]`): a million-row table as Python
    str objects would cost gigabytes.
    """
    text = table_as_text(frame, table)
    return pd.DataFrame({c: pd.arrays.ArrowStringArray(text.column(c)) for c in frame.columns},
                        index=range(len(frame)))


def _csv_field(text: pa.Array, quote_empty: bool) -> pa.Array:
    """CSV fields: quoted (inner quotes doubled) only where a field holds , " CR or LF
    (or is empty, when quote_empty: a one-column row must not become a skipped blank line)."""
    special = pc.match_substring_regex(text, r'^$|[",\r\n]' if quote_empty else r'[",\r\n]')
    if not pc.any(special).as_py():
        return text
    quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text(""))
    return pc.if_else(special, quoted, text)


def write_csv(text: pa.Table, path: Path) -> None:
    """RFC 4180 CSV of an all-text table: rows are joined by Arrow kernels and written as one buffer."""
    names = text.column_names
    header = ",".join(f'"{c}"' if any(ch in c for ch in ',"\r\n') else c for c in names) + "\n"
    with open(path, "wb") as out:
        out.write(header.encode("utf-8"))
        if text.num_rows == 0:
            return
        fields = [_csv_field(text.column(c).combine_chunks(), quote_empty=len(names) == 1) for c in names]
        lines = pc.binary_join_element_wise(*fields, _text(","))
        lines = pc.binary_join_element_wise(lines, _text(""), _text("\n"))  # line + "\n" + ""
        # a null-free string array stores its values back to back: that is the file body
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset: lines.offset + len(lines) + 1]
        out.write(memoryview(lines.buffers()[2])[offsets[0]: offsets[-1]])


def _as_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    """Typed columns keep their types (dates as date32); text frames (messy rows) are written as strings."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for column in DATE_COLUMNS.get(table, ()):
        index = arrow.schema.get_field_index(column)
        if pa.types.is_timestamp(arrow.schema.field(index).type):
            arrow = arrow.set_column(index, column, arrow.column(index).cast(pa.date32()))
    return arrow


def write_world(frames: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "csv") -> dict[str, int]:
    """One file per table (`NAME.csv` or `NAME.parquet`) in out_dir; returns data rows written per table.

    Frames may be typed (generate_world) or all text (add_messy_rows).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table, frame in frames.items():
        # a stale file of the other format would be a second copy of the table
        for other in FORMATS:
            (out_dir / f"{table}.{other}").unlink(missing_ok=True)
        path = out_dir / f"{table}.{fmt}"
        if fmt == "csv":
            write_csv(table_as_text(frame, table), path)
        else:
            pq.write_table(_as_arrow(frame, table), path)
        written[table] = len(frame)
    return written
