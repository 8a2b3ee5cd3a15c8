"""The dashboards package against a small hand-made warehouse written with SQL.

The fixture holds the tables the pages read (contract section 3 columns plus the
documented extras), a confidential note planted where a careless page could leak it,
and a hostile category label to check escaping.
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

from dashboards import build_site, figures, reads, site

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
    ('strategic_alignment', 'alignment', 0.123, 0.051, 0.195, 0.004, 0.008, 120,
     'double ML, cross-fitted', true, 'share of lifetime gross margin per +1 alignment'),
    ('trust_eroding_events', 'trust_eroding', -1830.5, -4211.0, 550.0, 0.137, 0.137, 120,
     'double ML, cross-fitted', false, 'gross margin per event')
) AS t(hypothesis, feature_block, estimate, ci_low, ci_high, p_value, p_value_holm,
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

CREATE TABLE raw.negotiation_events AS SELECT * FROM (VALUES
    ('E1', 'A1', 'D001', DATE '2022-02-01', 'commitment_kept', 'commitment kept', 1, '$secret')
) AS t(event_id, account_id, deal_id, occurred_at, event_type, event_label, severity, notes);
"""


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


def page_text(pages: list[Path]) -> dict[str, str]:
    return {page.name: page.read_text(encoding="utf-8") for page in pages}


def test_pages_written_index_first_with_one_shared_bundle(built_site):
    tmp_path, pages = built_site
    out_dir = tmp_path / "site"
    assert [page.name for page in pages] == ["index.html", "win_loss.html", "accounts.html"]
    assert all(page.is_file() and page.parent == out_dir for page in pages)
    bundles = sorted(path.name for path in out_dir.rglob("*.js"))
    assert bundles == ["plotly.min.js"]
    assert (out_dir / "plotly.min.js").stat().st_size > 1_000_000
    for name, html in page_text(pages).items():
        script_sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html)
        assert script_sources == ["plotly.min.js"], name


