"""Load one input table: land it as text, validate it set-based, write clean rows and rejects.

Order of work for a table (see validate.py for the checks):
file checks (no write) -> one transaction: landing table, typed/keyed/result passes,
raw.<table> (+ raw.deals_history), main.rejected_rows for this source, raw.load_summary,
and the count check rows_read == rows_loaded + rows_rejected. Any failure rolls it all back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from dealscope.stage_pause import pause_point
from dealscope.warehouse import table_exists

from . import reader
from .dialect import DUCKDB, DuckDBDialect
from .errors import InputFileError
from .spec import SPECS, TableSpec
from .sql import ident
from .validate import KEYED, RESULT, TYPED, keyed_sql, raw_name, result_sql, typed_sql

if TYPE_CHECKING:
    from dealscope.mapping import Mapping

REJECTED_ROWS = "main.rejected_rows"
LOAD_SUMMARY = "raw.load_summary"


@dataclass(frozen=True)
class LoadCounts:
    source: str
    source_file: str | None
    file_present: bool
    rows_read: int
    rows_loaded: int
    rows_rejected: int


class LoadCountMismatch(RuntimeError):
    """Rows read differ from rows loaded + rejected: a loader bug, never a data problem."""


def prepare_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema raw, main.rejected_rows and raw.load_summary if absent."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {REJECTED_ROWS} (
            source VARCHAR NOT NULL, source_file VARCHAR, row_number BIGINT NOT NULL, record VARCHAR,
            reason VARCHAR NOT NULL, detail VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LOAD_SUMMARY} (
            source VARCHAR NOT NULL, source_file VARCHAR, file_present BOOLEAN NOT NULL,
            rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
            loaded_at TIMESTAMPTZ NOT NULL)"""
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _check_dependencies(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    needed = [("raw", r.target) for r in spec.references] + [("raw", f"landing_{r.target}") for r in spec.references]
    if any(c.kind == "event_type" for c in spec.columns):
        needed.append(("raw", "event_type_labels"))
    missing = [f"{s}.{t}" for s, t in needed if not table_exists(con, s, t)]
    if missing:
        raise RuntimeError(
            f"cannot load {spec.name} before {', '.join(sorted(set(missing)))}: load in the order of TABLES "
            "and call load_event_types first"
        )


def _source_files(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute(f"SELECT source, source_file FROM {LOAD_SUMMARY} WHERE source_file IS NOT NULL").fetchall())


def _mapped_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Tables whose landing came through a mapping (it carries the source's record numbers)."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'raw' "
        "AND table_name LIKE 'landing_%' AND column_name = '_source_row'"
    ).fetchall()
    return frozenset(name.removeprefix("landing_") for (name,) in rows)


def typed_columns(spec: TableSpec, dialect: DuckDBDialect = DUCKDB, *, typed_by_spark: bool = False) -> list[str]:
    """SELECT items of a raw table's contract columns, in order, cast to their output types (an event
    type column followed by its `event_label`): from the validation's typed table, whose defaults are
    filled here and whose label is the column's text, or from rows Spark typed (`typed_by_spark`),
    which carry both already."""
    ident = dialect.ident
    columns = []
    for column in spec.columns:
        value = ident(column.name)
        if column.default_sql is not None and not typed_by_spark:
            value = f"coalesce({value}, {column.default_sql})"
        columns.append(f"CAST({value} AS {dialect.sql_type(column.output_type)}) AS {ident(column.name)}")
        if column.kind == "event_type":
            columns.append("event_label" if typed_by_spark else f"{raw_name(column.name, dialect)} AS event_label")
    return columns


def typed_output(spec: TableSpec, source_file: str | None, dialect: DuckDBDialect = DUCKDB) -> str:
    """SELECT list of a raw table: typed contract columns with defaults, then _row_number, _source_file."""
    source = dialect.literal(source_file) if source_file else "NULL"
    return ", ".join([*typed_columns(spec, dialect), "_row_number",
                      f"CAST({source} AS {dialect.sql_type('VARCHAR')}) AS _source_file"])


def clean_rows_sql(spec: TableSpec, source_file: str | None, dialect: DuckDBDialect = DUCKDB) -> dict[str, str]:
    """raw table name -> the query of its loaded rows: the table itself (role 'current') and, for a
    versioned table, `<table>_history` (its earlier versions), in record order. Both engines run these."""
    select = typed_output(spec, source_file, dialect)
    roles = {spec.name: "current"}
    if spec.version_column is not None:
        roles[f"{spec.name}_history"] = "history"
    return {table: f"""SELECT {select} FROM {TYPED} JOIN {RESULT} USING (_row_number)
                WHERE {RESULT}._role = {dialect.literal(role)} ORDER BY _row_number"""
            for table, role in roles.items()}


def _write_clean(con: duckdb.DuckDBPyConnection, spec: TableSpec, source_file: str | None) -> None:
    for table, query in clean_rows_sql(spec, source_file).items():
        con.execute(f"CREATE OR REPLACE TABLE raw.{ident(table)} AS {query}")


def _write_rejects(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, header: reader.Header | None, source_file: str | None,
    landing: str, loaded_at: datetime, mapped: bool = False,
) -> None:
    con.execute(f"DELETE FROM {REJECTED_ROWS} WHERE source = ?", [spec.name])
    if mapped:
        # A mapped table's rejects name the source file and its record, as read (dealscope.mapping).
        con.execute(
            f"""INSERT INTO {REJECTED_ROWS}
                SELECT ?, _l._source_file, _l._source_row, _l._record, _r._reason, _r._detail, ?
                FROM {RESULT} AS _r JOIN {landing} AS _l USING (_row_number)
                WHERE _r._role = 'rejected' ORDER BY _r._row_number""",
            [spec.name, loaded_at],
        )
        return
    if header is None:
        return
    con.execute(
        f"""INSERT INTO {REJECTED_ROWS}
            SELECT ?, ?, _r._row_number, {reader.record_json(header, "_l")}, _r._reason, _r._detail, ?
            FROM {RESULT} AS _r JOIN {landing} AS _l USING (_row_number)
            WHERE _r._role = 'rejected' ORDER BY _r._row_number""",
        [spec.name, source_file, loaded_at],
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def _record_counts(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, source_file: str | None, landing: str, loaded_at: datetime
) -> LoadCounts:
    """Count what was actually written, check the balance, and record it in raw.load_summary."""
    rows_read = _count(con, f"SELECT count(*) FROM {landing}")
    rows_loaded = _count(con, f"SELECT count(*) FROM raw.{ident(spec.name)}")
    if spec.version_column is not None:
        rows_loaded += _count(con, f"SELECT count(*) FROM raw.{ident(spec.name + '_history')}")
    rows_rejected = _count(con, f"SELECT count(*) FROM {REJECTED_ROWS} WHERE source = ?", [spec.name])
    counts = LoadCounts(spec.name, source_file, source_file is not None, rows_read, rows_loaded, rows_rejected)
    if rows_read != rows_loaded + rows_rejected:
        raise LoadCountMismatch(
            f"{source_file or spec.name}: read {rows_read} rows but loaded {rows_loaded} and rejected {rows_rejected}"
        )
    con.execute(f"DELETE FROM {LOAD_SUMMARY} WHERE source = ?", [spec.name])
    con.execute(
        f"INSERT INTO {LOAD_SUMMARY} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [spec.name, source_file, counts.file_present, rows_read, rows_loaded, rows_rejected, loaded_at],
    )
    return counts


def open_source(
    spec: TableSpec, data_dir: Path, parquet_header: Callable[[reader.SourceFile, set[str]], reader.Header]
) -> tuple[reader.SourceFile | None, reader.Header | None]:
    """Find and check the file and its header; raises InputFileError before anything is written.

    ``parquet_header`` reads a Parquet file's columns with the engine that will read the file.
    """
    source = reader.find_source_file(Path(data_dir), spec.name, spec.required_file)
    if source is None:
        return None, None
    reader.check_readable(source)
    contract_columns = {c.name for c in spec.columns}
    if source.format == "csv":
        header = reader.read_csv_header(source, contract_columns)
    else:
        header = parquet_header(source, contract_columns)
    missing = [c.name for c in spec.columns if c.needed_in_file and c.name not in header.columns]
    if missing:
        found = ", ".join(header.written) or "none"
        raise InputFileError(
            source.name,
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (found: {found})",
        )
    return source, header


def clear_replaced_state(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """What a reload of `spec`'s table makes stale, inside the load's transaction: the build file
    outlives a run, so last run's candidate events must not outlive a change of source."""
    if spec.name == "negotiation_events":
        from dealscope.onboarding.event_rules import clear_candidate_events

        clear_candidate_events(con)


def load_table(
    con: duckdb.DuckDBPyConnection, table: str, data_dir: Path, loaded_at: datetime, mapping: Mapping | None = None
) -> LoadCounts:
    """Load data_dir/<table>.csv|.parquet into raw.<table>; reject bad rows into main.rejected_rows.

    With a ``mapping`` that names the table, its source export(s) are mapped into the contract's
    landing shape first (dealscope.mapping); the validation is the same.
    """
    if table not in SPECS:
        raise ValueError(f"unknown input table {table!r}; expected one of {', '.join(SPECS)}")
    spec = SPECS[table]
    loaded_at = _utc(loaded_at)
    prepare_warehouse(con)
    _check_dependencies(con, spec)
    plan = None
    if mapping is not None and table in mapping.tables:
        from dealscope.mapping import engine

        plan = engine.open_table(con, mapping, table, Path(data_dir))
        source, header = None, None
        source_file: str | None = plan.source_label
    else:
        source, header = open_source(
            spec, data_dir, lambda found, columns: reader.read_parquet_header(con, found, columns)
        )
        source_file = source.name if source else None
    landing = f"raw.{ident('landing_' + spec.name)}"

    con.execute("BEGIN TRANSACTION")
    try:
        clear_replaced_state(con, spec)
        if plan is not None:
            present = engine.land_table(con, plan, spec, landing)
            field_count = len(spec.columns)
        elif source is None or header is None:
            reader.land_empty(con, tuple(c.name for c in spec.columns), landing)
            present = {c.name for c in spec.columns}
            field_count = len(spec.columns)
        else:
            if source.format == "csv":
                reader.land_csv(con, source, header, landing)
            else:
                reader.land_parquet(con, source, header, landing)
            present = set(header.columns)
            field_count = len(header.columns)
        con.execute(typed_sql(spec, landing, present, field_count, mapped=plan is not None))
        con.execute(keyed_sql(spec))
        targets = _source_files(con)
        con.execute(result_sql(spec, targets, _mapped_tables(con)))
        _write_clean(con, spec, source_file)
        pause_point("loading")
        _write_rejects(con, spec, header, source_file, landing, loaded_at, mapped=plan is not None)
        counts = _record_counts(con, spec, source_file, landing, loaded_at)
        for temp in (RESULT, KEYED, TYPED):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
