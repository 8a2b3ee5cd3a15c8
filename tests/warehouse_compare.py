"""Compare two DuckDB warehouse files table by table, bit for bit: the reproducibility check."""

from __future__ import annotations

from pathlib import Path

import duckdb


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


def compared_table_count(path: Path) -> int:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return connection.execute(
            "select count(*) from information_schema.tables where table_catalog = current_database()"
        ).fetchone()[0]
    finally:
        connection.close()
