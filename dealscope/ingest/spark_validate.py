"""The loader's validation on Spark: the same checks (validate.py rendered in Spark SQL) over the
input files read by Spark, giving the same loaded rows, rejected rows, reasons and details as the
DuckDB loader (contract sections 1-2).

Each input file is read by Spark with every field as text: a CSV with Spark's parser (multi-line,
quote and escape '"'), its records numbered in file order and their field counts taken from the
record text, so malformed records are found as the DuckDB reader finds them; a Parquet file with
its stored row order. The landing view then has the DuckDB landing table's shape (``_row_number``,
the file's columns, ``_field_count``, ``_extra_fields``) and the three passes of validate.py run on
it as temporary views of one session. Tables are validated in the order of TABLES, so references
see the loaded and rejected rows of the tables they name.

Needs the optional extra ``spark`` (PySpark; Java 17). Mapped exports (dealscope.mapping) are not
read here: they are shaped by the DuckDB loader.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from . import reader
from .dialect import DUCKDB, SPARK
from .errors import InputFileError
from .event_types import read_event_type_map
from .loader import (
    REJECTED_ROWS,
    LoadCountMismatch,
    LoadCounts,
    _check_dependencies,
    _mapped_tables,
    _record_counts,
    _source_files,
    _utc,
    open_source,
    clean_rows_sql,
    clear_replaced_state,
    prepare_warehouse,
    typed_columns,
)
from .sql import literal
from .spec import SPECS, TABLES, TableSpec
from .validate import KEYED, RESULT, TYPED, keyed_sql, result_sql, typed_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

REJECTED_COLUMNS = ("source", "source_file", "row_number", "record", "reason", "detail", "loaded_at")
# Spark reads a field the CSV leaves empty (unquoted) as NULL, whatever its null marker: the landing
# view writes it back as '' for every field the record has, as DuckDB's reader keeps it.
_CSV_OPTIONS = {
    "header": "false", "multiLine": "true", "quote": '"', "escape": '"', "mode": "PERMISSIVE",
    "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false", "emptyValue": "",
    "encoding": "UTF-8", "columnNameOfCorruptRecord": "_record_text",
}
# A quoted field of a CSV record ('"' doubled inside): removed before delimiters are counted.
_QUOTED_FIELD = r'"(?:[^"]|"")*"'


@dataclass
class SparkLoad:
    """What the validation of one input table on Spark gave (DataFrames checkpointed in the session).

    ``tables``: raw.<table> (and raw.deals_history for a versioned table) with the raw table's
    columns; ``rejected``: the rejected_rows of this source; ``counts`` as in raw.load_summary.
    """

    counts: LoadCounts
    tables: dict[str, DataFrame] = field(default_factory=dict)
    rejected: DataFrame | None = None
    landing: DataFrame | None = None


def _view(name: str) -> str:
    """The session's temporary view standing for a warehouse table "schema.table"."""
    schema, table = name.split(".", 1)
    return SPARK.relation(schema, table)


def _register(frame: DataFrame, name: str) -> DataFrame:
    """Materialise ``frame`` in the session and name it: views of later tables never re-read files."""
    frame = frame.localCheckpoint()
    frame.createOrReplaceTempView(name.strip("`"))
    return frame