def test_pages_reference_nothing_on_the_network(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        assert not re.search(r"<script[^>]*src=[\"']?(https?:)?//", html, re.IGNORECASE), name
        assert not re.search(r"(href|src)=[\"']?(https?:)?//", html, re.IGNORECASE), name
        assert "cdn" not in html.lower(), name


def test_headline_numbers_equal_the_warehouse(built_site):
    tmp_path, pages = built_site
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rate, low, high, won, closed, value_won = con.execute(
            "SELECT win_rate, win_rate_ci_low, win_rate_ci_high, deals_won, deals_closed, "
            "value_won FROM main.win_loss WHERE dimension = 'overall'"
        ).fetchone()
    rate, low, high, value_won = map(float, (rate, low, high, value_won))
    index = pages[0].read_text(encoding="utf-8")
    headline = re.search(r'id="headline-win-rate">(.*?)</p>', index, re.DOTALL).group(1)
    for expected in (f"{rate * 100:.1f}%", f"{low * 100:.1f}%", f"{high * 100:.1f}%",
                     f"{won} won of {closed} closed"):
        assert expected in headline
    value_line = re.search(r'id="headline-value-won">(.*?)</p>', index, re.DOTALL).group(1)
    assert f"{value_won:,.0f}" in value_line


def test_index_describes_coverage_and_rejections(built_site):
    tmp_path, pages = built_site
    index = pages[0].read_text(encoding="utf-8")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        first_created, last_closed, deals = con.execute(
            "SELECT min(created_at), max(closed_at), count(*) FROM main.fct_deals"
        ).fetchone()
        reasons = con.execute(
            "SELECT reason, count(*) FROM main.rejected_rows GROUP BY reason"
        ).fetchall()
    assert str(first_created.date() if hasattr(first_created, "date") else first_created) in index
    assert str(last_closed.date() if hasattr(last_closed, "date") else last_closed) in index
    assert f"{deals:,} deals" in index
    for reason, count in reasons:
        assert re.search(rf"<td>{re.escape(reason)}</td>\s*<td>{count}</td>", index), reason
    deals_row = r"<td>deals</td>\s*<td>deals.csv</td>\s*<td>43</td>\s*<td>40</td>\s*<td>3</td>"
    assert re.search(deals_row, index)


def test_confidential_notes_never_shown(built_site):
    _, pages = built_site
    for name, html in page_text(pages).items():
        assert SECRET_NOTE not in html, name


@pytest.mark.parametrize("value_source", ["won_deals", "account_revenue"])
def test_won_deals_disclosure_iff_value_source_says_so(tmp_path, value_source):
    pages = page_text(build(tmp_path, value_source))
    derived = value_source == "won_deals"
    for name in ("index.html", "accounts.html"):
        assert (site.DISCLOSURE_ID in pages[name]) is derived, name
        assert ("won deals" in pages[name].lower()) is derived, name
    assert "won deals" not in pages["win_loss.html"].lower()


def test_hypothesis_verdicts_are_generated_from_the_numbers(built_site):
    tmp_path, pages = built_site
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        tests = con.execute("SELECT * FROM main.hypothesis_tests").df()
    index = pages[0].read_text(encoding="utf-8")
    items = re.findall(r"<li[^>]*>(.*?)</li>", index, re.DOTALL)
    for row in tests.to_dict("records"):
        label = row["hypothesis"].replace("_", " ").capitalize()
        item = next(item for item in items if item.startswith(label))
        assert f"p = {row['p_value']:.3f}" in item
        assert f"Holm-adjusted p = {row['p_value_holm']:.3f}" in item
        assert f"{row['n_accounts']} accounts" in item
        assert row["unit"] in item
        assert item.split(". ")[-1].startswith("Supported" if row["supported"] else "Not supported")
    alignment = next(item for item in items if item.startswith("Strategic alignment"))
    assert "0.123" in alignment and "0.051 to 0.195" in alignment
    trust = next(item for item in items if item.startswith("Trust eroding events"))
    assert "-1,830" in trust or "-1,831" in trust


def test_hypothesis_tests_with_missing_columns_still_render(tmp_path):
    pages = page_text(build(
        tmp_path,
        alter_sql="ALTER TABLE main.hypothesis_tests DROP COLUMN unit; "
                  "ALTER TABLE main.hypothesis_tests DROP COLUMN method; "
                  "ALTER TABLE main.hypothesis_tests DROP COLUMN n_accounts;",
    ))
    assert "Strategic alignment" in pages["index.html"]
    assert "unit not stated" in pages["accounts.html"]


def test_missing_hypothesis_table_is_stated_not_fatal(tmp_path):
    pages = page_text(build(tmp_path, alter_sql="DROP TABLE main.hypothesis_tests;"))
    assert "no hypothesis test results" in pages["index.html"]
    assert pages["accounts.html"].count("Plotly.newPlot(") == 2


def test_missing_required_table_names_it(tmp_path):
    with pytest.raises(reads.MissingWarehouseData, match="main.win_loss"):
        build(tmp_path, alter_sql="DROP TABLE main.win_loss;")


def test_category_labels_are_escaped(built_site):
    _, pages = built_site
    html = page_text(pages)["win_loss.html"]
    assert HOSTILE_LABEL not in html
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html  # listed as having no closed deals


def test_every_page_figure_is_drawn(built_site, site_data):
    _, pages = built_site
    html = page_text(pages)
    dimensions = site_data.win_loss["dimension"].loc[lambda s: s != "overall"].nunique()
    assert html["index.html"].count("Plotly.newPlot(") == 1
    assert html["win_loss.html"].count("Plotly.newPlot(") == dimensions
    assert html["accounts.html"].count("Plotly.newPlot(") == 3


def assert_has_data(figure: go.Figure) -> None:
    assert figure.data, "figure has no traces"
    for trace in figure.data:
        values = trace.x if trace.x is not None else trace.y
        assert values is not None and len(values) > 0, trace.name


def test_figures_have_data(site_data):
    _, by_dimension = site.text.split_overall(site_data.win_loss)
    for dimension, rows in by_dimension.groupby("dimension"):
        assert_has_data(figures.win_rate_figure(rows, str(dimension), 0.65))
    assert_has_data(figures.rejected_rows_figure(site_data.rejection_counts))
    assert_has_data(figures.account_value_distribution_figure(site_data.account_value))
    assert_has_data(figures.alignment_value_figure(site_data.account_value))
    assert_has_data(figures.hypothesis_forest_figure(site_data.hypothesis_tests))


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


def test_forest_plot_has_one_panel_per_unit_and_every_estimate(site_data):
    tests = site_data.hypothesis_tests
    figure = figures.hypothesis_forest_figure(tests)
    plotted = pd.Series([x for trace in figure.data for x in trace.x])
    assert sorted(plotted) == sorted(tests["estimate"])
    assert {trace.xaxis for trace in figure.data} == {"x", "x2"}  # two units, two panels


def test_alignment_scatter_leaves_out_accounts_without_alignment(site_data):
    accounts = site_data.account_value
    figure = figures.alignment_value_figure(accounts)
    assert sum(len(trace.x) for trace in figure.data) == accounts["mean_alignment"].notna().sum()
    assert "1 accounts without alignment" in figure.layout.title.subtitle.text


def test_without_an_overall_row_the_rate_is_stated_unavailable(tmp_path):
    pages = page_text(
        build(tmp_path, alter_sql="DELETE FROM main.win_loss WHERE dimension = 'overall';")
    )
    assert "Win rate not available" in pages["index.html"]
    assert "company rate is not available" in pages["win_loss.html"]
    assert "headline-win-rate" not in pages["index.html"]


def test_dashboards_do_not_import_dagster():
    # A fresh interpreter: this test session may already hold Dagster from other test files.
    probe = "import sys, dashboards; print([m for m in sys.modules if m.startswith('dagster')])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
