"""Real `dbt build` of dbt_project/ on a tiny raw schema, checked against hand-computed values.

The raw rows are in tests/dbt_fixtures.py; the expected numbers below are worked out from
them by hand (the reasoning is next to each assertion). dbt runs twice for the whole file:
once with the account_revenue file present, once without it (value derived from won deals)
and with var as_of_date pinned.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

from dbt_fixtures import (
    DBT_PROJECT_DIR,
    EXCLUDE_ANALYTICS,
    create_raw_fixture,
    query,
    run_dbt,
    wilson_interval,
)

# Named like the pipeline's build file (dealscope/settings.py).
BUILD_DB_NAME = ".dealscope.build.duckdb"


def rows_by(db_path: Path, sql: str, key: str) -> dict:
    return {row[key]: row for row in query(db_path, sql)}


@pytest.fixture(scope="module")
def warehouse_with_revenue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Full `dbt build` (models, data tests, unit tests) with the account_revenue file present."""
    work = tmp_path_factory.mktemp("dbt_with_revenue")
    db_path = work / BUILD_DB_NAME
    create_raw_fixture(db_path, with_account_revenue=True)
    run_dbt(["build", *EXCLUDE_ANALYTICS], build_db=db_path,
            target_path=work / "target", log_path=work / "logs")
    return db_path


