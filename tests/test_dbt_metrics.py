"""The metric marts, built by a real `dbt build` on the timeline fixture (tests/dbt_fixtures.py)
and checked against values worked out by hand from its rows (the reasoning sits next to each check).

One dbt build for the whole file, with TIMELINE_VARS: as of 2024-12-31 (last complete month
December 2024), event windows of 2 months, takeover within 3 and second source within 6 months,
"won the deal, lost the customer" window 2 months, value horizon 3 months, move window 2 months.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from dbt_fixtures import (
    EXCLUDE_ANALYTICS,
    FIRST_WIN_VARS,
    TIMELINE_VARS,
    WILSON_Z,
    create_first_win_fixture,
    create_timeline_fixture,
    query,
    run_dbt,
    wilson_interval,
)



def rows_by(db_path: Path, sql: str, *keys: str) -> dict:
    return {tuple(row[key] for key in keys) if len(keys) > 1 else row[keys[0]]: row
            for row in query(db_path, sql)}


@pytest.fixture(scope="module")
def timeline_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Full `dbt build` (models, data tests, unit tests) of the timeline fixture."""
    work = tmp_path_factory.mktemp("dbt_timeline")
    db_path = work / ".dealscope.build.duckdb"
    create_timeline_fixture(db_path)
    run_dbt(["build", *EXCLUDE_ANALYTICS, "--vars", json.dumps(TIMELINE_VARS)], build_db=db_path,
            target_path=work / "target", log_path=work / "logs")
    return db_path


# ---------------------------------------------------------------- trust_event_study


def test_event_study_monthly_revenue_difference_in_differences(timeline_warehouse: Path) -> None:
    study = rows_by(timeline_warehouse,
                    "select * from main.trust_event_study where event_type = 'escalated_over_buyer'",
                    "metric", "window")
    # T1 and T2 escalate in June 2024 (anchor month). Windows: Apr-May before, Jul-Aug after.
    # C2's November escalation has no observed after window (Dec-Jan), so it is not treated.
    # T1 revenue 100, 100 | 50, 50 -> change -50; T2 300, 300 | 310, 290 -> change 0.
    # Comparison (smb, no escalation Apr-Aug): C1 100 -> 100 (0), C2 200 -> 220 (+20): mean +10.
    before, after = study[("monthly_revenue", "before")], study[("monthly_revenue", "after")]
    assert before["treated_accounts"] == after["treated_accounts"] == 2
    assert before["comparison_accounts"] == 2
    assert (before["treated_value"], after["treated_value"]) == pytest.approx((200, 175))
    assert (before["comparison_value"], after["comparison_value"]) == pytest.approx((150, 160))
    # d_T1 = -50 - 10 = -60, d_T2 = 0 - 10 = -10: mean -35, var(d) = 1250, so var(d) / n = 625.
    # Both share one comparison mean: changes 0 and +20, variance 200 over m = 2 accounts, with
    # k = n = 2 treated in the cell: + (2/2)^2 * 200 / 2 = 100. se = sqrt(725).
    assert after["difference_in_differences"] == pytest.approx(-35)
    half_width = WILSON_Z * math.sqrt(625 + 100)
    assert (after["ci_low"], after["ci_high"]) == pytest.approx((-35 - half_width, -35 + half_width))
    assert before["difference_in_differences"] == after["difference_in_differences"]
    assert after["polarity"] == "trust_eroding" and after["window_months"] == 2


def test_event_study_deal_metrics(timeline_warehouse: Path) -> None:
    study = rows_by(timeline_warehouse,
                    "select * from main.trust_event_study where event_type = 'escalated_over_buyer'",
                    "metric", "window")
    # Deals by created month. T1: Apr won (list 100, final 80, margin 0.5, 20 days) | Jul won
    # (100 -> 60, margin 0.3, 21 days) and Aug lost (20 days). C1: May won (100 -> 90, 0.4, 20 days)
    # | Aug won (same). T2 and C2 have no deal in the windows: not measured.
    expected = {
        # metric: (treated before, treated after, comparison before, comparison after, DiD)
        "gross_margin_pct": (0.5, 0.3, 0.4, 0.4, -0.2),  # won deals only
        "discount_pct": (0.2, 0.4, 0.1, 0.1, 0.2),
        "win_rate": (1.0, 0.5, 1.0, 1.0, -0.5),
        "cycle_days": (20, 20.5, 20, 20, 0.5),
    }
    for metric, (t_before, t_after, c_before, c_after, did) in expected.items():
        before, after = study[(metric, "before")], study[(metric, "after")]
        assert (before["treated_value"], after["treated_value"]) == pytest.approx((t_before, t_after)), metric
        assert (before["comparison_value"], after["comparison_value"]) == pytest.approx((c_before, c_after)), metric
        assert after["difference_in_differences"] == pytest.approx(did), metric
        assert (after["treated_accounts"], after["comparison_accounts"]) == (1, 1), metric
        # one treated account: no interval
        assert after["ci_low"] is None and after["ci_high"] is None