def _spark_csv_landing(
    spark: SparkSession, source: reader.SourceFile, header: reader.Header
) -> DataFrame:
    from pyspark.sql.types import StringType, StructField, StructType

    n = len(header.columns)
    width = reader.extra_field_margin(n)
    delimiter = header.delimiter or ","
    schema = StructType(
        [StructField(f"c{i}", StringType()) for i in range(n)] + [StructField("_record_text", StringType())]
    )
    read = (
        spark.read.options(**_CSV_OPTIONS).option("sep", delimiter).schema(schema).csv(str(source.path))
        .selectExpr("*", "monotonically_increasing_id() AS _read_order")
    )
    _register(read, "_ingest_read")
    split = SPARK.literal("\\Q" + delimiter + "\\E")
    counted = (
        f"size(split(regexp_replace(_record_text, {SPARK.literal(_QUOTED_FIELD)}, ''), {split}, -1))"
    )
    wide_schema = SPARK.literal(", ".join(f"c{i} STRING" for i in range(width)))
    options = (
        f"map('sep', {SPARK.literal(delimiter)}, 'quote', '\"', 'escape', '\"', 'emptyValue', '', "
        "'ignoreLeadingWhiteSpace', 'false', 'ignoreTrailingWhiteSpace', 'false')"
    )
    fields = ", ".join(
        f"CASE WHEN {i} < _field_count THEN coalesce(c{i}, '') END AS {SPARK.ident(name)}"
        for i, name in enumerate(header.columns)
    )
    extras = ", ".join(
        f"CASE WHEN {i} < _field_count THEN coalesce(_wide.c{i}, '') END" for i in range(n, width)
    )
    blank = "(_field_count = 1 AND btrim(coalesce(c0, ''), ' ' || chr(9) || chr(13)) = '')"
    # Records keep file order (a multi-line CSV is read as one partition); a blank line is no record,
    # and the first record that is not blank is the header line (reader.read_csv_header).
    return spark.sql(
        f"""
        WITH counted AS (
            SELECT *, CASE WHEN _record_text IS NULL THEN {n} ELSE least({counted}, {width}) END AS _field_count
            FROM _ingest_read
        ), numbered AS (
            SELECT *, CAST(row_number() OVER (ORDER BY _read_order) AS BIGINT) - 1 AS _row_number
            FROM counted WHERE NOT {blank}
        ), records AS (
            SELECT *, CASE WHEN _field_count > {n} THEN from_csv(_record_text, {wide_schema}, {options}) END AS _wide
            FROM numbered WHERE _row_number >= 1
        )
        SELECT _row_number, {fields}, CAST(_field_count AS INTEGER) AS _field_count,
               CASE WHEN _field_count > {n} THEN filter(array({extras}), x -> x IS NOT NULL)
                    ELSE CAST(array() AS ARRAY<STRING>) END AS _extra_fields
        FROM records
        """
    )


def _read_parquet(spark: SparkSession, source: reader.SourceFile) -> DataFrame:
    try:
        return spark.read.parquet(str(source.path))
    except Exception as error:  # Spark raises its own analysis errors for unreadable files
        raise InputFileError(source.name, f"is not a readable Parquet file ({str(error).splitlines()[0]})") from None


def _spark_parquet_landing(spark: SparkSession, source: reader.SourceFile, header: reader.Header) -> DataFrame:
    read = _read_parquet(spark, source)
    selected = [
        f"CAST({SPARK.ident(written)} AS STRING) AS {SPARK.ident(name)}"
        for written, name in zip(header.written, header.columns)
    ]
    return read.selectExpr(
        "CAST(_metadata.row_index + 1 AS BIGINT) AS _row_number", *selected,
        f"CAST({len(header.columns)} AS INTEGER) AS _field_count", "CAST(array() AS ARRAY<STRING>) AS _extra_fields",
    ).orderBy("_row_number")


def _empty_landing(spark: SparkSession, spec: TableSpec) -> DataFrame:
    columns = ", ".join(f"CAST(NULL AS STRING) AS {SPARK.ident(c.name)}" for c in spec.columns)
    return spark.sql(
        f"SELECT CAST(NULL AS BIGINT) AS _row_number, {columns}, CAST(NULL AS INTEGER) AS _field_count, "
        "CAST(NULL AS ARRAY<STRING>) AS _extra_fields LIMIT 0"
    )


def _parquet_header(spark: SparkSession):
    def read_header(source: reader.SourceFile, contract_columns: set[str]) -> reader.Header:
        return reader.parquet_header_from_names(source, _read_parquet(spark, source).columns, contract_columns)

    return read_header