@pytest.fixture(scope="module")
def warehouse_without_revenue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt run` of account_value and its parents without the account_revenue file, as of 2024-03-31."""
    work = tmp_path_factory.mktemp("dbt_without_revenue")
    db_path = work / BUILD_DB_NAME
    create_raw_fixture(db_path, with_account_revenue=False)
    # `run`, not `build`: the data tests already ran in the other fixture's build.
    run_dbt(["run", "--select", "+account_value", *EXCLUDE_ANALYTICS,
             "--vars", "{as_of_date: '2024-03-31'}"],
            build_db=db_path, target_path=work / "target", log_path=work / "logs")
    return db_path


# ---------------------------------------------------------------- fct_deals


def test_alignment_under_two_weighted_plan_versions(warehouse_with_revenue: Path) -> None:
    deals = rows_by(warehouse_with_revenue, "select * from main.fct_deals", "deal_id")
    assert len(deals) == 7
    # D1 created 2023-06-01, before the first plan (2024-01-01): no score, not 0.
    assert deals["D1"]["alignment_score"] is None
    assert deals["D1"]["alignment_band"] == "no_plan"
    assert deals["D1"]["plan_effective_from"] is None
    # v1 denominator: segment max(2, 1) + industry 1 + product_line 1 = 4.
    # D2 (enterprise +2, industry 'Retail' vs plan 'RETAIL' +1, 'Analytics' +1) = 4/4.
    assert deals["D2"]["alignment_score"] == pytest.approx(1.0)
    assert deals["D2"]["alignment_band"] == "aligned"
    assert str(deals["D2"]["plan_effective_from"]) == "2024-01-01"
    assert deals["D2"]["matched_targets"] == "industry=RETAIL; product_line=Analytics; segment=enterprise"
    assert deals["D2"]["matched_avoids"] is None
    # D3 (smb avoided -1, nothing else named) = -1/4.
    assert deals["D3"]["alignment_score"] == pytest.approx(-0.25)
    assert deals["D3"]["matched_avoids"] == "segment=smb"
    # v2 from 2024-07-01, denominator: region max(3, 1) + deal_type 1 = 4; segment no longer named.
    # D4 created on the effective date: region 'NA' avoided -3, new_business +1 -> -2/4.
    assert deals["D4"]["alignment_score"] == pytest.approx(-0.5)
    assert str(deals["D4"]["plan_effective_from"]) == "2024-07-01"
    # D5 enterprise (target in v1 only) in NA, renewal: -3/4.
    assert deals["D5"]["alignment_score"] == pytest.approx(-0.75)
    # D6 EMEA +1, expansion unnamed: 1/4 -> partial.
    assert deals["D6"]["alignment_score"] == pytest.approx(0.25)
    assert deals["D6"]["alignment_band"] == "partial"
    # Flagged strategic: D2 (aligned) and D3 (misaligned -> strategic in name only).
    assert deals["D3"]["is_strategic_in_name_only"] is True
    assert deals["D2"]["is_strategic_in_name_only"] is False


def test_alignment_agrees_with_the_generators_implementation(warehouse_with_revenue: Path) -> None:
    """Same scores as dealscope.sample.alignment, an independent (pandas) reading of the contract."""
    from dealscope.sample.alignment import strategic_alignment

    with duckdb.connect(str(warehouse_with_revenue), read_only=True) as con:
        deals = con.execute(
            "select d.deal_id, d.created_at, a.segment, a.industry, a.region, d.product_line, d.deal_type, "
            "f.alignment_score from raw.deals d join raw.accounts a using (account_id) "
            "join main.fct_deals f using (deal_id) order by d.deal_id").df()
        plan = con.execute("select effective_from, dimension, value, stance, weight from raw.strategy_plan").df()
    expected = strategic_alignment(deals, plan)
    assert deals["alignment_score"].isna().tolist() == expected.isna().tolist()
    assert deals["alignment_score"].dropna().tolist() == pytest.approx(expected.dropna().tolist())


def test_deal_measures(warehouse_with_revenue: Path) -> None:
    deals = rows_by(warehouse_with_revenue, "select * from main.fct_deals", "deal_id")
    # 1 - 800/1000, 1 - 1500/2000, 1 - 1000/1000; list 0 (D7) and not won (D3, D6) -> NULL.
    assert deals["D1"]["discount_pct"] == pytest.approx(0.2)
    assert deals["D2"]["discount_pct"] == pytest.approx(0.25)
    assert deals["D4"]["discount_pct"] == pytest.approx(0.0)
    assert deals["D7"]["discount_pct"] is None
    assert deals["D3"]["discount_pct"] is None
    # 2023-06-01 -> 2023-09-15 = 29+1 + 31 + 31 + 14 = 106 days; 2024-02-10 -> 2024-03-20 (leap year) = 39.
    assert deals["D1"]["cycle_days"] == 106
    assert deals["D2"]["cycle_days"] == 39
    assert deals["D4"]["cycle_days"] == 71
    assert deals["D6"]["cycle_days"] is None
    assert deals["D1"]["close_quarter"] == "2023-Q3"
    assert deals["D7"]["close_quarter"] == "2024-Q4"
    assert deals["D6"]["close_quarter"] is None
    # Events count on a deal only when they name it: E1, E2 on D2; E3 on D3; E4 is account-level.
    assert (deals["D2"]["trust_building_events"], deals["D2"]["trust_eroding_events"]) == (2, 0)
    assert (deals["D3"]["trust_building_events"], deals["D3"]["trust_eroding_events"]) == (0, 1)


# ---------------------------------------------------------------- win_loss


def test_win_loss_cells_and_wilson_interval(warehouse_with_revenue: Path) -> None:
    cells = {
        (row["dimension"], row["value"]): row
        for row in query(warehouse_with_revenue, "select * from main.win_loss")
    }
    # Closed deals: D1, D2, D4, D7 won; D3, D5 lost; D6 open is left out.
    overall = cells[("overall", "all")]
    assert (overall["deals_closed"], overall["deals_won"], overall["deals_lost"]) == (6, 4, 2)
    assert overall["win_rate"] == pytest.approx(4 / 6)
    low, high = wilson_interval(4, 6)
    assert overall["win_rate_ci_low"] == pytest.approx(low, abs=1e-12)
    assert overall["win_rate_ci_high"] == pytest.approx(high, abs=1e-12)
    # Published value for 4/6: (0.300, 0.903).
    assert (round(overall["win_rate_ci_low"], 3), round(overall["win_rate_ci_high"], 3)) == (0.300, 0.903)
    # value_won = 800 + 1500 + 1000 + 0 (final); value_lost = 3000 + 500 (list).
    assert overall["value_won"] == pytest.approx(3300)
    assert overall["value_lost"] == pytest.approx(3500)
    assert overall["is_small_sample"] is True

    enterprise = cells[("segment", "enterprise")]  # D1, D2, D7 won; D5 lost
    assert (enterprise["deals_won"], enterprise["deals_closed"]) == (3, 4)
    assert (enterprise["win_rate_ci_low"], enterprise["win_rate_ci_high"]) == pytest.approx(
        wilson_interval(3, 4), abs=1e-12)

    acme = cells[("competitor", "Acme")]  # D3, D5: both lost
    assert (acme["deals_won"], acme["win_rate"], acme["win_rate_ci_low"]) == (0, 0.0, 0.0)
    assert acme["win_rate_ci_high"] == pytest.approx(wilson_interval(0, 2)[1], abs=1e-12)
    assert cells[("competitor", "none")]["deals_closed"] == 4

    assert cells[("alignment_band", "no_plan")]["deals_closed"] == 1  # D1: counted, not as 0
    misaligned = cells[("alignment_band", "misaligned")]  # D3 lost, D4 won, D5 lost, D7 won
    assert (misaligned["deals_won"], misaligned["deals_closed"]) == (2, 4)
    assert cells[("flagged_strategic", "true")]["deals_closed"] == 2
    assert cells[("close_quarter", "2024-Q3")]["deals_won"] == 1  # D4 won, D5 lost
    assert cells[("owner", "unknown")]["deals_closed"] == 1  # D5 has no owner


# ---------------------------------------------------------------- account_value


def test_account_value_with_revenue_file(warehouse_with_revenue: Path) -> None:
    accounts = rows_by(warehouse_with_revenue, "select * from main.account_value", "account_id")
    assert set(accounts) == {"A1", "A2", "A3", "A4"}
    # As of the latest date in the data: D7 closed 2024-11-15; active window Sep-Nov 2024.
    assert {str(row["as_of_date"]) for row in accounts.values()} == {"2024-11-15"}
    a1 = accounts["A1"]
    assert str(a1["first_deal_at"]) == "2023-06-01"
    assert a1["tenure_months"] == 17  # Jun 2023 -> Nov 2024
    assert (a1["deals_total"], a1["deals_won"]) == (3, 2)
    assert a1["lifetime_revenue"] == pytest.approx(300)
    assert a1["lifetime_gross_margin"] == pytest.approx(90)
    assert a1["mean_alignment"] == pytest.approx((1.0 + 0.25) / 2)  # D1 has no score
    assert a1["is_active"] is True
    assert a1["value_source"] == "account_revenue"
    a2 = accounts["A2"]
    assert (a2["lifetime_revenue"], a2["lifetime_gross_margin"]) == pytest.approx((50, -10))
    assert a2["is_active"] is False  # only March 2024
    assert a2["trust_eroding_events"] == 2  # E3 on a deal + E4 at the account
    # A3 has no deals, no revenue, no events.
    a3 = accounts["A3"]
    assert a3["first_deal_at"] is None and a3["tenure_months"] is None
    assert a3["mean_alignment"] is None
    assert (a3["deals_won"], a3["lifetime_revenue"], a3["lifetime_gross_margin"]) == (0, 0.0, 0.0)
    assert (a3["trust_eroding_events"], a3["trust_building_events"], a3["is_active"]) == (0, 0, False)
    assert a3["value_source"] == "account_revenue"


def test_account_value_falls_back_to_won_deals(warehouse_without_revenue: Path) -> None:
    accounts = rows_by(warehouse_without_revenue, "select * from main.account_value", "account_id")
    assert {row["value_source"] for row in accounts.values()} == {"won_deals"}
    # A1: D1 800 x 0.5 (Sep 2023) + D2 1500 x 0.4 (Mar 2024).
    assert accounts["A1"]["lifetime_revenue"] == pytest.approx(2300)
    assert accounts["A1"]["lifetime_gross_margin"] == pytest.approx(1000)
    # A2: D4 1000 with no gross_margin_pct: revenue counts, margin stays 0.
    assert accounts["A2"]["lifetime_revenue"] == pytest.approx(1000)
    assert accounts["A2"]["lifetime_gross_margin"] == pytest.approx(0)
    # Pinned as of 2024-03-31: window Jan-Mar 2024; A1 has March, A2's September is after it.
    assert {str(row["as_of_date"]) for row in accounts.values()} == {"2024-03-31"}
    assert accounts["A1"]["is_active"] is True
    assert accounts["A2"]["is_active"] is False
    assert accounts["A1"]["tenure_months"] == 9  # Jun 2023 -> Mar 2024
    monthly = query(warehouse_without_revenue,
                    "select account_id, cast(month as varchar) as month, value_source "
                    "from intermediate.int_account_monthly_value order by 1, 2")
    assert [(row["account_id"], row["month"]) for row in monthly] == [
        ("A1", "2023-09-01"), ("A1", "2024-03-01"), ("A2", "2024-09-01"), ("A4", "2024-11-01")]
    assert query(warehouse_without_revenue,
                 "select as_of_source from intermediate.int_as_of_date") == [{"as_of_source": "var"}]


# ---------------------------------------------------------------- schemas and manifest


def test_marts_live_in_main_with_enforced_types(warehouse_with_revenue: Path) -> None:
    tables = query(warehouse_with_revenue,
                   "select table_schema, table_name from information_schema.tables "
                   "where table_name in ('fct_deals', 'win_loss', 'account_value', "
                   "'int_deal_alignment', 'stg_deals')")
    assert {(row["table_schema"], row["table_name"]) for row in tables} == {
        ("main", "fct_deals"), ("main", "win_loss"), ("main", "account_value"),
        ("intermediate", "int_deal_alignment"), ("staging", "stg_deals")}
    types = rows_by(warehouse_with_revenue,
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'main' and table_name = 'win_loss'", "column_name")
    assert types["win_rate_ci_low"]["data_type"] == "DOUBLE"
    assert types["deals_closed"]["data_type"] == "BIGINT"


def test_dbt_parse_writes_the_manifest_dagster_loads(tmp_path: Path) -> None:
    # The build file's name gives dbt its database name ("dealscope"), recorded in the manifest.
    run_dbt(["parse"], build_db=tmp_path / BUILD_DB_NAME, log_path=tmp_path / "logs")
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    models = {node["name"] for node in manifest["nodes"].values()
              if node["resource_type"] == "model"}
    assert {"fct_deals", "win_loss", "account_value", "int_deal_alignment",
            "stg_negotiation_events"} <= models
    sources = {(source["source_name"], source["name"]) for source in manifest["sources"].values()}
    assert ("raw", "load_summary") in sources and ("raw", "event_types") in sources
    fct_deals = manifest["nodes"]["model.dealscope.fct_deals"]
    assert fct_deals["config"]["contract"]["enforced"] is True
    assert (fct_deals["database"], fct_deals["schema"]) == ("dealscope", "main")


# ---------------------------------------------------------------- metric marts on this fixture


def test_win_loss_depth_velocity_and_comparison_with_overall(warehouse_with_revenue: Path) -> None:
    from scipy.stats import norm

    cells = {(row["dimension"], row["value"]): row
             for row in query(warehouse_with_revenue, "select * from main.win_loss")}
    overall = cells[("overall", "all")]
    # List value won (1000 + 2000 + 1000 + 0) / list value closed (+ 3000 + 500).
    assert overall["value_win_rate"] == pytest.approx(4000 / 7500)
    # Discounts of won deals: 0.2, 0.25, 0 (D7 has list 0: no discount).
    assert overall["avg_discount_pct"] == pytest.approx(0.15)
    # Cycles 39, 45, 46, 61, 71, 106 -> median (46 + 61) / 2.
    assert overall["median_cycle_days"] == pytest.approx(53.5)
    # 6 closed x 4/6 x (3300 / 4) / 53.5 = value won per cycle day.
    assert overall["deal_velocity"] == pytest.approx(3300 / 53.5)
    assert (overall["win_rate_diff_vs_overall"], overall["diff_z"], overall["diff_p_value"]) == (0, None, None)

    # enterprise 3/4 vs the rest (smb) 1/2, pooled p = 4/6.
    enterprise, smb = cells[("segment", "enterprise")], cells[("segment", "smb")]
    z = (3 / 4 - 1 / 2) / math.sqrt((4 / 6) * (2 / 6) * (1 / 4 + 1 / 2))
    assert enterprise["diff_z"] == pytest.approx(z)
    assert smb["diff_z"] == pytest.approx(-z)
    assert enterprise["diff_p_value"] == pytest.approx(2 * norm.sf(z), abs=2e-7)
    assert enterprise["win_rate_diff_vs_overall"] == pytest.approx(3 / 4 - 4 / 6)
    # Not significant: nothing of the gap is assured; the tie is broken by z.
    assert (enterprise["assured_diff_vs_overall"], smb["assured_diff_vs_overall"]) == (0, 0)
    assert (enterprise["strength_rank"], smb["strength_rank"]) == (1, 2)
    assert enterprise["median_cycle_days"] == pytest.approx(45.5)  # 39, 45, 46, 106
    assert cells[("competitor", "Acme")]["deal_velocity"] is None  # no win


def test_normal_cdf_macro_against_scipy(warehouse_with_revenue: Path) -> None:
    """diff_p_value over every cell equals scipy's two-sided normal p-value of diff_z."""
    from scipy.stats import norm

    rows = query(warehouse_with_revenue,
                 "select diff_z, diff_p_value from main.win_loss where diff_z is not null")
    assert rows
    for row in rows:
        assert row["diff_p_value"] == pytest.approx(2 * norm.sf(abs(row["diff_z"])), abs=2e-7)  # A&S 26.2.17: 7.5e-8 per tail


def test_loss_drivers_ranked_by_expected_value_lost(warehouse_with_revenue: Path) -> None:
    drivers = rows_by(warehouse_with_revenue,
                      "select driver_kind || ':' || driver as key, * from main.loss_drivers", "key")
    # Lost: D3 (Acme, price, smb, list 3000, 2024-Q2) and D5 (Acme, timing, enterprise, list 500, 2024-Q3).
    assert set(drivers) == {"loss_reason:price", "loss_reason:timing", "competitor:Acme"}
    price = drivers["loss_reason:price"]
    assert (price["deals_lost"], price["value_lost"], price["rank"], price["list_value_rank"]) == (1, 3000, 1, 1)
    assert price["share_of_value_lost"] == pytest.approx(3000 / 3500)
    # Typical discount = median discount of the segment's won deals: smb D4 (0) -> 0;
    # enterprise D1 0.2, D2 0.25 (D7 has list 0: no discount) -> 0.225. No final amount is given.
    assert price["expected_value_lost"] == pytest.approx(3000)
    timing = drivers["loss_reason:timing"]
    assert timing["expected_value_lost"] == pytest.approx(500 * (1 - 0.225))
    assert (timing["rank"], timing["list_value_rank"]) == (2, 2)
    acme = drivers["competitor:Acme"]
    assert (acme["deals_lost"], acme["value_lost"], acme["share_of_value_lost"]) == (2, 3500, 1.0)
    assert acme["expected_value_lost"] == pytest.approx(3000 + 387.5)
    assert price["share_of_expected_value_lost"] == pytest.approx(3000 / 3387.5)
    by_quarter = {(row["driver"], row["close_quarter"]): (row["value_lost"], row["expected_value_lost"]) for row in query(
        warehouse_with_revenue, "select * from main.loss_drivers_by_quarter where driver_kind = 'competitor'")}
    assert by_quarter == {("Acme", "2024-Q2"): (3000, 3000), ("Acme", "2024-Q3"): (500, 387.5)}


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Reference BH q-values, written independently of the SQL: sort, scale by m / rank, take the
    running minimum from the largest p down, cap at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for position in range(m - 1, -1, -1):
        index = order[position]
        running = min(running, p_values[index] * m / (position + 1))
        q[index] = running
    return q


def test_benjamini_hochberg_reference_by_hand() -> None:
    # p = 0.01, 0.04, 0.03, 0.20 (m = 4): sorted 0.01, 0.03, 0.04, 0.20 -> scaled 0.04, 0.06,
    # 0.0533, 0.20 -> running minimum from the top: 0.04, 0.0533, 0.0533, 0.20.
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_win_loss_flags_only_cells_that_survive_fdr_control(warehouse_with_revenue: Path) -> None:
    rows = query(warehouse_with_revenue, "select * from main.win_loss")
    tested = [row for row in rows if row["diff_p_value"] is not None]
    # Every cell but the overall row and the single-value dimensions (e.g. owner_team absent).
    assert len(tested) == rows[0]["cells_tested"] and len(tested) > 10
    assert {row["cells_tested"] for row in rows} == {len(tested)}
    assert rows[0]["flags_expected_by_chance_uncorrected"] == pytest.approx(0.05 * len(tested))
    expected_q = benjamini_hochberg([row["diff_p_value"] for row in tested])
    for row, q in zip(tested, expected_q):
        assert row["q_value"] == pytest.approx(q, abs=1e-12), (row["dimension"], row["value"])
        assert row["is_strength"] == (q < 0.05 and row["win_rate_diff_vs_overall"] > 0)
        assert row["is_weakness"] == (q < 0.05 and row["win_rate_diff_vs_overall"] < 0)
    overall = next(row for row in rows if row["dimension"] == "overall")
    assert (overall["q_value"], overall["is_strength"], overall["is_weakness"]) == (None, False, False)
    # Complementary cells (enterprise vs smb) share |z|, so p, and hence q: ties handled as in BH.
    cells = {(row["dimension"], row["value"]): row for row in rows}
    assert cells[("segment", "enterprise")]["q_value"] == cells[("segment", "smb")]["q_value"]


def test_win_loss_t_intervals_of_discount_cycle_value_and_margin(warehouse_with_revenue: Path) -> None:
    from scipy.stats import t

    overall = next(row for row in query(warehouse_with_revenue, "select * from main.win_loss")
                   if row["dimension"] == "overall")

    def interval(values: list[float]) -> tuple[float, float]:
        n = len(values)
        mean = sum(values) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        return mean - half, mean + half

    # Won deals' discounts 0.2, 0.25, 0 (D7 has list 0); cycles of the six closed deals; won final
    # amounts 800, 1500, 1000, 0; won margins 0.5, 0.4, 0.3 (D4 has none).
    for column, values in [("avg_discount_pct", [0.2, 0.25, 0.0]),
                           ("mean_cycle_days", [39, 45, 46, 61, 71, 106]),
                           ("avg_won_value", [800, 1500, 1000, 0]),
                           ("avg_gross_margin_pct", [0.5, 0.4, 0.3])]:
        assert overall[column] == pytest.approx(sum(values) / len(values)), column
        # The macro's t quantiles carry 6 decimals.
        bounds = (overall[f"{column}_ci_low"], overall[f"{column}_ci_high"])
        assert bounds == pytest.approx(interval(values), rel=1e-6), column
    # No interval below two observations.
    quarters = rows_by(warehouse_with_revenue, "select * from main.win_loss where dimension = 'close_quarter'", "value")
    single = quarters["2024-Q1"]  # D2 only (closed 2024-03-20)
    assert single["deals_closed"] == 1
    assert (single["mean_cycle_days_ci_low"], single["avg_discount_pct_ci_low"]) == (None, None)


def test_strategic_in_name_only_audit(warehouse_with_revenue: Path) -> None:
    audit = query(warehouse_with_revenue, "select * from main.strategic_fit_audit")
    # Only D3 is flagged and misaligned; the one aligned deal (D2) is flagged.
    assert [(row["deal_id"], row["audit_finding"]) for row in audit] == [("D3", "strategic_in_name_only")]
    assert audit[0]["alignment_score"] == pytest.approx(-0.25)


def test_account_value_discounting_and_censoring(warehouse_with_revenue: Path) -> None:
    accounts = rows_by(warehouse_with_revenue, "select * from main.account_value", "account_id")
    # A1: 100 in September 2024 (first revenue month) and 200 two months later.
    assert accounts["A1"]["discounted_lifetime_value"] == pytest.approx(100 + 200 * 1.1 ** (-2 / 12))
    assert accounts["A1"]["discounted_lifetime_gross_margin"] == pytest.approx(40 + 50 * 1.1 ** (-2 / 12))
    # The 36-month horizon after a 2023/2024 first win is not over by 2024-11-15: censored, NULL.
    assert {row["horizon_status"] for key, row in accounts.items() if key != "A3"} == {"censored"}
    assert all(row["horizon_value"] is None for row in accounts.values())
    assert accounts["A3"]["horizon_status"] == "no_won_deal"
    # A2 had revenue in March 2024 only: churned; A3 never had revenue: not churned.
    assert (accounts["A2"]["is_churned"], accounts["A3"]["is_churned"], accounts["A1"]["is_churned"]) == (True, False, False)
