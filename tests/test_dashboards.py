"""The dashboards package against a small hand-made warehouse written with SQL.

The fixture holds every table the pages read (contract section 3 columns, the metric
stage's marts under their issue-3 names, and statistics results found by name prefix),
a confidential note planted wherever a careless page could leak it (event notes, the
rejected record and detail, a `notes` column on a mart), and a hostile category label
to check escaping.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboards import build_site, figures, pages, reads, site, text

SECRET_NOTE = "CONFIDENTIAL-buyer-said-budget-is-42k"
HOSTILE_LABEL = "<b>Acme & Co</b>"

WAREHOUSE_SQL = """
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE main.win_loss AS SELECT * FROM (VALUES
    ('overall',   'all',        40, 26, 14, 0.65,  0.4983, 0.7767, 1250000.0, 610000.0, false),
    ('segment',   'enterprise', 20, 15,  5, 0.75,  0.5313, 0.8881,  900000.0, 300000.0, false),
    ('segment',   'mid_market', 16,  9,  7, 0.5625,0.3323, 0.7690,  300000.0, 250000.0, false),
    ('segment',   'smb',         4,  2,  2, 0.5,   0.1500, 0.8500,   50000.0,  60000.0, true),
    ('deal_type', 'new_business',25, 14, 11, 0.56, 0.3707, 0.7327,  700000.0, 400000.0, false),
    ('deal_type', 'renewal',    15, 12,  3, 0.80,  0.5481, 0.9295,  550000.0, 210000.0, false),
    ('competitor', NULL,        30, 21,  9, 0.70,  0.5212, 0.8333, 1000000.0, 300000.0, false),
    ('competitor', 'Globex',    10,  5,  5, 0.50,  0.2366, 0.7634,  250000.0, 310000.0, true),
    ('competitor', '<b>Acme & Co</b>', 0, 0, 0, NULL, NULL, NULL,          0.0,      0.0, true)
) AS t(dimension, value, deals_closed, deals_won, deals_lost, win_rate, win_rate_ci_low,
       win_rate_ci_high, value_won, value_lost, is_small_sample);

CREATE TABLE main.fct_deals AS SELECT
    'D' || lpad(i::VARCHAR, 3, '0') AS deal_id,
    'A' || (i % 8)::VARCHAR AS account_id,
    CASE WHEN i % 5 = 0 THEN 'open' WHEN i % 3 = 0 THEN 'lost' ELSE 'won' END AS stage,
    (i % 5 <> 0 AND i % 3 <> 0) AS is_won,
    DATE '2022-01-03' + INTERVAL (i * 9) DAY AS created_at,
    CASE WHEN i % 5 = 0 THEN NULL ELSE DATE '2022-02-14' + INTERVAL (i * 9) DAY END AS closed_at,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 42 END AS cycle_days,
    10000.0 * i AS list_amount,
    CASE WHEN i % 5 <> 0 AND i % 3 <> 0 THEN 9000.0 * i END AS final_amount,
    CASE WHEN i % 5 <> 0 AND i % 3 <> 0 THEN 0.1 END AS discount_pct,
    ((i % 7) - 3) / 3.0 AS alignment_score,
    CASE WHEN ((i % 7) - 3) / 3.0 >= 0.5 THEN 'aligned'
         WHEN ((i % 7) - 3) / 3.0 >= 0 THEN 'partial' ELSE 'misaligned' END AS alignment_band,
    (i % 4 = 0) AS flagged_strategic,
    (i % 4 = 0 AND ((i % 7) - 3) / 3.0 < 0) AS is_strategic_in_name_only,
    i % 3 AS trust_eroding_events,
    i % 2 AS trust_building_events,
    CASE WHEN i % 4 = 1 THEN 'Globex' END AS competitor,
    CASE WHEN i % 3 = 0 THEN 'enterprise' ELSE 'smb' END AS segment,
    '2022-Q' || (1 + (i % 4))::VARCHAR AS close_quarter
FROM range(1, 41) AS r(i);

CREATE TABLE main.account_value AS SELECT
    'A' || i::VARCHAR AS account_id,
    CASE i % 3 WHEN 0 THEN 'enterprise' WHEN 1 THEN 'mid_market' ELSE 'smb' END AS segment,
    DATE '2022-01-03' + INTERVAL (i * 20) DAY AS first_deal_at,
    24 - i AS tenure_months,
    i % 4 AS deals_won,
    50000.0 * i AS lifetime_revenue,
    12500.0 * i - 20000.0 AS lifetime_gross_margin,
    i % 3 AS trust_eroding_events,
    i % 2 AS trust_building_events,
    CASE WHEN i = 7 THEN NULL ELSE (i - 3.5) / 4.0 END AS mean_alignment,
    i % 2 = 0 AS is_active,
    $value_source AS value_source
FROM range(0, 8) AS r(i);