class SparkValidation:
    """Validates the input tables of one export on a Spark session, in the order of TABLES."""

    def __init__(self, spark: SparkSession, event_type_labels: list[tuple[str, str]], loaded_at: datetime) -> None:
        """``event_type_labels``: (label, event_type) pairs, as event_types.read_event_type_map gives."""
        self.spark = spark
        self.loaded_at = loaded_at
        self.source_files: dict[str, str] = {}
        self.rejected: list[DataFrame] = []
        self.results: dict[str, SparkLoad] = {}
        # Tables validated elsewhere (an earlier step of the run) that references may name.
        self.known_tables: set[str] = set()
        self.mapped_tables: frozenset[str] = frozenset()
        frame = spark.createDataFrame(event_type_labels, "label STRING, event_type STRING")
        _register(frame, _view("raw.event_type_labels"))
        self._publish_rejected()

    @classmethod
    def from_event_type_map(cls, spark: SparkSession, path: Path, loaded_at: datetime) -> SparkValidation:
        return cls(spark, read_event_type_map(Path(path))[1], loaded_at)

    def use_loaded_table(self, table: str, source_file: str | None, loaded: DataFrame, landing: DataFrame,
                         rejected: DataFrame) -> None:
        """Make a table validated earlier known to references: its loaded rows, its landing rows
        (``_row_number`` and the referenced columns) and its rejected rows."""
        _register(loaded, _view(f"raw.{table}"))
        _register(landing, _view(f"raw.landing_{table}"))
        self._add_rejected(table, source_file, rejected)
        self.known_tables.add(table)

    def _add_rejected(self, table: str, source_file: str | None, rejected: DataFrame) -> None:
        """A validated table's rejected rows join main.rejected_rows; its file is known to references."""
        self.rejected.append(rejected)
        self._publish_rejected()
        if source_file is not None:
            self.source_files[table] = source_file

    def _publish_rejected(self) -> None:
        columns = "source STRING, source_file STRING, row_number BIGINT, record STRING, reason STRING, " \
                  "detail STRING, loaded_at TIMESTAMP"
        frame = self.spark.createDataFrame([], columns)
        for part in self.rejected:
            frame = frame.unionByName(part)
        _register(frame, _view("main.rejected_rows"))

    def load(self, table: str, data_dir: Path) -> SparkLoad:
        """Validate data_dir/<table>.csv|.parquet; its loaded rows become views raw__<table> for the
        tables validated after it."""
        spec = SPECS[table]
        available = set(self.results) | self.known_tables
        missing = [r.target for r in spec.references if r.target not in available]
        if missing:
            raise RuntimeError(f"cannot validate {table} before {', '.join(sorted(set(missing)))}: follow TABLES")
        spark = self.spark
        source, header = open_source(spec, Path(data_dir), _parquet_header(spark))
        source_file = source.name if source else None
        if source is None or header is None:
            landing = _empty_landing(spark, spec)
            present, field_count = {c.name for c in spec.columns}, len(spec.columns)
        else:
            if source.format == "csv":
                reader.check_utf8(source)
                landing = _spark_csv_landing(spark, source, header)
            else:
                landing = _spark_parquet_landing(spark, source, header)
            present, field_count = set(header.columns), len(header.columns)
        landing_view = _view(f"raw.landing_{table}")
        landing = _register(landing, landing_view)
        spark.sql(typed_sql(spec, landing_view, present, field_count, dialect=SPARK))
        _register(spark.table(TYPED), TYPED)
        spark.sql(keyed_sql(spec, dialect=SPARK))
        _register(spark.table(KEYED), KEYED)
        spark.sql(result_sql(spec, dict(self.source_files), self.mapped_tables, dialect=SPARK))
        _register(spark.table(RESULT), RESULT)

        tables = {name: _register(spark.sql(query), _view(f"raw.{name}"))
                  for name, query in clean_rows_sql(spec, source_file, SPARK).items()}
        record = reader.record_json(header, "_l", SPARK) if header is not None else "CAST(NULL AS STRING)"
        loaded_at = SPARK.literal(self.loaded_at.isoformat())
        file_name = SPARK.literal(source_file) if source_file else "NULL"
        rejected = spark.sql(
            f"""SELECT {SPARK.literal(table)} AS source, CAST({file_name} AS STRING) AS source_file,
                       _r._row_number AS row_number, {record} AS record, _r._reason AS reason,
                       _r._detail AS detail, CAST({loaded_at} AS TIMESTAMP) AS loaded_at
                FROM {RESULT} AS _r JOIN {landing_view} AS _l USING (_row_number)
                WHERE _r._role = 'rejected' ORDER BY _r._row_number"""
        )
        rejected = rejected.localCheckpoint()
        rows_read = landing.count()
        rows_loaded = sum(frame.count() for frame in tables.values())
        rows_rejected = rejected.count()
        counts = LoadCounts(table, source_file, source_file is not None, rows_read, rows_loaded, rows_rejected)
        if rows_read != rows_loaded + rows_rejected:
            raise LoadCountMismatch(
                f"{source_file or table}: read {rows_read} rows but loaded {rows_loaded} and rejected {rows_rejected}"
            )
        self._add_rejected(table, source_file, rejected)
        result = SparkLoad(counts, tables, rejected, landing)
        self.results[table] = result
        return result

    def load_all(self, data_dir: Path) -> dict[str, SparkLoad]:
        for table in TABLES:
            self.load(table, data_dir)
        return self.results

    def rejected_rows(self) -> DataFrame:
        return self.spark.table(_view("main.rejected_rows").strip("`"))