# ---------------------------------------------------------------- escalation_paths


def test_escalation_paths_story(timeline_warehouse: Path) -> None:
    paths = rows_by(timeline_warehouse, "select * from main.escalation_paths", "account_group")
    # Observed escalations (escalation + 6 months <= 2024-12-31): T1 (Jun 15), T2 (Jun 3);
    # C2 (Nov 5) is censored. T1: takeover Jul 20 (within 3 months), second source Sep 10.
    everyone = paths["all_escalated"]
    assert (everyone["accounts"], everyone["accounts_with_takeover"], everyone["accounts_with_second_source"]) == (2, 1, 1)
    assert everyone["escalations_censored"] == 1
    assert everyone["share_with_takeover"] == pytest.approx(0.5)
    assert (everyone["share_with_takeover_ci_low"], everyone["share_with_takeover_ci_high"]) == pytest.approx(
        wilson_interval(1, 2), abs=1e-12)
    assert (everyone["share_with_second_source_ci_low"], everyone["share_with_second_source_ci_high"]) == pytest.approx(
        wilson_interval(1, 2), abs=1e-12)
    # Jun 15 -> Sep 10 = 15 + 31 + 31 + 10 = 87 days = 87 / 30.4375 months.
    assert everyone["median_months_to_second_source"] == pytest.approx(87 / 30.4375)
    # Margin before (Apr-May): T1 100/200, T2 300/600 -> 400/800. After the path's last event:
    # T1 second source in Sep -> Oct-Nov 20/100; T2 escalation in Jun -> Jul-Aug (124+116)/600.
    assert everyone["margin_before_pct"] == pytest.approx(0.5)
    assert everyone["margin_after_pct"] == pytest.approx(260 / 700)
    with_takeover = paths["with_takeover"]
    assert (with_takeover["accounts"], with_takeover["share_with_second_source"]) == (1, 1.0)
    assert (with_takeover["margin_before_pct"], with_takeover["margin_after_pct"]) == pytest.approx((0.5, 0.2))
    assert with_takeover["margin_change"] == pytest.approx(-0.3)
    without = paths["without_takeover"]
    assert (without["accounts"], without["accounts_with_second_source"]) == (1, 0)
    assert without["median_months_to_second_source"] is None
    assert without["margin_after_pct"] == pytest.approx(0.4)
    assert paths["with_second_source"]["accounts"] == 1


# ---------------------------------------------------------------- won_deal_lost_customer


def test_won_deal_lost_customer(timeline_warehouse: Path) -> None:
    listed = rows_by(timeline_warehouse, "select * from main.won_deal_lost_customer", "deal_id")
    # T1-APR (closed Apr 30): escalation Jun 15 within 2 months; revenue Feb-Mar 100 -> May-Jun 90.
    # T1-JUL (closed Jul 31): second source Sep 10; May-Jun 90 -> Aug-Sep 50.
    # Not listed: C2-OCT (escalation Nov 5, but revenue rose 220 -> 230), T1-JAN (no eroding event
    # within 2 months), L1-NOV (after window not observed), C1 (no eroding event).
    assert set(listed) == {"T1-APR", "T1-JUL"}
    april, july = listed["T1-APR"], listed["T1-JUL"]
    assert (april["monthly_revenue_before"], april["monthly_revenue_after"]) == pytest.approx((100, 90))
    assert april["value_at_stake"] == pytest.approx(20)  # (100 - 90) x 2 months
    assert april["eroding_event_types"] == "escalated_over_buyer"
    assert july["monthly_revenue_change"] == pytest.approx(-40)
    assert july["value_at_stake"] == pytest.approx(80)
    assert (july["trust_eroding_events_after"], str(july["first_eroding_event_at"])) == (1, "2024-09-10")
    # Both judged against T1's own revenue before: they are not its first won deal (T1-JAN is).
    assert {row["baseline_kind"] for row in listed.values()} == {"own_revenue_before"}
    assert (april["monthly_revenue_baseline"], april["peer_accounts"], april["is_first_won_deal"]) == (100, None, False)


