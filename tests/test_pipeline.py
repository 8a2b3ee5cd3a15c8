"""The whole pipeline, end to end: real Dagster materializations, real dbt, real DuckDB files."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from dealscope.cli import main as cli_main
from dealscope.runner import execute
from tests.conftest import settings_for

CONTRACT_COLUMNS = {
    "fct_deals": ["deal_id", "account_id", "stage", "is_won", "created_at", "closed_at", "cycle_days",
                  "list_amount", "final_amount", "discount_pct", "alignment_score", "alignment_band",
                  "flagged_strategic", "trust_eroding_events", "trust_building_events", "competitor"],
    "win_loss": ["dimension", "value", "deals_closed", "deals_won", "win_rate", "win_rate_ci_low",
                 "win_rate_ci_high", "value_won", "value_lost"],
    "account_value": ["account_id", "segment", "first_deal_at", "tenure_months", "deals_won", "lifetime_revenue",
                      "lifetime_gross_margin", "trust_eroding_events", "trust_building_events", "mean_alignment",
                      "is_active"],
    "hypothesis_tests": ["hypothesis", "feature_block", "estimate", "ci_low", "ci_high", "p_value", "n_accounts",
                         "method", "supported"],
    "rejected_rows": ["source", "source_file", "row_number", "record", "reason", "detail", "loaded_at"],
}


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
        [table]).fetchall()]


def test_published_warehouse_has_the_contract_tables(pipeline_run):
    settings, _ = pipeline_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        for table, columns in CONTRACT_COLUMNS.items():
            present = table_columns(con, table)
            assert set(columns) <= set(present), f"{table} lacks {set(columns) - set(present)}"
        assert con.execute("SELECT count(*) FROM fct_deals").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM rejected_rows").fetchone()[0] > 0  # the export is messy on purpose
        # every loaded account is in account_value, with or without deals
        assert con.execute("SELECT count(*) FROM account_value").fetchone()[0] == \
            con.execute("SELECT count(*) FROM raw.accounts").fetchone()[0]
        hypotheses = con.execute("SELECT hypothesis FROM hypothesis_tests").fetchall()
        assert len(hypotheses) >= 2
    finally:
        con.close()


def test_mart_columns_declared_not_null_are_not_null_in_duckdb(pipeline_run):
    """Marts enforce "never null" with a constraint DuckDB checks on write (no not_null data tests)."""
    import yaml

    from dealscope.settings import DBT_PROJECT_DIR

    declared = {
        (model["name"], column["name"])
        for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.yml")
        for model in yaml.safe_load(path.read_text())["models"]
        for column in model.get("columns", [])
        if {"type": "not_null"} in (column.get("constraints") or [])
    }
    assert len(declared) >= 50
    settings, _ = pipeline_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        nullable = {(table, column): flag for table, column, flag in con.execute(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall()}
        assert {key: nullable.get(key) for key in declared} == {key: "NO" for key in declared}
    finally:
        con.close()


def test_every_input_row_is_loaded_or_rejected(pipeline_run, small_export):
    settings, _ = pipeline_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        summary = con.execute(
            "SELECT source, rows_read, rows_loaded, rows_rejected FROM raw.load_summary").fetchall()
        assert {row[0] for row in summary} >= {"accounts", "deals", "negotiation_events", "account_revenue",
                                                "strategy_plan"}
        for source, read, loaded, rejected in summary:
            assert read == loaded + rejected, source
            assert con.execute("SELECT count(*) FROM rejected_rows WHERE source = ?", [source]).fetchone()[0] \
                == rejected, source
        # rows_read is the file's record count, counted independently by Python's csv module
        for source, read, _, _ in summary:
            path = small_export / f"{source}.csv"
            if path.exists():
                with open(path, newline="", encoding="utf-8-sig") as handle:
                    records = sum(1 for fields in csv.reader(handle) if fields) - 1  # header
                assert read == records, source
    finally:
        con.close()


def test_dashboards_are_written(pipeline_run):
    settings, _ = pipeline_run
    index = settings.dashboards_dir / "index.html"
    assert index.exists()
    assert (settings.dashboards_dir / "plotly.min.js").exists()
    assert "<script src=\"http" not in index.read_text()


def test_failed_run_keeps_the_previous_warehouse(pipeline_run, small_export, tmp_path):
    settings, _ = pipeline_run
    # a second deployment: publish once from a good export, then break the export
    export = tmp_path / "export"
    shutil.copytree(small_export, export)
    second = settings_for(tmp_path, export)
    assert execute(second).success
    before = second.warehouse.read_bytes()

    (export / "deals.csv").write_bytes(b"")  # 0 bytes: unreadable per the contract
    outcome = execute(second)
    assert not outcome.success
    assert any("deals.csv" in error for error in outcome.errors), outcome.errors
    assert second.warehouse.read_bytes() == before
    con = duckdb.connect(str(second.warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM fct_deals").fetchone()[0] > 0
    con.close()


def test_cli_run_prints_counts_and_fails_clearly(pipeline_run, small_export, tmp_path, capsys):
    settings, _ = pipeline_run
    args = ["run", "--data", str(small_export), "--warehouse", str(tmp_path / "w" / "d.duckdb"),
            "--dashboards", str(tmp_path / "site")]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    for table in ("accounts", "deals", "negotiation_events", "account_revenue", "strategy_plan"):
        assert table in printed
    assert str(tmp_path / "w" / "d.duckdb") in printed

    # Quiet by default: one line per stage with its time, then the summary; the detail is in the log.
    stage_lines = [line for line in printed.splitlines() if line.startswith("  ") and line.rstrip().endswith(" s")]
    for label in ("start-up", "load accounts", "load deals", "load negotiation_events", "dbt build",
                  "statistics", "dashboards", "publish warehouse", "total"):
        assert any(line.startswith(f"  {label} ") for line in stage_lines), (label, printed)
    deals_line = next(line for line in stage_lines if line.split()[:2] == ["load", "deals"])
    assert "read" in deals_line and "rejected" in deals_line
    dbt_line = next(line for line in stage_lines if line.split()[:2] == ["dbt", "build"])
    models, tests = dbt_line.split()[2], dbt_line.split()[4]
    assert models.split("/")[0] == models.split("/")[1] and int(models.split("/")[1]) >= 30, dbt_line
    assert tests.split("/")[0] == tests.split("/")[1] and int(tests.split("/")[1]) >= 150, dbt_line
    assert len(printed.splitlines()) < 40, printed
    assert "STEP_START" not in printed and "START sql" not in printed
    log_file = next((tmp_path / "w" / "logs").glob("run-*.log"))
    assert f"run log:    {log_file}" in printed
    log = log_file.read_text()
    assert "STEP_SUCCESS" in log and "dealscope_dbt_models" in log  # Dagster's events, DEBUG included
    assert "PASS unique_fct_deals_deal_id" in log  # dbt's own output
    con = duckdb.connect(str(tmp_path / "w" / "d.duckdb"), read_only=True)
    verdicts = [row[0] for row in con.execute(
        "SELECT verdict FROM hypothesis_tests WHERE hypothesis IN ('H1_strategic_alignment', 'H2_trust_eroding_events')"
    ).fetchall()]
    con.close()
    assert len(verdicts) == 2
    for verdict in verdicts:
        assert verdict in printed

    missing = tmp_path / "empty_export"
    missing.mkdir()
    args[2] = str(missing)
    assert cli_main(args) == 1
    printed = capsys.readouterr().out
    assert "FAILED" in printed and "accounts" in printed
    assert "full log: " in printed


@pytest.mark.parametrize("key", [["raw", "deals"], ["main", "fct_deals"], ["main", "hypothesis_tests"]])
def test_definitions_hold_the_graph(key):
    import dagster as dg

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert dg.AssetKey(key) in graph.get_all_asset_keys()
    assert defs.resolve_job_def("dealscope_pipeline") is not None
    assert defs.resolve_schedule_def("dealscope_daily") is not None
    assert defs.resolve_sensor_def("input_folder_sensor") is not None


def test_the_analysis_step_declares_every_registered_table_with_what_it_reads():
    import dagster as dg

    from models import tables
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for registered in tables.STATISTICS_TABLES:
        key = dg.AssetKey(registered.name.split("."))
        assert key in graph.get_all_asset_keys(), registered.name
        if registered.writer.startswith("dbt:"):  # dagster-dbt appends the model's SQL to its description
            assert graph.get(key).description.startswith(registered.description), registered.name
        else:
            assert graph.get(key).description == registered.description, registered.name
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey(["main", "hypothesis_tests"])).parent_keys}
    assert parents == {"analytics/ml_account_features", "analytics/ml_event_windows", "main/analysis_coverage"}
    forecast = graph.get(dg.AssetKey(["main", "account_value_forecast"])).parent_keys
    assert {p.to_user_string() for p in forecast} == {"analytics/ml_forecast_features"}
    # the dashboards wait for every statistics table
    dashboard_parents = graph.get(dg.AssetKey(["dashboards"])).parent_keys
    assert {dg.AssetKey(t.name.split(".")) for t in tables.STATISTICS_TABLES} <= dashboard_parents
