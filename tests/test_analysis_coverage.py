"""Optional inputs and main.analysis_coverage: loading without the optional files and columns, and the
registry's verdict on what can run (real DuckDB, the real loader)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dealscope.coverage import ANALYSES, BY_NAME, read_analysis_coverage, skipped_hypotheses, write_analysis_coverage
from dealscope.ingest import TABLES, LoadCounts
from tests.test_ingest_files import MINIMAL, load, open_warehouse, write_files

ACCOUNTS_AND_DEALS = {
    "accounts.csv": MINIMAL["accounts.csv"],
    # no list_amount column; owner team columns, one deal without a team
    "deals.csv": "deal_id,account_id,deal_type,product_line,created_at,closed_at,stage,final_amount,owner,"
                 "owner_team,owner_manager\n"
                 "D1,A1,renewal,core,2021-01-01,,open,,Ann,East,Mo\n"
                 "D2,A2,renewal,core,2021-01-01,2021-02-01,won,100,Bob,,Mo\n",
}


def load_all(tmp_path: Path, files: dict[str, str]) -> duckdb.DuckDBPyConnection:
    data_dir = write_files(tmp_path / "data", files)
    con = open_warehouse(tmp_path)
    for table in TABLES:
        load(con, table, data_dir)
    return con


def coverage_by_name(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in con.execute(
        "SELECT analysis, ran, status, missing, reason FROM main.analysis_coverage").fetchall()}


def test_only_accounts_and_deals_load_and_optional_columns_are_null(tmp_path: Path) -> None:
    con = load_all(tmp_path, ACCOUNTS_AND_DEALS)
    summary = dict(con.execute("SELECT source, file_present FROM raw.load_summary").fetchall())
    assert summary == {"accounts": True, "deals": True, "negotiation_events": False, "account_revenue": False,
                       "strategy_plan": False}
    assert con.execute("SELECT count(*) FROM raw.strategy_plan").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.negotiation_events").fetchone() == (0,)
    assert con.execute("SELECT deal_id, list_amount, owner_team, owner_manager, owner_office FROM raw.deals "
                       "ORDER BY deal_id").fetchall() == [("D1", None, "East", "Mo", None),
                                                          ("D2", None, None, "Mo", None)]
    assert con.execute("SELECT count(*) FROM main.rejected_rows").fetchone() == (0,)


def test_an_empty_list_amount_loads_as_missing_not_rejected(tmp_path: Path) -> None:
    deals = ("deal_id,account_id,deal_type,product_line,created_at,closed_at,stage,list_amount,final_amount\n"
             "D1,A1,renewal,core,2021-01-01,,open,,\nD2,A1,renewal,core,2021-01-01,,open,5,\n")
    data_dir = write_files(tmp_path / "data", {"accounts.csv": MINIMAL["accounts.csv"], "deals.csv": deals})
    con = open_warehouse(tmp_path)
    load(con, "accounts", data_dir)
    assert load(con, "deals", data_dir) == LoadCounts("deals", "deals.csv", True, 2, 2, 0)
    assert con.execute("SELECT list_amount FROM raw.deals ORDER BY deal_id").fetchall() == [(None,), (5.0,)]


def test_coverage_skips_what_the_absent_files_feed_and_says_why(tmp_path: Path) -> None:
    con = load_all(tmp_path, ACCOUNTS_AND_DEALS)
    write_analysis_coverage(con)
    coverage = coverage_by_name(con)
    assert set(coverage) == {a.name for a in ANALYSES}
    for name in ("strategic_alignment", "H1_strategic_alignment"):
        ran, status, missing, reason = coverage[name]
        assert (ran, status, missing) == (False, "skipped", "strategy_plan")
        assert reason == "needs strategy_plan: strategy_plan.csv/.parquet is not in the export"
    for name in ("trust_event_study", "escalation_paths", "won_deal_lost_customer", "H2_trust_eroding_events"):
        assert coverage[name][:3] == (False, "skipped", "negotiation_events"), name
    for name in ("discounts", "loss_drivers"):
        assert coverage[name][:3] == (False, "skipped", "deals.list_amount"), name
        assert "deals have no list_amount column" in coverage[name][3]
    for name in ("account_value", "cohort_retention", "account_value_forecast"):
        ran, status, missing, reason = coverage[name]
        assert (ran, status, missing) == (True, "ran_with_substitute", "account_revenue"), name
        assert "derived from won deals" in reason
    assert coverage["win_loss"][:3] == (True, "partial", "deals.list_amount")
    assert skipped_hypotheses(con) == {
        "H1_strategic_alignment": coverage["H1_strategic_alignment"][3],
        "H2_trust_eroding_events": coverage["H2_trust_eroding_events"][3],
    }


def test_a_present_file_with_no_loaded_row_is_told_apart_from_an_absent_one(tmp_path: Path) -> None:
    files = dict(MINIMAL)
    # every plan row rejected (bad stance); events header only
    files["strategy_plan.csv"] = "effective_from,dimension,value,stance\n2020-01-01,segment,smb,maybe\n"
    con = load_all(tmp_path, files)
    write_analysis_coverage(con)
    coverage = coverage_by_name(con)
    assert coverage["H1_strategic_alignment"][3] == (
        "needs strategy_plan: strategy_plan.csv is present but no row loaded (1 read, 1 rejected)")
    assert coverage["H2_trust_eroding_events"][3] == (
        "needs negotiation_events: negotiation_events.csv is present but no row loaded (0 read, 0 rejected)")
    # account_revenue absent here: value from won deals
    assert coverage["account_value"][:2] == (True, "ran_with_substitute")
    # MINIMAL's deal has a list price: discounts run, with the count of deals lacking one
    assert coverage["discounts"][:2] == (True, "ran")
    assert coverage["discounts"][3] == "ran: list_amount given on 1 of 1 deals"


def test_a_header_only_revenue_file_is_used_not_replaced_by_won_deals(tmp_path: Path) -> None:
    con = load_all(tmp_path, dict(MINIMAL, **{"account_revenue.csv": "account_id,month,revenue,gross_margin\n"}))
    write_analysis_coverage(con)
    ran, status, missing, reason = coverage_by_name(con)["account_value"]
    assert (ran, status, missing) == (True, "partial", "account_revenue")
    assert reason == ("ran: account_revenue.csv is present but no row loaded (0 read, 0 rejected): it is used as "
                      "it is, so every value from it is 0")


def test_every_input_present_runs_everything(tmp_path: Path) -> None:
    files = dict(MINIMAL, **{
        "negotiation_events.csv": MINIMAL["negotiation_events.csv"] + "E1,A1,D1,2021-01-05,escalated_over_buyer,,\n",
        "account_revenue.csv": "account_id,month,revenue,gross_margin\nA1,2021-01-01,10,5\n",
    })
    con = load_all(tmp_path, files)
    write_analysis_coverage(con)
    assert {row[:2] for row in coverage_by_name(con).values()} == {(True, "ran")}
    assert skipped_hypotheses(con) == {}
    reasons = {row.analysis: row.reason for row in read_analysis_coverage(con)}
    assert reasons.pop("discounts") == reasons.pop("loss_drivers") == "ran: list_amount given on 1 of 1 deals"
    assert set(reasons.values()) == {"ran: every input present"}


def test_registry_names_inputs_the_loader_knows() -> None:
    inputs = {need for a in ANALYSES for need in (*a.needs, *a.substitutes, *a.partial_without)}
    assert inputs <= set(TABLES) | {"deals.list_amount"}
    assert {a.hypothesis for a in ANALYSES if a.hypothesis} == {"H1_strategic_alignment", "H2_trust_eroding_events"}
    assert BY_NAME["H1_strategic_alignment"].needs == ("strategy_plan",)
    assert BY_NAME["H2_trust_eroding_events"].needs == ("negotiation_events",)