def test_first_won_deal_is_judged_against_peer_first_wins(tmp_path: Path) -> None:
    db_path = tmp_path / ".dealscope.build.duckdb"
    create_first_win_fixture(db_path)
    for command in ("run", "test"):  # test: the mart's own data tests and contract
        selection = "+won_deal_lost_customer" if command == "run" else "won_deal_lost_customer"
        run_dbt([command, "--select", selection, *EXCLUDE_ANALYTICS, "--vars", json.dumps(FIRST_WIN_VARS)],
                build_db=db_path, target_path=tmp_path / "target", log_path=tmp_path / "logs")
    listed = rows_by(db_path, "select * from main.won_deal_lost_customer", "deal_id")
    # P1 first won in March 2024 with no revenue before (Jan-Feb: 0), escalated over the buyer on
    # March 20 and then earned 50 a month in Apr-May. Its peers (smb, first win in 2024-Q1): P2 (Feb
    # close: Mar-Apr at 200) and P3 (Mar close: Apr-May at 100) -> baseline (200 + 100) / 2 = 150.
    # E1 (enterprise) has no peer in its quarter, so it is not judged; P2 and P3 had no eroding event.
    assert set(listed) == {"P1-FIRST"}
    first = listed["P1-FIRST"]
    assert (first["is_first_won_deal"], first["baseline_kind"], first["peer_accounts"]) == (True, "peer_first_wins", 2)
    assert (first["monthly_revenue_before"], first["monthly_revenue_after"]) == pytest.approx((0, 50))
    assert first["monthly_revenue_baseline"] == pytest.approx(150)
    assert first["monthly_revenue_change"] == pytest.approx(-100)
    assert first["value_at_stake"] == pytest.approx(200)  # (150 - 50) x 2 months


# ---------------------------------------------------------------- account_value and cohorts


def test_horizon_value_censoring_and_discounting(timeline_warehouse: Path) -> None:
    accounts = rows_by(timeline_warehouse, "select * from main.account_value", "account_id")
    # 3-month horizon from the first won deal's month, complete by December 2024.
    assert (accounts["T1"]["horizon_value"], accounts["T1"]["horizon_status"]) == (300, "observed")  # Jan-Mar 2024
    assert accounts["T2"]["horizon_value"] == pytest.approx(900)
    assert accounts["R1"]["horizon_value"] == pytest.approx(300)  # Jan-Mar 2022
    # L1 won in November 2024: Nov-Jan is not over -> censored, NULL, never 0.
    assert (accounts["L1"]["horizon_value"], accounts["L1"]["is_horizon_observed"], accounts["L1"]["horizon_status"]) == (
        None, False, "censored")
    assert (accounts["R2"]["horizon_value"], accounts["R2"]["horizon_status"]) == (None, "no_won_deal")
    # R1: 12 months of 100 then 12 of 150 from January 2022, discounted at 10% a year, monthly.
    expected_r1 = sum(100 * 1.1 ** (-k / 12) for k in range(12)) + sum(150 * 1.1 ** (-k / 12) for k in range(12, 24))
    assert accounts["R1"]["discounted_lifetime_value"] == pytest.approx(expected_r1)
    assert accounts["R1"]["lifetime_revenue"] == pytest.approx(3000)
    # Churned: revenue once, none in Oct-Dec 2024 (R1 ended 2023, R2 June 2024); L1 never had revenue.
    assert {key for key, row in accounts.items() if row["is_churned"]} == {"R1", "R2"}