def _export_for_spark(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> None:
    con.execute(f"COPY ({select}) TO {literal(str(path))} (FORMAT parquet)")


def load_table_on_spark(
    con: duckdb.DuckDBPyConnection, spark: SparkSession, table: str, data_dir: Path, loaded_at: datetime,
    staging: Path,
) -> LoadCounts:
    """load_table with the validation on Spark: the file is read and validated by Spark, which
    writes the loaded rows, the landing rows and the rejected rows as Parquet under ``staging``;
    they then replace raw.<table> (and its history), raw.landing_<table>, this source's
    main.rejected_rows and raw.load_summary in the DuckDB build file in one transaction, with the
    same count check as the DuckDB loader.

    The tables it references (loaded earlier in the run) are read from the build file.
    """
    spec = SPECS[table]
    loaded_at = _utc(loaded_at)
    prepare_warehouse(con)
    _check_dependencies(con, spec)
    folder = staging / table
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    # Only a table with an event-type column needs the map (and only it waits for it to be loaded).
    labels = con.execute(
        f"SELECT label, event_type FROM {DUCKDB.relation('raw', 'event_type_labels')}"
    ).fetchall() if any(c.kind == "event_type" for c in spec.columns) else []
    validation = SparkValidation(spark, labels, loaded_at)
    mapped = _mapped_tables(con)
    validation.mapped_tables = mapped
    source_files = _source_files(con)
    for target in sorted({r.target for r in spec.references}):
        columns = sorted({r.target_column for r in spec.references if r.target == target}
                         | {r.must_match[1] for r in spec.references if r.target == target and r.must_match})
        listed = ", ".join(DUCKDB.ident(c) for c in columns)
        landing_columns = ["_row_number", *columns] + (["_source_row", "_source_file"] if target in mapped else [])
        parts = {
            "loaded": f"SELECT {listed} FROM {DUCKDB.relation('raw', target)}",
            "landing": f"SELECT {', '.join(DUCKDB.ident(c) for c in landing_columns)} "
                       f"FROM {DUCKDB.relation('raw', 'landing_' + target)}",
            "rejected": f"SELECT * EXCLUDE (loaded_at), CAST(loaded_at AS TIMESTAMPTZ) AS loaded_at "
                        f"FROM {REJECTED_ROWS} WHERE source = {literal(target)}",
        }
        frames = {}
        for part, select in parts.items():
            path = folder / f"in_{target}_{part}.parquet"
            _export_for_spark(con, select, path)
            frames[part] = spark.read.parquet(str(path))
        validation.use_loaded_table(target, source_files.get(target), frames["loaded"], frames["landing"],
                                    frames["rejected"].select(*REJECTED_COLUMNS))
    load = validation.load(table, data_dir)

    # Instants as UTC microseconds, which DuckDB reads as TIMESTAMPTZ.
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    outputs = dict(load.tables)
    outputs["landing"] = load.landing
    outputs["rejected"] = load.rejected.drop("loaded_at")
    for name, frame in outputs.items():
        frame.coalesce(1).write.mode("overwrite").parquet(str(folder / f"out_{name}"))

    def written(name: str) -> str:
        return f"read_parquet({literal(str(folder / f'out_{name}' / '*.parquet'))})"

    landing = DUCKDB.relation("raw", f"landing_{table}")
    con.execute("BEGIN TRANSACTION")
    try:
        clear_replaced_state(con, spec)
        typed = typed_columns(spec, typed_by_spark=True)
        for name in load.tables:
            con.execute(
                f"CREATE OR REPLACE TABLE {DUCKDB.relation('raw', name)} AS SELECT {', '.join(typed)}, "
                f"_row_number, CAST(_source_file AS VARCHAR) AS _source_file FROM {written(name)} ORDER BY _row_number"
            )
        con.execute(f"CREATE OR REPLACE TABLE {landing} AS SELECT * FROM {written('landing')} ORDER BY _row_number")
        con.execute(f"DELETE FROM {REJECTED_ROWS} WHERE source = ?", [table])
        con.execute(
            f"INSERT INTO {REJECTED_ROWS} SELECT source, source_file, row_number, record, reason, detail, ? "
            f"FROM {written('rejected')} ORDER BY row_number",
            [loaded_at],
        )
        counts = _record_counts(con, spec, load.counts.source_file, landing, loaded_at)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
