"""dbt on an export with only accounts and deals: every model and data test still builds, on empty
tables too; the owner team dimensions and the optional list_amount in win_loss (real dbt, real DuckDB)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dbt_fixtures import create_accounts_and_deals_only_fixture, query, run_dbt

BUILD_DB_NAME = "build.duckdb"
MAIN_TABLES = ("fct_deals", "win_loss", "account_value", "loss_drivers", "strategic_fit_audit",
               "alignment_band_outcomes", "trust_event_study", "escalation_paths", "won_deal_lost_customer",
               "cohort_retention", "competitor_response", "move_precedents")


def build(work: Path, *, empty: bool, prepare=None) -> Path:
    db_path = work / BUILD_DB_NAME
    create_accounts_and_deals_only_fixture(db_path, empty=empty)
    if prepare is not None:
        with duckdb.connect(str(db_path)) as con:
            con.execute(prepare)
    # `build`: every model (analytics included) and every data test, as the pipeline runs it
    run_dbt(["build", "--vars", "{as_of_date: '2024-12-31'}"], build_db=db_path,
            target_path=work / "target", log_path=work / "logs")
    return db_path


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("dbt_empty_inputs"), empty=True)


# Only D5 (lost, 500) keeps its list price; team East = ann's D1, D2, West = bob's D3, D4.
ACCOUNTS_AND_DEALS_ONLY = """
update raw.deals set list_amount = null where deal_id <> 'D5';
update raw.deals set owner_team = case owner when 'ann' then 'East' end where deal_id in ('D1', 'D2');
update raw.deals set owner_team = 'West' where deal_id in ('D3', 'D4');
"""


@pytest.fixture(scope="module")
def accounts_and_deals_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("dbt_accounts_deals"), empty=False, prepare=ACCOUNTS_AND_DEALS_ONLY)


def test_every_model_builds_and_tests_pass_on_empty_inputs(empty_warehouse: Path) -> None:
    for table in MAIN_TABLES:
        assert query(empty_warehouse, f"select count(*) as n from main.{table}") == [{"n": 0}], table
    assert query(empty_warehouse, "select count(*) as n from analytics.ml_account_features") == [{"n": 0}]


def test_without_plan_and_events_nothing_is_scored_or_counted(accounts_and_deals_warehouse: Path) -> None:
    deals = query(accounts_and_deals_warehouse,
                  "select count(*) as n, count(alignment_score) as scored, count(discount_pct) as discounts, "
                  "sum(trust_eroding_events) as eroding from main.fct_deals")
    assert deals == [{"n": 7, "scored": 0, "discounts": 0, "eroding": 0}]
    for table in ("strategic_fit_audit", "trust_event_study", "escalation_paths", "won_deal_lost_customer"):
        assert query(accounts_and_deals_warehouse, f"select count(*) as n from main.{table}") == [{"n": 0}], table


def test_owner_team_is_a_win_loss_dimension_only_when_recorded(accounts_and_deals_warehouse: Path) -> None:
    cells = {(row["dimension"], row["value"]): row for row in query(
        accounts_and_deals_warehouse,
        "select dimension, value, deals_closed, deals_won, deals_lost, value_lost, lost_deals_without_list_amount "
        "from main.win_loss where dimension in ('overall', 'owner_team', 'owner_manager', 'owner_office')")}
    assert sorted(cells) == [("overall", "all"), ("owner_team", "East"), ("owner_team", "West"),
                             ("owner_team", "unknown")]
    east, west, unknown = (cells[("owner_team", v)] for v in ("East", "West", "unknown"))
    assert (east["deals_closed"], east["deals_won"], east["value_lost"]) == (2, 2, 0.0)
    # West lost D3, which has no list price: value lost unknown, not 0
    assert (west["deals_closed"], west["deals_lost"], west["value_lost"], west["lost_deals_without_list_amount"]) \
        == (2, 1, None, 1)
    # D5 (no team, lost at list 500) and D7 (no team, won)
    assert (unknown["deals_closed"], unknown["value_lost"], unknown["lost_deals_without_list_amount"]) == (2, 500.0, 0)
    overall = cells[("overall", "all")]
    assert (overall["deals_lost"], overall["value_lost"], overall["lost_deals_without_list_amount"]) == (2, 500.0, 1)