def test_cohort_retention(timeline_warehouse: Path) -> None:
    cohorts = rows_by(timeline_warehouse, "select * from main.cohort_retention", "cohort_year", "years_since_start")
    # Cohort 2022: R1 (from Jan 2022: 1200, 1800, then 0) and R2 (from Jul 2022: 1200, 600; its
    # year 2 ends June 2025, not observed).
    assert cohorts[(2022, 0)]["accounts"] == 2
    assert cohorts[(2022, 0)]["net_revenue_retention"] == pytest.approx(1.0)
    year_one = cohorts[(2022, 1)]
    assert (year_one["accounts"], year_one["starting_revenue"], year_one["revenue"]) == (2, 2400, 2400)
    assert year_one["net_revenue_retention"] == pytest.approx(1.0)
    assert year_one["gross_revenue_retention"] == pytest.approx((1200 + 600) / 2400)  # R1's growth capped
    year_two = cohorts[(2022, 2)]
    assert (year_two["accounts"], year_two["starting_revenue"], year_two["revenue"]) == (1, 1200, 0)
    assert year_two["net_revenue_retention"] == 0
    # Accounts with revenue in year k, with Wilson intervals: year 1 both (2/2), year 2 R1 none (0/1).
    assert (year_one["accounts_retained"], year_one["account_retention"]) == (2, 1.0)
    assert (year_one["account_retention_ci_low"], year_one["account_retention_ci_high"]) == pytest.approx(wilson_interval(2, 2))
    assert (year_two["accounts_retained"], year_two["account_retention"]) == (0, 0.0)
    assert (year_two["account_retention_ci_low"], year_two["account_retention_ci_high"]) == pytest.approx(wilson_interval(0, 1))
    assert year_two["is_small_sample"] is True  # 1 account < min_closed_deals (30)
    # NRR 1: residuals 1800 - 1200 = 600 and 600 - 1200 = -600, se = sqrt(2/1 x 720,000) / 2400 = 0.5.
    half = WILSON_Z * 0.5
    assert (year_one["net_revenue_retention_ci_low"], year_one["net_revenue_retention_ci_high"]) == pytest.approx((1 - half, 1 + half))
    # GRR 0.75: capped 1200 and 600 -> residuals 300 and -300, se = sqrt(2 x 180,000) / 2400 = 0.25.
    half = WILSON_Z * 0.25
    assert (year_one["gross_revenue_retention_ci_low"], year_one["gross_revenue_retention_ci_high"]) == pytest.approx((0.75 - half, 0.75 + half))
    assert year_two["net_revenue_retention_ci_low"] is None  # one account: no interval
    # Cohort 2024 (T1, T2, C1, C2 from January 2024): year 0 observed, year 1 not yet.
    assert cohorts[(2024, 0)]["accounts"] == 4
    assert (2024, 1) not in cohorts


# ---------------------------------------------------------------- strategic fit


def test_strategic_fit_audit_and_band_outcomes(timeline_warehouse: Path) -> None:
    audit = rows_by(timeline_warehouse, "select * from main.strategic_fit_audit", "deal_id")
    # Plan: enterprise +1, smb -1. T1-JUL is smb (misaligned) and flagged; R1-DEC is enterprise
    # (aligned) and not flagged.
    assert {key: row["audit_finding"] for key, row in audit.items()} == {
        "T1-JUL": "strategic_in_name_only", "R1-DEC": "unflagged_aligned"}
    assert audit["T1-JUL"]["matched_avoids"] == "segment=smb"
    assert (audit["T1-JUL"]["list_amount"], audit["T1-JUL"]["final_amount"]) == (100, 60)

    bands = rows_by(timeline_warehouse, "select * from main.alignment_band_outcomes", "alignment_band")
    misaligned = bands["misaligned"]
    # 11 smb deals, all closed, 10 won (T1-AUG lost).
    assert (misaligned["deals"], misaligned["deals_closed"], misaligned["deals_won"]) == (11, 11, 10)
    assert (misaligned["win_rate_ci_low"], misaligned["win_rate_ci_high"]) == pytest.approx(
        wilson_interval(10, 11), abs=1e-12)
    # discounts of the 10 won deals: 0.2 (T1-APR), 0.4 (T1-JUL), 0.1 + 0.1 (C1), 0 for the rest.
    assert misaligned["avg_discount_pct"] == pytest.approx(0.08)
    # Later value: T1 300, T2 900, C1 300, C2 600 observed; L1 censored (counted, not averaged).
    assert (misaligned["accounts"], misaligned["accounts_horizon_observed"]) == (5, 4)
    assert misaligned["mean_later_account_value"] == pytest.approx(525)
    sd = math.sqrt((225**2 + 375**2 + 225**2 + 75**2) / 3)
    assert misaligned["mean_later_account_value_ci_low"] == pytest.approx(525 - WILSON_Z * sd / 2)
    assert str(misaligned["plan_effective_from"]) == "2021-01-01"
    assert bands["aligned"]["mean_later_account_value"] == pytest.approx(300)