CREATE TABLE main.hypothesis_tests AS SELECT * FROM (VALUES
    ('strategic_alignment', 'adjusted_effect', 'alignment', 0.123, 0.051, 0.195, 0.004, 0.008, 120,
     'double ML, cross-fitted', true, 'share of lifetime gross margin per +1 alignment'),
    ('trust_eroding_events', 'adjusted_effect', 'trust_eroding', -1830.5, -4211.0, 550.0, 0.137,
     0.137, 120, 'double ML, cross-fitted', false, 'gross margin per event'),
    ('strategic_alignment', 'predictive_value', 'alignment', 0.012, -0.004, 0.028, 0.071, NULL, 120,
     'corrected resampled t-test', false, 'out-of-fold R2 added over the baseline')
) AS t(hypothesis, test, feature_block, estimate, ci_low, ci_high, p_value, p_value_holm,
       n_accounts, method, supported, unit);

CREATE TABLE main.rejected_rows AS SELECT * FROM (VALUES
    ('deals', 'deals.csv', 3, '{"deal_id": "D900"}', 'bad_date:closed_at',
     'closed_at "2023-13-01" is not a date', TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('deals', 'deals.csv', 7, '{"deal_id": "D901"}', 'unknown_account',
     'account A99 is not among the loaded accounts', TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('deals', 'deals.csv', 8, '{"deal_id": "D902"}', 'unknown_account',
     'account A98 is not among the loaded accounts', TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('negotiation_events', 'negotiation_events.csv', 2,
     '{"event_id": "E9", "notes": "$secret"}', 'bad_date:occurred_at',
     'occurred_at "yesterday" is not a date; notes: $secret', TIMESTAMPTZ '2024-05-01 10:00:00+00')
) AS t(source, source_file, row_number, record, reason, detail, loaded_at);

CREATE TABLE raw.load_summary AS SELECT * FROM (VALUES
    ('accounts', 'accounts.csv', true, 8, 8, 0, TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('deals', 'deals.csv', true, 43, 40, 3, TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('negotiation_events', 'negotiation_events.csv', true, 11, 10, 1,
     TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('account_revenue', NULL, false, 0, 0, 0, TIMESTAMPTZ '2024-05-01 10:00:00+00'),
    ('strategy_plan', 'strategy_plan.csv', true, 5, 5, 0, TIMESTAMPTZ '2024-05-01 10:00:00+00')
) AS t(source, source_file, file_present, rows_read, rows_loaded, rows_rejected, loaded_at);

-- The metric stage's extra win_loss columns and tables (issue 3 names).
INSERT INTO main.win_loss VALUES
    ('close_quarter', '2022-Q1', 10, 6, 4, 0.6, 0.3127, 0.8318, 300000.0, 150000.0, true),
    ('close_quarter', '2022-Q2', 12, 9, 3, 0.75, 0.4677, 0.9111, 400000.0, 120000.0, true),
    ('close_quarter', '2022-Q3', 9, 5, 4, 0.5556, 0.2667, 0.8112, 250000.0, 180000.0, true),
    ('close_quarter', '2022-Q4', 9, 6, 3, 0.6667, 0.3542, 0.8794, 300000.0, 160000.0, true);
ALTER TABLE main.win_loss ADD COLUMN win_rate_diff_vs_overall DOUBLE;
ALTER TABLE main.win_loss ADD COLUMN diff_p_value DOUBLE;
ALTER TABLE main.win_loss ADD COLUMN strength_rank BIGINT;
UPDATE main.win_loss SET win_rate_diff_vs_overall = win_rate - 0.65,
    diff_p_value = CASE value WHEN 'enterprise' THEN 0.02 WHEN 'renewal' THEN 0.03
                              WHEN 'mid_market' THEN 0.04 WHEN 'Globex' THEN 0.01 ELSE 0.5 END
WHERE dimension <> 'overall' AND win_rate IS NOT NULL;
UPDATE main.win_loss SET strength_rank = ranked.strength_rank FROM (
    SELECT dimension, value, row_number() OVER (ORDER BY win_rate_diff_vs_overall DESC) AS strength_rank
    FROM main.win_loss WHERE win_rate_diff_vs_overall IS NOT NULL
) AS ranked
WHERE win_loss.dimension = ranked.dimension AND win_loss.value IS NOT DISTINCT FROM ranked.value;

CREATE TABLE main.loss_drivers AS SELECT * FROM (VALUES
    ('loss_reason', 'price', 6, 410000.0, 0.6721, 1),
    ('loss_reason', 'missing feature', 5, 150000.0, 0.2459, 2),
    ('loss_reason', 'timing', 3, 50000.0, 0.0820, 3),
    ('competitor', 'Globex', 5, 310000.0, 0.5082, 1),
    ('competitor', '<b>Acme & Co</b>', 2, 90000.0, 0.1475, 2)
) AS t(driver_kind, driver, deals_lost, value_lost, share_of_value_lost, rank);

CREATE TABLE main.loss_drivers_by_quarter AS SELECT * FROM (VALUES
    ('loss_reason', 'price', '2022-Q1', 2, 120000.0), ('loss_reason', 'price', '2022-Q2', 4, 290000.0),
    ('loss_reason', 'timing', '2022-Q1', 3, 50000.0), ('competitor', 'Globex', '2022-Q3', 5, 310000.0)
) AS t(driver_kind, driver, close_quarter, deals_lost, value_lost);

CREATE TABLE main.strategic_fit_audit AS SELECT
    CASE WHEN is_strategic_in_name_only THEN 'strategic_in_name_only' ELSE 'unflagged_aligned' END
        AS audit_finding,
    deal_id, account_id, 'owner ' || (row_number() OVER (ORDER BY deal_id) % 2)::VARCHAR AS owner,
    stage, created_at::DATE AS created_at, alignment_score, alignment_band,
    'segment=enterprise' AS matched_targets, 'region=apac' AS matched_avoids,
    list_amount, final_amount, segment
FROM main.fct_deals
WHERE is_strategic_in_name_only OR (NOT flagged_strategic AND alignment_band = 'aligned');

CREATE TABLE main.alignment_band_outcomes AS SELECT * FROM (VALUES
    (DATE '2022-01-01', 'misaligned', 12, 10, 0.4, 0.1682, 0.6873, 0.18, 21000.0),
    (DATE '2022-01-01', 'partial', 15, 12, 0.5833, 0.3195, 0.8067, 0.12, 34000.0),
    (DATE '2022-01-01', 'aligned', 13, 11, 0.7273, 0.4343, 0.9025, 0.08, 52000.0),
    (DATE '2022-07-01', 'misaligned', 8, 7, 0.2857, 0.0822, 0.6411, 0.21, 18000.0),
    (DATE '2022-07-01', 'aligned', 9, 8, 0.875, 0.5291, 0.9776, 0.06, 61000.0),
    (NULL, 'no_plan', 6, 5, 0.6, 0.2307, 0.8824, 0.1, 30000.0)
) AS t(plan_effective_from, alignment_band, deals, deals_closed, win_rate, win_rate_ci_low,
       win_rate_ci_high, avg_discount_pct, mean_later_account_value);
INSERT INTO main.win_loss (dimension, value, deals_closed, deals_won, deals_lost, win_rate,
    win_rate_ci_low, win_rate_ci_high, value_won, value_lost, is_small_sample) VALUES
    ('alignment_band', 'aligned', 11, 8, 3, 0.7273, 0.4343, 0.9025, 500000.0, 100000.0, true),
    ('alignment_band', 'misaligned', 10, 4, 6, 0.4, 0.1682, 0.6873, 200000.0, 300000.0, true);

CREATE TABLE main.trust_event_study AS SELECT * FROM (VALUES
    ('escalated_over_buyer', 'trust_eroding', 'gross_margin_pct', 'before', 14, 0.31, 120, 0.30, -0.035, -0.061, -0.009, 6),
    ('escalated_over_buyer', 'trust_eroding', 'gross_margin_pct', 'after', 14, 0.275, 120, 0.30, -0.035, -0.061, -0.009, 6),
    ('escalated_over_buyer', 'trust_eroding', 'win_rate', 'before', 14, 0.62, 120, 0.6, -0.13, -0.29, 0.03, 6),
    ('escalated_over_buyer', 'trust_eroding', 'win_rate', 'after', 14, 0.49, 120, 0.6, -0.13, -0.29, 0.03, 6),
    ('joint_planning', 'trust_building', 'gross_margin_pct', 'before', 22, 0.29, 120, 0.30, 0.008, -0.011, 0.027, 6),
    ('joint_planning', 'trust_building', 'gross_margin_pct', 'after', 22, 0.298, 120, 0.30, 0.008, -0.011, 0.027, 6),
    ('joint_planning', 'trust_building', 'win_rate', 'before', 22, 0.6, 120, 0.6, 0.04, -0.08, 0.16, 6),
    ('joint_planning', 'trust_building', 'win_rate', 'after', 22, 0.64, 120, 0.6, 0.04, -0.08, 0.16, 6)
) AS t(event_type, polarity, metric, "window", treated_accounts, treated_value, comparison_accounts,
       comparison_value, difference_in_differences, ci_low, ci_high, window_months);

CREATE TABLE main.escalation_paths AS SELECT * FROM (VALUES
    ('all_escalated', 14, 9, 0.6429, 0.3876, 0.8366, 6, 0.4286, 0.2138, 0.6741, 3.1, 12, 0.31, 0.26, -0.05, 2),
    ('with_takeover', 9, 9, 1.0, 0.7008, 1.0, 6, 0.6667, 0.3542, 0.8794, 2.8, 8, 0.31, 0.24, -0.07, 2),
    ('without_takeover', 5, 0, 0.0, 0.0, 0.4345, 0, 0.0, 0.0, 0.4345, NULL, 4, 0.30, 0.29, -0.01, 2),
    ('with_second_source', 6, 6, 1.0, 0.6097, 1.0, 6, 1.0, 0.6097, 1.0, 3.1, 6, 0.31, 0.22, -0.09, 2)
) AS t(account_group, accounts, accounts_with_takeover, share_with_takeover, share_with_takeover_ci_low,
       share_with_takeover_ci_high, accounts_with_second_source, share_with_second_source,
       share_with_second_source_ci_low, share_with_second_source_ci_high, median_months_to_second_source,
       accounts_with_margin, margin_before_pct, margin_after_pct, margin_change, escalations_censored);

CREATE TABLE main.won_deal_lost_customer AS SELECT * FROM (VALUES
    ('D002', 'A2', 'smb', 'owner 1', DATE '2022-03-10', 18000.0, 2, 'commitment_broken', 7400.0, '$secret'),
    ('D004', 'A4', 'enterprise', 'owner 0', DATE '2022-03-28', 36000.0, 3, 'escalated_over_buyer', 15800.0, '$secret')
) AS t(deal_id, account_id, segment, owner, closed_at, final_amount, trust_eroding_events_after,
       eroding_event_types, value_at_stake, notes);

CREATE TABLE main.cohort_retention AS SELECT * FROM (VALUES
    (2022, 0, 4, 200000.0, 1.0, 1.0), (2022, 1, 4, 200000.0, 1.08, 0.91),
    (2022, 2, 3, 200000.0, 1.15, 0.84), (2023, 0, 3, 90000.0, 1.0, 1.0),
    (2023, 1, 3, 90000.0, 0.97, 0.88)
) AS t(cohort_year, years_since_start, accounts, starting_revenue, net_revenue_retention,
       gross_revenue_retention);

-- The statistics stage's results (issue 4; names discovered by prefix).
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE TABLE analytics.calibration_results AS SELECT * FROM (VALUES
    ('null', 'H1_strategic_alignment', 200, 0.0, 0.048, 0.031, 0.073, 0.955, 0.917, 0.976),
    ('null', 'H2_trust_eroding_events', 200, 0.0, 0.055, 0.035, 0.082, 0.94, 0.898, 0.966),
    ('planted', 'H1_strategic_alignment', 200, 0.4, 0.91, 0.86, 0.94, 0.93, 0.886, 0.958)
) AS t(world, hypothesis, worlds, truth, supported_rate, supported_rate_ci_low,
       supported_rate_ci_high, coverage, coverage_ci_low, coverage_ci_high);

CREATE TABLE analytics.account_value_forecast AS SELECT
    'A' || i::VARCHAR AS account_id, 1000.0 * i AS predicted_value, 700.0 * i AS predicted_low,
    1400.0 * i AS predicted_high, 1000.0 * i + 300.0 * ((i % 3) - 1) AS actual_value
FROM range(1, 30) AS r(i);

CREATE TABLE main.permutation_null AS SELECT
    CASE WHEN i % 2 = 0 THEN 'H1_strategic_alignment' ELSE 'H2_trust_eroding_events' END AS hypothesis,
    i AS permutation, ((i * 37) % 100 - 50) / 1000.0 AS null_statistic,
    CASE WHEN i % 2 = 0 THEN 0.04 ELSE -0.01 END AS observed_statistic
FROM range(0, 200) AS r(i);

CREATE TABLE raw.negotiation_events AS SELECT * FROM (VALUES
    ('E1', 'A1', 'D001', DATE '2022-02-01', 'commitment_kept', 'commitment kept', 1, '$secret')
) AS t(event_id, account_id, deal_id, occurred_at, event_type, event_label, severity, notes);
"""


PAGE_NAMES = ["index.html", "win_loss.html", "strategic_fit.html", "trust.html", "evidence.html"]
OPTIONAL_TABLES = (
    "main.loss_drivers", "main.loss_drivers_by_quarter", "main.strategic_fit_audit",
    "main.alignment_band_outcomes", "main.trust_event_study", "main.escalation_paths",
    "main.won_deal_lost_customer", "main.cohort_retention", "main.permutation_null",
    "analytics.calibration_results", "analytics.account_value_forecast",
)


def make_warehouse(path: Path, value_source: str = "account_revenue") -> Path:
    sql = WAREHOUSE_SQL.replace("$value_source", f"'{value_source}'").replace(
        "$secret", SECRET_NOTE
    )
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    return path


def build(tmp_path: Path, value_source: str = "account_revenue", alter_sql: str = "") -> list[Path]:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", value_source)
    with duckdb.connect(str(warehouse)) as con:
        if alter_sql:
            con.execute(alter_sql)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return build_site(con, tmp_path / "site")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    tmp_path = tmp_path_factory.mktemp("dashboards")
    return tmp_path, build(tmp_path)


@pytest.fixture(scope="module")
def site_data(built_site: tuple[Path, list[Path]]) -> site.SiteData:
    tmp_path, _ = built_site
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return site.read_site_data(con)


@pytest.fixture(scope="module")
def warehouse_con(built_site):
    tmp_path, _ = built_site
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        yield con


def page_text(pages: list[Path]) -> dict[str, str]:
    return {page.name: page.read_text(encoding="utf-8") for page in pages}


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cell texts of one table's body rows (cells hold escaped text only)."""
    table = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.DOTALL).group(1)
    body = table.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def table_records(html: str, table_id: str) -> list[dict[str, str]]:
    """Body rows as {header: cell text}."""
    table = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.DOTALL).group(1)
    headers = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table.split("<tbody>", 1)[0])
    return [dict(zip(headers, row)) for row in table_rows(html, table_id)]


# --- structure -------------------------------------------------------------------------------

def test_pages_written_index_first_with_one_shared_bundle(built_site):
    tmp_path, pages = built_site
    out_dir = tmp_path / "site"
    assert [page.name for page in pages] == PAGE_NAMES
    assert all(page.is_file() and page.parent == out_dir for page in pages)
    bundles = sorted(path.name for path in out_dir.rglob("*.js"))
    assert bundles == ["plotly.min.js"]
    assert (out_dir / "plotly.min.js").stat().st_size > 1_000_000
    for name, html in page_text(pages).items():
        script_sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html)
        assert script_sources == ["plotly.min.js"], name


def test_every_page_links_every_page(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        nav = re.search(r"<nav>(.*?)</nav>", html, re.DOTALL).group(1)
        assert re.findall(r'href="([^"]+)"', nav) == PAGE_NAMES, name


def test_pages_reference_nothing_on_the_network(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        assert not re.search(r"<script[^>]*src=[\"']?(https?:)?//", html, re.IGNORECASE), name
        assert not re.search(r"(href|src)=[\"']?(https?:)?//", html, re.IGNORECASE), name
        assert "cdn" not in html.lower(), name


def test_a_retired_page_from_an_older_build_is_removed(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "accounts.html").write_text("old", encoding="utf-8")
    build(tmp_path)
    assert not (tmp_path / "site" / "accounts.html").exists()


def test_every_section_is_drawn_when_every_table_is_there(built_site):
    _, pages = built_site
    html = page_text(pages)
    assert all('class="unavailable"' not in page for page in html.values())
    # Charts per page: rejections; win rate, strengths, loss drivers, trend, loss trend;
    # band win rate, band outcomes; event study, DiD forest, escalation, histogram, scatter,
    # cohorts; forest, null distribution, calibration (rejection rate, coverage), predicted
    # vs actual.
    counts = {name: page.count("Plotly.newPlot(") for name, page in html.items()}
    assert counts == {"index.html": 1, "win_loss.html": 5, "strategic_fit.html": 2,
                      "trust.html": 6, "evidence.html": 5}


# --- numbers against the warehouse -----------------------------------------------------------

def test_headline_numbers_equal_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    rate, low, high, won, closed, value_won = warehouse_con.execute(
        "SELECT win_rate, win_rate_ci_low, win_rate_ci_high, deals_won, deals_closed, "
        "value_won FROM main.win_loss WHERE dimension = 'overall'"
    ).fetchone()
    margin, accounts = warehouse_con.execute(
        "SELECT sum(lifetime_gross_margin), count(*) FROM main.account_value").fetchone()
    index = pages[0].read_text(encoding="utf-8")
    card = re.search(r'id="headline-win-rate">(.*?)</div></div>', index, re.DOTALL).group(1)
    for expected in (f"{rate * 100:.1f}%", f"{low * 100:.1f}%", f"{high * 100:.1f}%",
                     f"{won} won of {closed} closed"):
        assert expected in card
    value_card = re.search(r'id="headline-value-won">(.*?)</div></div>', index, re.DOTALL).group(1)
    assert f"{value_won:,.0f}" in value_card
    relationship = re.search(r'id="headline-relationship-value">(.*?)</div></div>', index,
                             re.DOTALL).group(1)
    assert f"{margin:,.0f}" in relationship
    assert f"of {accounts:,} accounts active" in relationship


def test_index_describes_coverage_and_rejections(built_site, warehouse_con):
    _, pages = built_site
    index = pages[0].read_text(encoding="utf-8")
    first_created, last_closed, deals = warehouse_con.execute(
        "SELECT min(created_at), max(closed_at), count(*) FROM main.fct_deals"
    ).fetchone()
    reasons = warehouse_con.execute(
        "SELECT source, reason, count(*) FROM main.rejected_rows GROUP BY ALL").fetchall()
    assert str(first_created.date() if hasattr(first_created, "date") else first_created) in index
    assert str(last_closed.date() if hasattr(last_closed, "date") else last_closed) in index
    assert f"{deals:,} deals" in index
    assert sorted(tuple(row) for row in table_rows(index, "rejections-table")) == sorted(
        (source, reason, str(count)) for source, reason, count in reasons)
    deals_row = r"<td[^>]*>deals</td><td[^>]*>deals.csv</td><td>43</td><td>40</td><td>3</td>"
    assert re.search(deals_row, index)


def test_loss_drivers_table_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    rows = table_records(page_text(pages)["win_loss.html"], "loss-drivers-table")
    expected = warehouse_con.execute(
        "SELECT driver_kind, driver, value_lost, share_of_value_lost FROM main.loss_drivers "
        "ORDER BY driver_kind, value_lost DESC").fetchall()
    assert [(r["driver kind"], r["driver"], r["value lost"], r["share of value lost"])
            for r in rows] == [
        (kind, html_escape(driver), f"{value:,.0f}", f"{share * 100:.1f}%")
        for kind, driver, value, share in expected]


def test_strategic_in_name_only_list_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["strategic_fit.html"]
    expected = warehouse_con.execute(
        "SELECT deal_id, list_amount FROM main.strategic_fit_audit "
        "WHERE audit_finding = 'strategic_in_name_only' ORDER BY list_amount DESC").fetchall()
    rows = table_records(html, "in-name-only-table")
    assert [(r["deal id"], r["list amount"]) for r in rows] == [(deal, f"{amount:,.0f}") for deal, amount in expected]
    summary = re.search(r'id="audit-summary">(.*?)</p>', html, re.DOTALL).group(1)
    assert f"<strong>{len(expected):,}</strong> deals are flagged strategic" in summary
    assert f"{sum(amount for _, amount in expected):,.0f}" in summary


def test_band_outcomes_and_escalation_tables_equal_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)
    bands = table_records(html["strategic_fit.html"], "band-outcomes-table")
    expected = warehouse_con.execute(
        "SELECT alignment_band, win_rate FROM main.alignment_band_outcomes").fetchall()
    assert sorted((r["alignment band"], r["win rate"]) for r in bands) == sorted(
        (band, f"{rate * 100:.1f}%") for band, rate in expected)
    paths = table_records(html["trust.html"], "escalation-table")
    expected = warehouse_con.execute(
        "SELECT account_group, accounts, share_with_second_source FROM main.escalation_paths"
    ).fetchall()
    assert [(r["account group"], r["accounts"], r["share with second source"]) for r in paths] == [
        (group, str(accounts), f"{share * 100:.1f}%") for group, accounts, share in expected]


def test_won_deal_lost_customer_total_equals_the_warehouse(built_site, warehouse_con):
    _, pages = built_site
    (stake, deals) = warehouse_con.execute(
        "SELECT sum(value_at_stake), count(*) FROM main.won_deal_lost_customer").fetchone()
    summary = re.search(r'id="won-lost-summary">(.*?)</p>', page_text(pages)["trust.html"]).group(1)
    assert summary.startswith(f"{deals:,} won deals") and f"{stake:,.0f}" in summary


def html_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- confidentiality and escaping ------------------------------------------------------------

def test_confidential_notes_never_shown(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        assert SECRET_NOTE not in html, name
        assert "budget-is-42k" not in html, name


def test_no_read_selects_a_confidential_column(site_data):
    frames = [value for value in vars(site_data).values() if isinstance(value, pd.DataFrame)]
    columns = {column for frame in frames for column in frame.columns}
    assert not columns & reads.CONFIDENTIAL_COLUMNS


def test_category_labels_are_escaped(built_site):
    _, pages = built_site
    html = page_text(pages)["win_loss.html"]
    assert HOSTILE_LABEL not in html.split("Plotly.newPlot(")[0]
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html  # listed as having no closed deals
    assert "<td>&lt;b&gt;Acme &amp; Co&lt;/b&gt;</td>" in html.replace(' class="text"', "")


@pytest.mark.parametrize("value_source", ["won_deals", "account_revenue"])
def test_won_deals_disclosure_iff_value_source_says_so(tmp_path, value_source):
    html = page_text(build(tmp_path, value_source))
    derived = value_source == "won_deals"
    for name in ("index.html", "trust.html"):
        assert (site.DISCLOSURE_ID in html[name]) is derived, name
        assert ("derived from won deals" in html[name].lower()) is derived, name
    assert "derived from won deals" not in html["win_loss.html"].lower()


# --- degrading gracefully --------------------------------------------------------------------

def test_without_the_newer_tables_every_page_says_what_is_missing(tmp_path):
    drops = "".join(f"DROP TABLE {table};" for table in OPTIONAL_TABLES)
    drops += ("ALTER TABLE main.win_loss DROP COLUMN win_rate_diff_vs_overall;"
              "ALTER TABLE main.win_loss DROP COLUMN diff_p_value;"
              "ALTER TABLE main.win_loss DROP COLUMN strength_rank;")
    html = page_text(build(tmp_path, alter_sql=drops))
    missing = {name: re.findall(r'class="unavailable" data-missing="([^"]+)"', page)
               for name, page in html.items()}
    assert missing == {
        "index.html": [],
        "win_loss.html": ["main.win_loss", "main.loss_drivers", "main.loss_drivers_by_quarter"],
        "strategic_fit.html": ["main.alignment_band_outcomes", "main.strategic_fit_audit"],
        "trust.html": ["main.trust_event_study", "main.escalation_paths",
                       "main.won_deal_lost_customer", "main.cohort_retention"],
        "evidence.html": ["permutation*", "calibration*", "account_value_forecast*"],
    }
    assert ("Not available yet: the trust event study (table main.trust_event_study is not in "
            "the warehouse).") in html["trust.html"]
    # What does not depend on the newer tables is still drawn.
    assert html["win_loss.html"].count("Plotly.newPlot(") == 2
    assert html["trust.html"].count("Plotly.newPlot(") == 2
    assert html["evidence.html"].count("Plotly.newPlot(") == 1


def test_a_missing_column_is_named_not_fatal(tmp_path):
    html = page_text(build(tmp_path, alter_sql="ALTER TABLE main.loss_drivers DROP COLUMN value_lost;"))
    assert "main.loss_drivers has no column(s) value_lost" in html["win_loss.html"]


def test_an_empty_table_is_said_to_be_empty(tmp_path):
    html = page_text(build(tmp_path, alter_sql="DELETE FROM main.strategic_fit_audit;"))
    assert "Nothing to show: the table holding the strategic-fit audit" in html["strategic_fit.html"]


def test_hypothesis_tests_with_missing_columns_still_render(tmp_path):
    html = page_text(build(
        tmp_path,
        alter_sql="ALTER TABLE main.hypothesis_tests DROP COLUMN unit; "
                  "ALTER TABLE main.hypothesis_tests DROP COLUMN test; "
                  "ALTER TABLE main.hypothesis_tests DROP COLUMN method; "
                  "ALTER TABLE main.hypothesis_tests DROP COLUMN n_accounts;",
    ))
    assert "Strategic alignment" in html["index.html"]
    assert "unit not stated" in html["evidence.html"]


def test_missing_hypothesis_table_is_stated_not_fatal(tmp_path):
    html = page_text(build(tmp_path, alter_sql="DROP TABLE main.hypothesis_tests;"))
    assert "no hypothesis test results" in html["index.html"]
    assert "main.hypothesis_tests holds no estimates" in html["evidence.html"]


def test_missing_required_table_names_it(tmp_path):
    with pytest.raises(reads.MissingWarehouseData, match="main.win_loss"):
        build(tmp_path, alter_sql="DROP TABLE main.win_loss;")


def test_without_an_overall_row_the_rate_is_stated_unavailable(tmp_path):
    html = page_text(
        build(tmp_path, alter_sql="DELETE FROM main.win_loss WHERE dimension = 'overall';")
    )
    assert "win_loss has no overall row" in html["index.html"]
    assert "company rate is not available" in html["win_loss.html"]
    assert "headline-win-rate" not in html["index.html"]


# --- verdicts and filters --------------------------------------------------------------------

def test_hypothesis_verdicts_are_generated_from_the_numbers(built_site, warehouse_con):
    _, pages = built_site
    tests = warehouse_con.execute("SELECT * FROM main.hypothesis_tests").df()
    evidence = page_text(pages)["evidence.html"]
    items = re.findall(r"<li[^>]*>(.*?)</li>", evidence, re.DOTALL)
    assert len(items) == len(tests)
    for row in tests.to_dict("records"):
        label = row["hypothesis"].replace("_", " ").capitalize()
        item = next(item for item in items if item.startswith(label) and html_escape(row["unit"]) in item)
        assert f"p = {row['p_value']:.3f}" in item
        if pd.notna(row["p_value_holm"]):
            assert f"Holm-adjusted p = {row['p_value_holm']:.3f}" in item
        assert f"{row['n_accounts']} accounts" in item
        assert item.split(". ")[-1].startswith("Supported" if row["supported"] else "Not supported")
    overview = re.findall(r"<li[^>]*>(.*?)</li>", page_text(pages)["index.html"], re.DOTALL)
    adjusted = tests[tests["test"] == "adjusted_effect"]
    assert len([item for item in overview if " supported." in item]) == len(adjusted)
    assert any(item.startswith("Strategic alignment: supported. Estimated effect 0.123 "
                               "(95% CI 0.051 to 0.195)") for item in overview)


def test_a_verdict_column_from_the_statistics_stage_is_used_as_written(tmp_path):
    html = page_text(build(tmp_path, alter_sql=(
        "ALTER TABLE main.hypothesis_tests ADD COLUMN verdict VARCHAR;"
        "UPDATE main.hypothesis_tests SET verdict = 'Accounts that fit the strategy were worth more.' "
        "WHERE hypothesis = 'strategic_alignment' AND test = 'adjusted_effect';")))
    assert "Accounts that fit the strategy were worth more." in html["index.html"]


def test_lists_carry_filters_for_owner_segment_and_period(built_site, warehouse_con):
    _, pages = built_site
    html = page_text(pages)["strategic_fit.html"]
    owners = sorted(o for (o,) in warehouse_con.execute(
        "SELECT DISTINCT owner FROM main.strategic_fit_audit "
        "WHERE audit_finding = 'strategic_in_name_only'").fetchall())
    select = re.search(r'<select data-table="in-name-only-table" data-column="owner">(.*?)</select>',
                       html).group(1)
    assert re.findall(r'<option value="([^"]+)">', select) == ["__all__", *owners]
    for column in ("segment", "stage", "created-year"):
        assert f'data-table="in-name-only-table" data-column="{column}"' in html
    assert "function apply(tableId)" in html  # the filter script, inline


# --- figures ---------------------------------------------------------------------------------

def assert_has_data(figure: go.Figure) -> None:
    assert figure.data, "figure has no traces"
    for trace in figure.data:
        values = trace.x if trace.x is not None else trace.y
        assert values is not None and len(values) > 0, trace.name


def test_figures_have_data(site_data):
    _, by_dimension = text.split_overall(site_data.win_loss)
    for dimension, rows in by_dimension.groupby("dimension"):
        if rows["win_rate"].notna().any():
            assert_has_data(figures.win_rate_figure(rows, str(dimension), 0.65))
    assert_has_data(figures.win_rate_by_dimension_figure(by_dimension, 0.65))
    assert_has_data(figures.rejected_rows_figure(site_data.rejection_counts))
    assert_has_data(figures.account_value_distribution_figure(site_data.account_value))
    assert_has_data(figures.alignment_value_figure(site_data.account_value))
    assert_has_data(figures.hypothesis_forest_figure(site_data.hypothesis_tests))
    assert_has_data(figures.band_outcomes_figure(site_data.alignment_band_outcomes))
    assert_has_data(figures.event_study_figure(site_data.trust_event_study))
    assert_has_data(figures.escalation_path_figure(site_data.escalation_paths))
    assert_has_data(figures.cohort_retention_figure(site_data.cohort_retention))
    assert_has_data(figures.loss_trend_figure(site_data.loss_drivers_by_quarter))


def test_dimension_dropdown_has_one_choice_per_dimension(site_data):
    _, by_dimension = text.split_overall(site_data.win_loss)
    figure = figures.win_rate_by_dimension_figure(by_dimension, 0.65)
    drawable = sorted(by_dimension.loc[by_dimension["win_rate"].notna(), "dimension"].unique())
    labels = [button.label for button in figure.layout.updatemenus[0].buttons]
    assert labels[0] == "segment"
    assert sorted(labels) == sorted(d.replace("_", " ") for d in drawable)
    first_visible = {trace.y[0] for trace in figure.data if trace.visible}
    segment = set(by_dimension.loc[by_dimension["dimension"] == "segment", "value"])
    assert first_visible <= segment


def test_small_samples_are_marked_not_hidden(site_data):
    segment = site_data.win_loss[site_data.win_loss["dimension"] == "segment"]
    figure = figures.win_rate_figure(segment, "segment", 0.65)
    shown = {value for trace in figure.data for value in trace.y}
    assert shown == set(segment["value"])
    small_trace = next(trace for trace in figure.data if "small sample" in trace.name)
    assert list(small_trace.y) == list(segment.loc[segment["is_small_sample"], "value"])
    assert small_trace.marker.symbol == "circle-open"


def test_company_rate_is_the_reference_line(site_data):
    segment = site_data.win_loss[site_data.win_loss["dimension"] == "segment"]
    figure = figures.win_rate_figure(segment, "segment", 0.65)
    lines = [shape for shape in figure.layout.shapes if shape.type == "line"]
    assert [(line.x0, line.x1) for line in lines] == [(0.65, 0.65)]
    error_bars = figure.data[0].error_x
    adequate = segment[~segment["is_small_sample"]].sort_values("value", ascending=False)
    assert list(error_bars.array) == pytest.approx(
        list(adequate["win_rate_ci_high"] - adequate["win_rate"])
    )


def test_strengths_are_the_significant_cells_with_their_differences(built_site, warehouse_con):
    _, pages = built_site
    rows = table_records(page_text(pages)["win_loss.html"], "strengths-table")
    expected = warehouse_con.execute(
        "SELECT value, win_rate_diff_vs_overall FROM main.win_loss "
        "WHERE diff_p_value < 0.05 ORDER BY win_rate_diff_vs_overall DESC").fetchall()
    assert [(r["value"], r["vs company"]) for r in rows] == [(v, f"{d * 100:+.1f} pts") for v, d in expected]


def test_forest_plot_has_one_panel_per_test_and_every_estimate(site_data):
    tests = site_data.hypothesis_tests
    figure = figures.hypothesis_forest_figure(tests)
    plotted = pd.Series([x for trace in figure.data for x in trace.x])
    assert sorted(plotted) == sorted(tests["estimate"])
    assert {trace.xaxis for trace in figure.data} == {"x", "x2"}  # two kinds of test, two panels


def test_event_study_shows_before_and_after_with_the_warehouse_difference(site_data):
    study = site_data.trust_event_study
    figure = figures.event_study_figure(study)
    visible = [trace for trace in figure.data if trace.visible]
    first_type = sorted(study["event_type"].unique())[0]
    rows = study[study["event_type"] == first_type]
    assert {tuple(trace.x) for trace in visible} == {("before", "after")}
    treated = sorted(y for trace in visible if trace.name == "with the event" for y in trace.y)
    assert treated == sorted(rows["treated_value"])
    did = rows["difference_in_differences"].iloc[0]
    assert any(f"DiD {did:+.3g}" in annotation.text for annotation in figure.layout.annotations)
    assert len(figure.layout.updatemenus[0].buttons) == study["event_type"].nunique()


def test_alignment_scatter_leaves_out_accounts_without_alignment(site_data):
    accounts = site_data.account_value
    figure = figures.alignment_value_figure(accounts)
    assert sum(len(trace.x) for trace in figure.data) == accounts["mean_alignment"].notna().sum()
    assert "1 accounts without alignment" in figure.layout.title.subtitle.text


def test_calibration_rates_are_drawn_with_their_intervals(site_data):
    calibration = site_data.calibration
    low, high = pages.interval_columns(calibration, "supported_rate")
    assert list(low) == list(calibration["supported_rate_ci_low"])
    as_pairs = calibration.assign(coverage_ci=[[lo, hi] for lo, hi in zip(
        calibration["coverage_ci_low"], calibration["coverage_ci_high"])]).drop(
        columns=["coverage_ci_low", "coverage_ci_high"])
    low, high = pages.interval_columns(as_pairs, "coverage")
    assert list(high) == list(calibration["coverage_ci_high"])
    assert pages.interval_columns(calibration, "worlds") == (None, None)


def test_dashboards_do_not_import_dagster():
    # A fresh interpreter: this test session may already hold Dagster from other test files.
    probe = "import sys, dashboards; print([m for m in sys.modules if m.startswith('dagster')])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
