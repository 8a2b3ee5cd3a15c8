"""Compare two DuckDB warehouse files table by table, bit for bit: the reproducibility check."""

from __future__ import annotations

from pathlib import Path

import duckdb


# What differs by design between two runs on the same input: the run's own history row, what it
# compared itself with (the previous run), the deal history it carried in from the previously
# published warehouse (the raw copies and their staging view; the published history built from them
# must not differ), and load timestamps. Everything else must be identical.
RUN_SPECIFIC_TABLES = frozenset({"main.run_history", "main.run_changes", "main.run_changes_summary",
                                 "raw.deal_history_prior", "raw.export_history",
                                 "staging.stg_deal_history_prior"})
RUN_SPECIFIC_COLUMNS = frozenset({"loaded_at"})


def table_names(connection: duckdb.DuckDBPyConnection, catalog: str) -> set[tuple[str, str]]:
    """(schema, table) of every base table and view of one attached database."""
    rows = connection.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = ?",
        [catalog],
    ).fetchall()
    return {(schema, name) for schema, name in rows}


def differing_tables(first: Path, second: Path, *, skip_tables: frozenset[str] = frozenset(),
                     skip_columns: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every table of either file that is not identical in the other, with the reason: missing
    on one side, or the count of rows in one and not the other (EXCEPT ALL both ways, so a
    duplicated row counts, and floating-point values compare exactly). `skip_tables`
    ("schema.table") and `skip_columns` leave out what differs by design between two runs:
    the run's own history row, load timestamps."""
    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{first}' as first_db (read_only)")
        connection.execute(f"attach '{second}' as second_db (read_only)")
        first_tables = table_names(connection, "first_db")
        second_tables = table_names(connection, "second_db")
        differences: dict[str, str] = {}
        for schema, table in sorted(first_tables ^ second_tables):
            differences[f"{schema}.{table}"] = "present in only one file"
        for schema, table in sorted(first_tables & second_tables):
            if f"{schema}.{table}" in skip_tables:
                continue
            columns = [name for (name,) in connection.execute(
                "select column_name from information_schema.columns where table_catalog = 'first_db' "
                "and table_schema = ? and table_name = ? order by ordinal_position", [schema, table]
            ).fetchall() if name not in skip_columns]
            selected = ", ".join(f'"{name}"' for name in columns)
            left = f'select {selected} from first_db."{schema}"."{table}"'
            right = f'select {selected} from second_db."{schema}"."{table}"'
            only_left, only_right = connection.execute(
                f"select (select count(*) from ({left} except all {right})),"
                f"       (select count(*) from ({right} except all {left}))"
            ).fetchone()
            if only_left or only_right:
                differences[f"{schema}.{table}"] = (
                    f"{only_left} rows only in the first, {only_right} only in the second")
        return differences
    finally:
        connection.close()


def differing_published_tables(first: Path, second: Path) -> dict[str, str]:
    """`differing_tables` of two published warehouses, leaving out only what is run-specific."""
    return differing_tables(first, second, skip_tables=RUN_SPECIFIC_TABLES, skip_columns=RUN_SPECIFIC_COLUMNS)


def compared_table_count(path: Path) -> int:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return connection.execute(
            "select count(*) from information_schema.tables where table_catalog = current_database()"
        ).fetchone()[0]
    finally:
        connection.close()


# Two engines add floating-point terms in different orders and round decimal literals differently:
# a value may differ in its last digits, never more than this (relative, or absolute near zero).
ENGINE_FLOAT_TOLERANCE = 1e-9


def table_differences_within_tolerance(first: Path, second: Path, schema: str, *,
                                       skip_tables: frozenset[str] = frozenset(),
                                       skip_columns: frozenset[str] = RUN_SPECIFIC_COLUMNS,
                                       tolerance: float = ENGINE_FLOAT_TOLERANCE) -> dict[str, str]:
    """Every table of `schema` that differs between two files beyond `tolerance`: missing on one
    side, another column list or row count, or a value that differs (text, dates, booleans and
    integers exactly; floats within `tolerance`, relative or absolute); `skip_columns` (the run's own
    times) are left out. Rows are matched after
    sorting both tables on every column, floats rounded to 6 decimals for the sort only."""
    import numpy as np
    import pandas as pd

    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{first}' as first_db (read_only)")
        connection.execute(f"attach '{second}' as second_db (read_only)")
        names = {}
        for catalog in ("first_db", "second_db"):
            names[catalog] = {name for s, name in table_names(connection, catalog) if s == schema} - skip_tables
        differences: dict[str, str] = {}
        for name in sorted(names["first_db"] ^ names["second_db"]):
            differences[name] = "present in only one file"
        for name in sorted(names["first_db"] & names["second_db"]):
            frames = [connection.execute(f'select * from {catalog}."{schema}"."{name}"').df()
                      for catalog in ("first_db", "second_db")]
            frames = [frame.drop(columns=[c for c in frame.columns if c in skip_columns]) for frame in frames]
            if list(frames[0].columns) != list(frames[1].columns):
                differences[name] = f"columns {list(frames[0].columns)} vs {list(frames[1].columns)}"
                continue
            if len(frames[0]) != len(frames[1]):
                differences[name] = f"{len(frames[0])} rows vs {len(frames[1])}"
                continue
            floats = [c for c in frames[0].columns if pd.api.types.is_float_dtype(frames[0][c])
                      or pd.api.types.is_float_dtype(frames[1][c])]
            sorted_frames = []
            for frame in frames:
                key = frame.copy()
                for column in floats:
                    key[column] = pd.to_numeric(key[column]).round(6)
                key = key.astype(str)
                order = key.sort_values(list(key.columns)).index
                sorted_frames.append(frame.loc[order].reset_index(drop=True))
            left, right = sorted_frames
            for column in left.columns:
                if column in floats:
                    a = pd.to_numeric(left[column]).to_numpy(dtype=float)
                    b = pd.to_numeric(right[column]).to_numpy(dtype=float)
                    same = np.isclose(a, b, rtol=tolerance, atol=tolerance, equal_nan=True)
                else:
                    same = (left[column].astype(str) == right[column].astype(str)).to_numpy()
                if not same.all():
                    row = int(np.argmin(same))
                    differences[name] = (f"{int((~same).sum())} values of {column} differ, e.g. "
                                         f"{left[column].iloc[row]!r} vs {right[column].iloc[row]!r}")
                    break
        return differences
    finally:
        connection.close()
