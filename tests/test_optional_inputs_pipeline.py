"""A real `dealscope run` on an export with only accounts.csv and deals.csv (from data/sample, the other
files removed, deals without list_amount and with owner team columns): the run succeeds, nothing is
faked, and the CLI, the warehouse and the dashboards say what was skipped and which input it needs."""

from __future__ import annotations

import csv
import io
import zlib
from contextlib import redirect_stdout
from pathlib import Path

import duckdb
import pytest

from dealscope.cli import main as cli_main
from dealscope.coverage import ANALYSES
from dealscope.settings import REPO_ROOT
from tests.test_pipeline import CONTRACT_COLUMNS, table_columns

SAMPLE = REPO_ROOT / "data" / "sample"
SKIPPED = {
    "strategy_plan": ("strategic_alignment", "H1_strategic_alignment"),
    "negotiation_events": ("trust_event_study", "escalation_paths", "won_deal_lost_customer",
                           "H2_trust_eroding_events"),
    "deals.list_amount": ("discounts", "loss_drivers"),
}


def team_of(owner: str) -> str:
    return f"team {zlib.crc32(owner.encode()) % 3}"


@pytest.fixture(scope="module")
def accounts_and_deals_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """accounts.csv as in the sample; deals.csv without list_amount, with owner_team (every deal with an
    owner) and owner_manager (empty for every fifth deal); no owner_office column."""
    out = tmp_path_factory.mktemp("accounts_and_deals")
    (out / "accounts.csv").write_bytes((SAMPLE / "accounts.csv").read_bytes())
    with open(SAMPLE / "deals.csv", newline="", encoding="utf-8") as source, \
            open(out / "deals.csv", "w", newline="", encoding="utf-8") as target:
        reader = csv.DictReader(source)
        columns = [c for c in reader.fieldnames if c != "list_amount"] + ["owner_team", "owner_manager"]
        writer = csv.DictWriter(target, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for number, row in enumerate(reader):
            owner = row.get("owner") or ""
            writer.writerow({**row, "owner_team": team_of(owner) if owner else "",
                             "owner_manager": "" if number % 5 == 0 else f"manager {len(owner) % 2}"})
    return out


@pytest.fixture(scope="module")
def minimal_run(accounts_and_deals_export: Path, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("minimal_run")
    warehouse, site = work / "w" / "dealscope.duckdb", work / "site"
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = cli_main(["run", "--data", str(accounts_and_deals_export), "--warehouse", str(warehouse),
                         "--dashboards", str(site)])
    return code, printed.getvalue(), warehouse, site


def test_run_succeeds_and_the_cli_lists_what_was_skipped_and_why(minimal_run) -> None:
    code, printed, _, _ = minimal_run
    assert code == 0, printed
    skipped_block = printed.split("analyses SKIPPED", 1)[1].split("\n\n", 1)[0]
    for needed, analyses in SKIPPED.items():
        for analysis in analyses:
            assert f"  {analysis}: needs {needed}: " in skipped_block, analysis
    assert "strategy_plan.csv/.parquet is not in the export" in skipped_block
    assert "deals have no list_amount column" in skipped_block
    assert "analyses run with a substitute" in printed and "derived from won deals" in printed


def test_warehouse_has_the_contract_tables_and_the_coverage(minimal_run) -> None:
    _, _, warehouse, _ = minimal_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, columns in CONTRACT_COLUMNS.items():
            assert set(columns) <= set(table_columns(con, table)), table
        assert con.execute("SELECT count(*) FROM fct_deals").fetchone()[0] > 0
        coverage = {row[0]: row[1:] for row in con.execute(
            "SELECT analysis, ran, status, missing, reason FROM analysis_coverage").fetchall()}
        assert set(coverage) == {a.name for a in ANALYSES}
        for needed, analyses in SKIPPED.items():
            for analysis in analyses:
                assert coverage[analysis][:3] == (False, "skipped", needed), analysis
        assert not any(ran for ran, status, *_ in coverage.values() if status == "skipped")
        assert coverage["account_value"][:2] == (True, "ran_with_substitute")
        # no list price and no plan: no discount and no alignment, NULL rather than 0
        assert con.execute("SELECT count(discount_pct), count(alignment_score) FROM fct_deals").fetchone() == (0, 0)


def test_hypothesis_tests_hold_one_not_run_row_per_skipped_hypothesis(minimal_run) -> None:
    _, _, warehouse, _ = minimal_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT hypothesis, test, estimate, ci_low, ci_high, p_value, supported, method, note "
            "FROM hypothesis_tests ORDER BY hypothesis").fetchall()
    assert [row[:2] for row in rows] == [("H1_strategic_alignment", "adjusted_effect"),
                                         ("H2_trust_eroding_events", "adjusted_effect")]
    for hypothesis, _, estimate, low, high, p_value, supported, method, note in rows:
        assert (estimate, low, high, p_value, supported, method) == (None, None, None, None, False, "not run")
    assert rows[0][-1] == "not run: needs strategy_plan: strategy_plan.csv/.parquet is not in the export"
    assert rows[1][-1].startswith("not run: needs negotiation_events: ")


def test_owner_team_dimensions_reach_win_loss(minimal_run, accounts_and_deals_export: Path) -> None:
    _, _, warehouse, _ = minimal_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        dimensions = dict(con.execute(
            "SELECT dimension, sum(deals_closed) FROM win_loss GROUP BY dimension").fetchall())
        values = {row[0] for row in con.execute(
            "SELECT value FROM win_loss WHERE dimension = 'owner_manager'").fetchall()}
        teams = con.execute("SELECT count(DISTINCT owner_team) FROM fct_deals").fetchone()[0]
    assert "owner_office" not in dimensions  # no deal has one: left out, not one 'unknown' cell
    assert dimensions["owner_team"] == dimensions["owner_manager"] == dimensions["overall"]
    assert values == {"manager 0", "manager 1", "unknown"}
    assert teams == 3


def test_dashboards_say_which_input_each_missing_section_needs(minimal_run) -> None:
    _, _, _, site = minimal_run
    pages = {name: (site / name).read_text() for name in
             ("index.html", "strategic_fit.html", "trust.html", "win_loss.html", "evidence.html")}
    assert 'id="analysis-coverage-table"' in pages["index.html"]
    expected = {
        "strategic_fit.html": ['data-missing="main.strategic_fit_audit" data-needs="strategy_plan"',
                               'data-missing="main.alignment_band_outcomes" data-needs="strategy_plan"'],
        "trust.html": ['data-missing="main.trust_event_study" data-needs="negotiation_events"',
                       'data-missing="main.escalation_paths" data-needs="negotiation_events"',
                       'data-missing="main.won_deal_lost_customer" data-needs="negotiation_events"'],
        "win_loss.html": ['data-missing="main.loss_drivers" data-needs="deals.list_amount"'],
        "evidence.html": ['data-missing="H1_strategic_alignment" data-needs="strategy_plan"',
                          'data-missing="H2_trust_eroding_events" data-needs="negotiation_events"'],
    }
    for page, markers in expected.items():
        for marker in markers:
            assert marker in pages[page], (page, marker)
    assert "Not drawn: the strategic-fit audit" in pages["strategic_fit.html"]
