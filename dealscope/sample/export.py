"""Writing worlds as the contract's export folder: CSV (UTF-8, header, YYYY-MM-DD, true/false, empty = missing) or Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DATE_COLUMNS = {
    "accounts": ("created_at",),
    "deals": ("created_at", "closed_at"),
    "negotiation_events": ("occurred_at",),
    "account_revenue": ("month",),
    "strategy_plan": ("effective_from",),
}
TIMESTAMP_COLUMNS = {"deals": ("updated_at",)}
FORMATS = ("csv", "parquet")


def _column_as_text(values: pd.Series, kind: str) -> pd.Series:
    """One column as export text; a column that is already text (messy rows) passes through."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_bool_dtype(values):
        text = pd.Series(np.where(values.to_numpy(dtype=bool), "true", "false"), index=values.index)
    elif pd.api.types.is_float_dtype(values):
        # whole numbers as "12" rather than "12.0"; repr of a float otherwise (exact, plain decimals here)
        numbers = values.to_numpy(dtype=float)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e15)
        text = pd.Series(np.where(whole, np.nan_to_num(numbers).astype(np.int64).astype(str), numbers.astype(str)),
                         index=values.index)
    else:
        text = values.astype(str)
    return text.mask(missing, "")


def frame_as_text(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Every column as the string the export file holds (missing = empty string)."""
    kinds = {c: "date" for c in DATE_COLUMNS.get(table, ())} | {c: "timestamp" for c in TIMESTAMP_COLUMNS.get(table, ())}
    return pd.DataFrame({c: _column_as_text(frame[c], kinds.get(c, "other")) for c in frame.columns})


def _as_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    """Typed columns keep their types (dates as date32); text frames are written as strings."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for column in DATE_COLUMNS.get(table, ()):
        index = arrow.schema.get_field_index(column)
        if pa.types.is_timestamp(arrow.schema.field(index).type):
            arrow = arrow.set_column(index, column, arrow.column(index).cast(pa.date32()))
    return arrow


def write_world(frames: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "csv") -> dict[str, int]:
    """One file per table (`NAME.csv` or `NAME.parquet`) in out_dir; returns data rows written per table."""
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
            frame_as_text(frame, table).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        else:
            pq.write_table(_as_arrow(frame, table), path)
        written[table] = len(frame)
    return written
