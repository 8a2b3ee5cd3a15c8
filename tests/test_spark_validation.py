"""The loader's validation on Spark gives what the DuckDB loader gives, on the same files.

Two exports, each loaded by the DuckDB loader into a real DuckDB file and validated on one local
Spark session (dealscope.ingest.spark_validate): a hand-made export with a row for every check the
TableSpecs declare (malformed records, missing values, bad dates, numbers and booleans, values out
of range, unknown event types, the row rules, duplicate and versioned keys, unknown and rejected
references, CSV and Parquet, comma, semicolon and CRLF files), and a generated sample with messy
rows. rejected_rows (record, reason and detail included), the loaded raw tables and the counts must
be identical. Needs the optional extra `spark` and Java 17; skipped, saying which is missing, without.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from dealscope.ingest import TABLES, load_event_types, load_table, prepare_warehouse
from dealscope.ingest.spec import SPECS
from dealscope.settings import DEFAULT_EVENT_TYPES
from test_spark_engine import missing_spark_requirement

pytestmark = pytest.mark.skipif(missing_spark_requirement() is not None, reason=str(missing_spark_requirement()))

LOADED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

ACCOUNTS = [
    ["account_id", "account_name", "segment", "industry", "region", "employee_count", "created_at"],
    ["A1", "One", "enterprise", "retail", "eu", "10", "2020-01-01"],
    ["A2", "Two, \"quoted\"\nover two lines", "SMB ", "", "", "", "2020-01-01T10:00:00Z"],
    ["A3", "", "smb", "", "", "", "2020-01-01"],
    ["A4", "Four", "Huge", "", "", "", "2020-01-01"],
    ["A5", "Five", "smb", "", "", "1,000", "2020-01-01"],
    ["A6", "Six", "smb", "", "", "", "2020-02-30"],
    ["A1", "One again", "smb", "", "", "", "2020-01-01"],
    ["A7", "Seven", "smb", "", "", "-3", "2020-01-01"],
    ["A8", "Eight", "mid_market", "", "", "12.0", "2021-06-30 08:00"],
    ["A9", "Nine"],
    ["A10", "Ten", "smb", "", "", "1", "2020-01-01", "extra", ""],
    [" A11\t", "Eleven", " Mid_Market", "", "", "9999999999999999999", "2020-01-01"],
    ["A12", "Twelve", "smb", "", "", "1e400", "2020-01-01"],
    ["A13", "x" * 120, "smb", "", "", "", "01/02/2020"],
    ["A14", "Fourteen", "smb", "", "", "1e3", "2020-01-01"],
]
STRATEGY_PLAN = [
    ["effective_from", "dimension", "value", "stance", "weight"],
    ["2020-01-01", "segment", "SMB", "target", "2"],
    ["2020-01-01", "Segment", "smb", "avoid", "1"],
    ["2020-01-01", "region", "eu", "avoid", "0"],
    ["2020-01-01", "region", "us", "avoid", "abc"],
    ["2020-01-01", "color", "red", "avoid", ""],
    ["2021-01-01", "region", "apac", "target", ""],
]
DEAL_COLUMNS = ["deal_id", "account_id", "deal_type", "product_line", "created_at", "closed_at", "stage",
                "list_amount", "final_amount", "gross_margin_pct", "competitor", "loss_reason",
                "flagged_strategic", "owner", "updated_at"]


def deal(deal_id: str, account_id: str = "A1", **values: str) -> list[str]:
    row = dict(deal_type="renewal", product_line="core", created_at="2021-03-01", closed_at="2021-04-01",
               stage="won", list_amount="100", final_amount="90", gross_margin_pct="0.4", competitor="",
               loss_reason="", flagged_strategic="", owner="kim", updated_at="")
    row.update(values)
    return [deal_id, account_id] + [row[c] for c in DEAL_COLUMNS[2:]]


DEALS = [
    DEAL_COLUMNS,
    deal("D1", list_amount=" 1.5e3 ", flagged_strategic="Yes"),
    deal("D2", "A2", stage="lost", final_amount="", loss_reason="price", gross_margin_pct="-1"),
    deal("D3", "A404"),
    deal("D4", "A3"),
    deal("D5", closed_at=""),
    deal("D6", stage="open", final_amount=""),
    deal("D7", closed_at="2021-02-01"),
    deal("D8", final_amount=""),
    deal("D9", loss_reason="budget"),
    deal("D10", final_amount="$100", gross_margin_pct="1.5"),
    deal("D11", flagged_strategic="maybe"),
    deal("D12", updated_at="2021-01-01T00:00:00Z", final_amount="10"),
    deal("D12", updated_at="2021-02-01 10:00+02:00", final_amount="12"),
    deal("D12", updated_at="2021-01-15", final_amount="11"),
    deal("D13", updated_at="2021-01-01"),
    deal("D13", updated_at=""),
    deal("D14", updated_at="2021-01-01T10:00"),
    deal("D14", updated_at="2021-01-01 10:00:00"),
    deal("D15", "A1", updated_at="2021-01-01"),
    deal("D15", "A404", updated_at="2021-02-01"),
    deal("D16", updated_at="yesterday"),
    deal("D17", gross_margin_pct="1.0001"),
    deal("D18", list_amount="NaN"),
    deal("D19", list_amount="inf", created_at="2021-03-01\t"),
    deal("D20", updated_at="2021-02-01 10:00:00.123456+0530", gross_margin_pct="1"),
    deal("D21", "A2", updated_at="2021-02-01T10:00z", stage="Open", closed_at="", final_amount=""),
    deal("D22", deal_type="upsell"),
]
EVENTS = [
    ["event_id", "account_id", "deal_id", "occurred_at", "event_type", "severity", "notes"],
    ["E1", "A1", "D1", "2021-03-05", "joint_planning", "", ""],
    ["E2", "A1", "D1", "2021-03-05", "party", "", ""],
    ["E3", "A1", "D404", "2021-03-05", "joint_planning", "", ""],
    ["E4", "A1", "D2", "2021-03-05", "joint_planning", "", ""],
    ["E5", "A1", "D3", "2021-03-05", "joint_planning", "", ""],
    ["E6", "A1", "", "2021-03-05", "joint_planning", "4", ""],
    ["E7", "A1", "", "2021-03-05", "  Second Source ", "2.0", "a note; with, punctuation"],
    ["E1", "A1", "", "2021-03-05", "joint_planning", "", ""],
    ["E9", "A404", "", "2021-03-05", "joint_planning", "", ""],
    ["E10", "A2", "D21", "2021-13-05", "joint_planning", "", ""],
]
REVENUE = [
    ("A1", "2021-04-01", "10", "-2"),
    ("A1", "2021-04-15", "10", "1"),
    ("A1", "2021-04-01", "11", "1"),
    ("A404", "2021-05-01", "10", "1"),
    ("A2", "2021-05-01", "-1", "1"),
    ("A2", "2021-06-01", "5", None),
    ("A8", "2021-06-01", "5.5", "0"),
]

# Every reason family the hand-made export must produce (so agreement is not agreement on nothing).
EXPECTED_REASONS = {
    "malformed_row", "missing_required:account_name", "bad_value:segment", "bad_number:employee_count",
    "bad_date:created_at", "duplicate_id", "bad_value:employee_count", "bad_value:weight", "bad_number:weight",
    "bad_value:dimension", "unknown_account", "missing_required:closed_at", "bad_value:closed_at",
    "closed_before_created", "missing_required:final_amount", "bad_value:loss_reason", "bad_number:final_amount",
    "bad_boolean:flagged_strategic", "unknown_deal", "bad_date:updated_at", "bad_value:gross_margin_pct",
    "bad_number:list_amount", "bad_value:deal_type", "unknown_event_type", "deal_account_mismatch",
    "bad_value:severity", "bad_date:occurred_at", "bad_value:month", "bad_value:revenue",
    "missing_required:gross_margin",
}


def _csv(rows: list[list[str]], delimiter: str = ",", line_end: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return buffer.getvalue()


def write_messy_export(folder: Path) -> Path:
    folder.mkdir(parents=True)
    text = _csv(ACCOUNTS)
    # A whitespace-only line is no record; an empty line at the end neither.
    lines = text.split("\n")
    lines.insert(5, "   ")
    (folder / "accounts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "strategy_plan.csv").write_text(_csv(STRATEGY_PLAN, delimiter=";"), encoding="utf-8")
    # Whitespace-only lines before the header line are skipped too.
    (folder / "deals.csv").write_text(" \t\n\n" + _csv(DEALS), encoding="utf-8")
    (folder / "negotiation_events.csv").write_text(_csv(EVENTS, line_end="\r\n"), encoding="utf-8")
    con = duckdb.connect()
    values = ", ".join("(" + ", ".join("NULL" if v is None else f"'{v}'" for v in row) + ")" for row in REVENUE)
    con.execute(f"COPY (SELECT * FROM (VALUES {values}) AS t(account_id, month, revenue, gross_margin)) "
                f"TO '{folder / 'account_revenue.parquet'}' (FORMAT parquet)")
    con.close()
    return folder


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("dealscope-validation-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _timestamp_columns(spec_name: str) -> set[str]:
    spec = SPECS[spec_name.removesuffix("_history")]
    return {c.name for c in spec.columns if c.kind == "timestamp"}


def duckdb_results(data_dir: Path, warehouse: Path):
    con = duckdb.connect(str(warehouse))
    try:
        prepare_warehouse(con)
        load_event_types(con, DEFAULT_EVENT_TYPES)
        for table in TABLES:
            load_table(con, table, data_dir, LOADED_AT)
        rejected = con.execute("SELECT source, source_file, row_number, record, reason, detail FROM main.rejected_rows "
                               "ORDER BY source, row_number").fetchall()
        summary = con.execute("SELECT source, source_file, file_present, rows_read, rows_loaded, rows_rejected "
                              "FROM raw.load_summary ORDER BY source").fetchall()
        tables = {}
        for table in [*TABLES, "deals_history"]:
            columns = [r[0] for r in con.execute(f"DESCRIBE raw.{table}").fetchall()]
            select = ", ".join(f"epoch_us({c})" if c in _timestamp_columns(table) else c for c in columns)
            tables[table] = (columns, con.execute(f"SELECT {select} FROM raw.{table} ORDER BY _row_number").fetchall())
    finally:
        con.close()
    return rejected, summary, tables


def spark_results(spark, data_dir: Path):
    from dealscope.ingest.spark_validate import SparkValidation

    validation = SparkValidation.from_event_type_map(spark, DEFAULT_EVENT_TYPES, LOADED_AT)
    loads = validation.load_all(data_dir)
    rejected = [tuple(r) for r in validation.rejected_rows().select(
        "source", "source_file", "row_number", "record", "reason", "detail").orderBy("source", "row_number").collect()]
    summary = sorted((c.source, c.source_file, c.file_present, c.rows_read, c.rows_loaded, c.rows_rejected)
                     for c in (load.counts for load in loads.values()))
    tables = {}
    for load in loads.values():
        for name, frame in load.tables.items():
            select = [f"unix_micros({c})" if c in _timestamp_columns(name) else c for c in frame.columns]
            tables[name] = (frame.columns, [tuple(r) for r in frame.selectExpr(*select).orderBy("_row_number").collect()])
    return rejected, summary, tables


def assert_same_results(spark, data_dir: Path, warehouse: Path) -> list[tuple]:
    duck_rejected, duck_summary, duck_tables = duckdb_results(data_dir, warehouse)
    spark_rejected, spark_summary, spark_tables = spark_results(spark, data_dir)
    assert spark_rejected == duck_rejected
    assert spark_summary == duck_summary
    assert spark_tables.keys() == duck_tables.keys()
    for name, (columns, rows) in duck_tables.items():
        assert spark_tables[name][0] == columns, name
        assert spark_tables[name][1] == rows, name
    return duck_rejected


def test_spark_validation_matches_duckdb_on_every_check(spark, tmp_path):
    data_dir = write_messy_export(tmp_path / "export")
    rejected = assert_same_results(spark, data_dir, tmp_path / "duck.duckdb")
    reasons = {row[4] for row in rejected}
    assert EXPECTED_REASONS <= reasons, EXPECTED_REASONS - reasons


def test_spark_validation_matches_duckdb_on_a_generated_messy_export(spark, tmp_path):
    from dealscope.sample import write_sample

    data_dir = tmp_path / "sample"
    write_sample(data_dir, seed=5, n_accounts=120, world="planted", messy_rate=0.05)
    rejected = assert_same_results(spark, data_dir, tmp_path / "duck.duckdb")
    assert len(rejected) > 10


def _build_file_contents(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
        contents = {name: con.execute(f'SELECT * FROM raw."{name}" ORDER BY ALL').fetchall()
                    for name in tables if name != "load_summary"}
        contents["load_summary"] = con.execute("SELECT * EXCLUDE (loaded_at) FROM raw.load_summary ORDER BY ALL").fetchall()
        contents["rejected_rows"] = con.execute("SELECT * FROM main.rejected_rows ORDER BY ALL").fetchall()
        contents["types"] = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema IN ('raw', 'main') ORDER BY ALL").fetchall()
    finally:
        con.close()
    return contents


def test_loading_on_spark_fills_the_build_file_as_the_duckdb_loader(spark, tmp_path):
    from dealscope.ingest.spark_validate import load_table_on_spark

    data_dir = write_messy_export(tmp_path / "export")
    duckdb_results(data_dir, tmp_path / "duck.duckdb")
    con = duckdb.connect(str(tmp_path / "spark.duckdb"))
    try:
        prepare_warehouse(con)
        load_event_types(con, DEFAULT_EVENT_TYPES)
        for table in TABLES:
            load_table_on_spark(con, spark, table, data_dir, LOADED_AT, tmp_path / "staging")
    finally:
        con.close()
    expected = _build_file_contents(tmp_path / "duck.duckdb")
    loaded = _build_file_contents(tmp_path / "spark.duckdb")
    assert expected["rejected_rows"] and expected["deals"] and expected["deals_history"]
    assert loaded.keys() == expected.keys()
    for name in expected:
        assert loaded[name] == expected[name], name


def test_bytes_that_are_not_utf8_past_the_header_stop_both_engines(spark, tmp_path):
    from dealscope.ingest import InputFileError
    from dealscope.ingest.spark_validate import SparkValidation

    data_dir = tmp_path / "export"
    data_dir.mkdir()
    lines = [",".join(ACCOUNTS[0]), ",".join(ACCOUNTS[1]), "A2,Caf\xe9,smb,,,,2020-01-01"]
    (data_dir / "accounts.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    con = duckdb.connect(str(tmp_path / "duck.duckdb"))
    try:
        prepare_warehouse(con)
        load_event_types(con, DEFAULT_EVENT_TYPES)
        with pytest.raises(InputFileError, match=r"^accounts\.csv: is not UTF-8 text"):
            load_table(con, "accounts", data_dir, LOADED_AT)
    finally:
        con.close()
    validation = SparkValidation.from_event_type_map(spark, DEFAULT_EVENT_TYPES, LOADED_AT)
    with pytest.raises(InputFileError, match=r"^accounts\.csv: is not UTF-8 text \(line 3 "):
        validation.load("accounts", data_dir)