# ---------------------------------------------------------------- competitors and moves


def test_competitor_response(timeline_warehouse: Path) -> None:
    (rival,) = query(timeline_warehouse, "select * from main.competitor_response")
    # First win against Rival in smb: T1-JAN closed 2024-01-20 (T1-APR is the second win).
    assert (rival["competitor"], rival["segment"], rival["wins_against"], str(rival["first_win_at"])) == (
        "Rival", "smb", 2, "2024-01-20")
    # smb deals created by then: the four January deals, one naming Rival. After: 7 deals, Rival on
    # T1-APR and T1-AUG.
    assert (rival["deals_before"], rival["appearances_before"]) == (4, 1)
    assert (rival["deals_after"], rival["appearances_after"]) == (7, 2)
    assert (rival["appearances_per_deal_after_ci_low"], rival["appearances_per_deal_after_ci_high"]) == pytest.approx(
        wilson_interval(2, 7), abs=1e-12)
    # Price cuts on Rival's deals: Jan 10 (before), Aug 10 (after): 1/1 and 1/2 per appearance.
    assert (rival["price_cuts_before"], rival["price_cuts_after"]) == (1, 1)
    assert rival["price_cuts_per_appearance_after"] == pytest.approx(0.5)
    assert rival["price_cuts_per_appearance_after_ci_high"] == pytest.approx((1 + WILSON_Z) / 2)
    assert rival["price_cuts_per_appearance_after_ci_low"] == 0  # floored


def test_move_precedents(timeline_warehouse: Path) -> None:
    moves = rows_by(timeline_warehouse, "select * from main.move_precedents", "move_kind", "move")
    # Escalation in June at T1 and T2 (C2's November one has no observed Dec-Jan window).
    # Jul-Aug: T2 joint planning (trust-building); T1 creates an expansion deal (T1-JUL).
    escalation = moves[("event_type", "escalated_over_buyer")]
    assert (escalation["accounts"], escalation["accounts_with_trust_building"], escalation["accounts_with_expansion"]) == (2, 1, 1)
    assert (escalation["share_with_trust_building_ci_low"], escalation["share_with_trust_building_ci_high"]) == pytest.approx(
        wilson_interval(1, 2), abs=1e-12)
    assert moves[("event_type", "joint_planning")]["accounts_with_trust_building"] == 0
    # Won deals by type, first month per account: new_business at T1, T2, C1, C2 (Jan 2024), R1
    # (Jan 2022); L1 (Nov 2024) not observed.
    assert moves[("deal_type", "new_business")]["accounts"] == 5
    assert moves[("deal_type", "renewal")]["accounts"] == 3  # T1 Apr, C1 May, C2 Oct
    # Baseline: account-months from the first deal's month whose next 2 months are observed:
    # T1, T2, C1, C2 Jan-Oct 2024 (40) + R1 Dec 2021-Oct 2024 (35) = 75; followed by a
    # trust-building event: T2 May, Jun (joint planning in July) = 2; by an expansion deal: T1 May, Jun = 2.
    assert escalation["baseline_account_months"] == 75
    assert escalation["baseline_share_with_trust_building"] == pytest.approx(2 / 75)
    assert escalation["baseline_share_with_expansion"] == pytest.approx(2 / 75)
    assert escalation["baseline_share_with_expansion_ci_high"] == pytest.approx(wilson_interval(2, 75)[1], abs=1e-12)


def test_new_marts_are_contract_tables_in_main(timeline_warehouse: Path) -> None:
    names = ["loss_drivers", "loss_drivers_by_quarter", "strategic_fit_audit", "alignment_band_outcomes",
             "trust_event_study", "escalation_paths", "won_deal_lost_customer", "cohort_retention",
             "competitor_response", "move_precedents"]
    tables = query(timeline_warehouse,
                   "select table_name from information_schema.tables where table_schema = 'main'")
    assert set(names) <= {row["table_name"] for row in tables}
