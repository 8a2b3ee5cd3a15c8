"""The five pages, each a pure function SiteData -> HTML text.

Each page answers one question of the review; every section either draws what the
warehouse holds or says plainly which table is not there yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from dashboards import change_report, figures, text
from dashboards.components import (
    PAGES, card_html, esc, figures_html, filterable_table_html, page_html, table_html,
    unavailable_html,
)
from dashboards.data import SiteData
from dashboards.reads import TableRead, Unavailable

DISCLOSURE_ID = "value-source-disclosure"
MAX_LISTED_ROWS = 500  # longer lists show their largest rows, and say so
TOP_RANKED = 10  # strengths and weaknesses shown on each side
SIGNIFICANCE_LEVEL = text.SIGNIFICANCE_LEVEL


class PageBuilder:
    """Collects a page's HTML blocks; the first figure on the page loads the Plotly bundle."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.figure_count = 0

    def add(self, html: str) -> None:
        self.blocks.append(html)

    def figure(self, figure: go.Figure) -> None:
        self.blocks.append(figures_html([figure], first_on_page=self.figure_count == 0))
        self.figure_count += 1

    def section(self, title: str, read: TableRead, what: str,
                render: Callable[[pd.DataFrame], None]) -> None:
        """A titled section drawn by `render`, or a notice when the table is not available."""
        self.add(f"<h2>{esc(title)}</h2>")
        if isinstance(read, Unavailable):
            self.add(unavailable_html(read, what))
        elif read.empty:
            self.add(f'<p class="muted">Nothing to show: the table holding {esc(what)} is empty.</p>')
        else:
            note = read.attrs.get("coverage_note")
            if note:
                self.add(f'<p class="notice coverage-note">Computed without some inputs: {esc(note)}.</p>')
            render(read)

    def html(self) -> str:
        return "\n".join(self.blocks)


def disclosure_html(account_value: pd.DataFrame) -> str:
    notice = text.won_deals_disclosure(account_value)
    return "" if notice is None else f'<p class="notice" id="{DISCLOSURE_ID}">{esc(notice)}</p>'


def largest_rows(frame: pd.DataFrame, by: str) -> tuple[pd.DataFrame, str]:
    """At most MAX_LISTED_ROWS rows, largest `by` first, and a note when some were left out."""
    ordered = frame.sort_values(by, ascending=False, na_position="last")
    if len(ordered) <= MAX_LISTED_ROWS:
        return ordered, ""
    return ordered.head(MAX_LISTED_ROWS), (
        f'<p class="muted">Showing the {MAX_LISTED_ROWS:,} largest by {esc(by.replace("_", " "))} '
        f"of {len(ordered):,}; the full list is in the warehouse.</p>"
    )


def verdict_items(tests: pd.DataFrame, short: bool = False) -> str:
    """One sentence per test row: the warehouse's own verdict text when it has one."""
    if tests.empty:
        return '<p class="muted">The warehouse holds no hypothesis test results.</p>'
    items = []
    generate = text.short_verdict if short else text.hypothesis_verdict
    for row in tests.to_dict("records"):
        sentence = row.get("verdict")
        sentence = generate(row) if text.is_missing(sentence) else str(sentence)
        # the verdict's own conclusion, when the table has one: a significant association between
        # accounts is not shown as a supported hypothesis
        conclusion = row.get("conclusion")
        supported = (conclusion == "supported" if not text.is_missing(conclusion)
                     else text.to_bool(row.get("supported")))
        css = "supported" if supported else ""
        items.append(f'<li class="{css}">{esc(sentence)}</li>')
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def deciding_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """The rows that decide each hypothesis: the adjusted effects when the table says which."""
    if "test" in tests and tests["test"].notna().any():
        return tests[tests["test"].astype("string") == "adjusted_effect"]
    return tests


# --- Overview ------------------------------------------------------------------------------

COVERAGE_HEADINGS = {"skipped": "Not run", "partial": "Run in part", "ran_with_substitute": "Run with a substitute"}


def analysis_coverage_html(coverage: pd.DataFrame) -> str:
    """The analyses this export could not (fully) support, and the input each needs (main.analysis_coverage)."""
    limited = coverage[coverage["status"].isin(list(COVERAGE_HEADINGS))]
    if coverage.empty:
        return ""
    if limited.empty:
        return ('<h2>What this export supports</h2>\n<p id="analysis-coverage">Every analysis ran: '
                "the export has every input.</p>")
    table = pd.DataFrame({
        "analysis": limited["analysis"].map(text.readable),
        "outcome": limited["status"].map(COVERAGE_HEADINGS),
        "missing input": limited["missing"],
        "why": limited["reason"],
    })
    ran = int(coverage["ran"].astype(bool).sum())
    return ("<h2>What this export supports</h2>\n"
            f'<p id="analysis-coverage">{ran} of {len(coverage)} analyses ran; those below ran without an '
            "input, or could not run at all. Add the missing file or column to the export to get them.</p>"
            + table_html(table, text_columns=4, table_id="analysis-coverage-table"))


def load_summary_table(load_summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "table": load_summary["source"],
        "file": load_summary["source_file"].fillna("(absent)"),
        "rows read": load_summary["rows_read"].map(text.format_count),
        "rows loaded": load_summary["rows_loaded"].map(text.format_count),
        "rows rejected": load_summary["rows_rejected"].map(text.format_count),
    })


def overview_page(data: SiteData) -> str:
    overall, _ = text.split_overall(data.win_loss)
    headline = text.headline(overall)
    coverage = text.deal_coverage(data.deals)
    totals = data.account_totals
    page = PageBuilder()
    page.add(disclosure_html(data.account_value))
    if overall is not None:
        win_card = card_html("Win rate (closed deals)", headline.win_rate,
                             f"95% interval {headline.ci_low} to {headline.ci_high}; "
                             f"{headline.deals_won} won of {headline.deals_closed} closed",
                             "headline-win-rate")
        value_card = card_html("Value won", headline.value_won,
                               "agreed contract value of the deals won", "headline-value-won")
    else:
        win_card = card_html("Win rate", "not available", "win_loss has no overall row")
        value_card = ""
    active = ("" if totals.active_accounts is None
              else f"; {totals.active_accounts:,} of {totals.accounts:,} accounts active")
    relationship_card = card_html(
        "Relationship value (lifetime gross margin, all accounts)",
        text.format_amount(totals.lifetime_gross_margin),
        f"on lifetime revenue of {text.format_amount(totals.lifetime_revenue)}{active}",
        "headline-relationship-value",
    )
    page.add(f'<div class="cards">{win_card}{value_card}{relationship_card}</div>')
    page.add("<h2>What the hypothesis tests say</h2>")
    page.add('<p class="muted">Each sentence is generated from main.hypothesis_tests; '
             'the <a href="evidence.html">Evidence</a> page shows the intervals.</p>')
    deciding = deciding_tests(data.hypothesis_tests)
    # Per-event-type rows ('hypothesis:event_type', Holm-corrected) are summarised, not listed.
    per_type = deciding["hypothesis"].astype(str).str.contains(":", regex=False)
    page.add(verdict_items(deciding[~per_type], short=True))
    if per_type.any():
        supported = int(deciding.loc[per_type, "supported"].astype("boolean").fillna(False).sum())
        page.add(f'<p id="per-type-summary">Per trust-eroding event type: {supported} of '
                 f"{int(per_type.sum())} types show an effect after the Holm correction "
                 '(see <a href="evidence.html">Evidence</a>).</p>')
    page.add(change_report.change_report_html(data.run_changes))
    page.add(analysis_coverage_html(data.coverage))
    stages = ", ".join(f"{count:,} {esc(stage)}" for stage, count in coverage.by_stage.items())
    page.add(
        f"<h2>What the data covers</h2>\n<p id=\"coverage\">{coverage.deals:,} deals ({stages}); "
        f"created {esc(coverage.first_created)} to {esc(coverage.last_created)}, closed "
        f"{esc(coverage.first_closed)} to {esc(coverage.last_closed)}; {totals.accounts:,} accounts. "
        f"Data loaded {esc(text.format_date(data.load_summary['loaded_at'].max()))}.</p>"
    )
    page.add(table_html(load_summary_table(data.load_summary), text_columns=2))
    page.add("<h3>Rejected input rows, by reason</h3>")
    rejections = data.rejection_counts
    if len(rejections):
        page.add('<p class="muted">Counts only: the rejected records themselves stay in '
                 "main.rejected_rows (they may hold confidential notes).</p>")
        page.figure(figures.rejected_rows_figure(rejections))
        page.add("<details><summary>The same counts as a table</summary>"
                 + table_html(rejections.rename(columns={"rows_rejected": "rows rejected"}),
                              text_columns=2, table_id="rejections-table") + "</details>")
    else:
        page.add('<p class="muted">No input rows were rejected.</p>')
    links = " ".join(f'<li><a href="{name}">{esc(label)}</a></li>' for name, label in PAGES[1:])
    page.add(f"<h2>More</h2>\n<ul>{links}</ul>")
    return page_html("index.html", "Deals overview", page.html())


# --- Win / loss ----------------------------------------------------------------------------

def strengths_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "dimension": rows["dimension"].str.replace("_", " "),
        "value": rows["value"].fillna(figures.MISSING_LABEL),
        "win rate": rows["win_rate"].map(text.format_pct),
        "vs company": rows["win_rate_diff_vs_overall"].map(
            lambda v: text.NOT_AVAILABLE if text.is_missing(v) else f"{float(v) * 100:+.1f} pts"),
        "p-value": rows["diff_p_value"].map(text.format_p_value),
        "q-value (FDR)": rows["q_value"].map(text.format_p_value),
        "closed deals": rows["deals_closed"].map(text.format_count),
        "value won": rows["value_won"].map(text.format_amount),
    })


def win_loss_page(data: SiteData) -> str:
    overall, by_dimension = text.split_overall(data.win_loss)
    overall_rate = None if overall is None else overall["win_rate"]
    page = PageBuilder()
    reference = (f"The dashed line is the company rate, {esc(text.format_pct(overall_rate))}."
                 if overall is not None
                 else "The company rate is not available (win_loss has no overall row).")
    page.add("<h2>Win rate by dimension</h2>")
    page.add(f"<p>Pick the dimension in the drop-down. Win rate counts closed deals only: won / "
             f"(won + lost); bars are 95% Wilson intervals. Hollow grey markers are small samples: "
             f"shown, but not reliable. {reference}</p>")
    page.figure(figures.win_rate_by_dimension_figure(by_dimension, overall_rate))
    without_closed = by_dimension[by_dimension["win_rate"].isna()]
    if len(without_closed):
        page.add('<p class="muted">No closed deals, so no win rate, for: ' + esc(", ".join(
            f"{d} = {v}" for d, v in zip(without_closed["dimension"], without_closed["value"]))) + ".</p>")

    page.add("<h2>Strengths and weaknesses against the company average</h2>")
    ranked = by_dimension[by_dimension["win_rate_diff_vs_overall"].notna()]
    if ranked.empty:
        page.add(unavailable_html(Unavailable(
            "main.win_loss", "win_loss has no win_rate_diff_vs_overall values (added by the metrics stage)"),
            "strengths and weaknesses ranked against the company rate"))
    else:
        fdr_controlled = ranked["q_value"].notna().any()
        if fdr_controlled:
            # The flags dbt sets after Benjamini-Hochberg over every cell of the table.
            significant = ranked[ranked["is_strength"].fillna(False).astype(bool)
                                 | ranked["is_weakness"].fillna(False).astype(bool)]
        else:
            significant = ranked[ranked["diff_p_value"].astype("float64") < SIGNIFICANCE_LEVEL]
        # strength_rank orders cells by how far and how surely they differ (dbt); ties by size.
        order = "strength_rank" if ranked["strength_rank"].notna().any() else "win_rate_diff_vs_overall"
        strengths = significant[significant["win_rate_diff_vs_overall"] > 0]
        weaknesses = significant[significant["win_rate_diff_vs_overall"] < 0]
        if order == "strength_rank":
            shown = pd.concat([strengths.nsmallest(TOP_RANKED, order), weaknesses.nlargest(TOP_RANKED, order)])
        else:
            shown = pd.concat([strengths.nlargest(TOP_RANKED, order), weaknesses.nsmallest(TOP_RANKED, order)])
        page.add(f'<p id="strengths-summary">{esc(text.strengths_sentence(ranked, significant, fdr_controlled, TOP_RANKED))}</p>')
        if shown.empty:
            page.add('<p class="muted">No cell differs from the company rate at that level.</p>')
        else:
            page.figure(figures.strengths_weaknesses_figure(shown))
            page.add(table_html(strengths_table(shown.sort_values(
                "win_rate_diff_vs_overall", ascending=False)), text_columns=2, table_id="strengths-table"))

    def draw_loss_drivers(drivers: pd.DataFrame) -> None:
        # Expected value (final amount, else list x (1 - typical discount)) when dbt gives it: list
        # price overstates what a lost deal would have brought.
        expected = drivers["expected_value_lost"].notna().any()
        measure = "expected_value_lost" if expected else "value_lost"
        page.add(f'<p id="loss-priorities">{esc(text.loss_priorities_sentence(drivers, measure))}</p>')
        top = drivers.sort_values(measure, ascending=False).groupby("driver_kind").head(12)
        page.figure(figures.ranked_value_figure(
            top, "driver", measure, "driver_kind",
            "Loss reasons and competitors, ranked by " + ("expected value lost" if expected else "value lost"),
            "expected value lost (final, else list x (1 - typical discount))" if expected
            else "value lost (list amount)"))
        shown = drivers if expected else drivers.drop(
            columns=["expected_value_lost", "share_of_expected_value_lost", "list_value_rank"])
        page.add(table_html(text.format_frame(shown.sort_values(["driver_kind", measure],
                                                                ascending=[True, False]),
                                              {"rank": "count", "list_value_rank": "count"}),
                            text_columns=2, table_id="loss-drivers-table"))

    page.section("Top priorities: what we lose, by expected value", data.loss_drivers,
                 "loss reasons and competitors ranked by expected value lost", draw_loss_drivers)

    def draw_competitor_response(response: pd.DataFrame) -> None:
        page.add("<p>For each competitor and segment: before and after our first win against it "
                 "there, how often it shows up on the segment's deals (grey: before, blue: after) "
                 "and how often it cuts its price on the deals it is on (competitor price-cut "
                 "events). Bars are 95% intervals; hollow markers rest on fewer than "
                 f"{figures.SMALL_SAMPLE} deals or appearances: shown, but not reliable. "
                 "Pick the segment in the drop-down. Descriptive: it shows what followed, "
                 "not what caused it.</p>")
        summary = text.competitor_response_summary(response, figures.SMALL_SAMPLE)
        page.add(f'<p id="competitor-response-summary">{esc(summary)}</p>')
        page.figure(figures.competitor_response_figure(response))
        long = competitor_response_rows(response)
        filters = long[["segment", "competitor", "side"]].fillna("unknown").astype(str) \
            .rename(columns={"side": "before_or_after"}).reset_index(drop=True)
        page.add(filterable_table_html(competitor_response_table(long), filters,
                                       "competitor-response-table", text_columns=2))

    page.section("How competitors respond after we beat them", data.competitor_response,
                 "competitor response before and after our first win", draw_competitor_response)

    page.add("<h2>Trend by quarter</h2>")
    quarters = by_dimension[by_dimension["dimension"] == "close_quarter"]
    if quarters["win_rate"].notna().any():
        page.figure(figures.win_rate_trend_figure(quarters))
    else:
        page.add(unavailable_html(Unavailable("main.win_loss", "win_loss has no close_quarter rows"),
                                  "the win rate by quarter"))
    if isinstance(data.loss_drivers_by_quarter, Unavailable):
        page.add(unavailable_html(data.loss_drivers_by_quarter, "value lost by driver and quarter"))
    elif len(data.loss_drivers_by_quarter):
        page.figure(figures.loss_trend_figure(data.loss_drivers_by_quarter))
    return page_html("win_loss.html", "Win / loss", page.html())


def interval_cell(value: pd.Series, low: pd.Series, high: pd.Series, count: pd.Series,
                  formatter: Callable[[object], str]) -> pd.Series:
    """'9.1% (3.9% to 19.6%)', with 'small sample' when count < figures.SMALL_SAMPLE."""
    cells = []
    for v, lo, hi, n in zip(value, low, high, count):
        if text.is_missing(v):
            cells.append(text.NOT_AVAILABLE)
            continue
        cell = f"{formatter(v)} ({formatter(lo)} to {formatter(hi)})"
        cells.append(cell + (", small sample" if not text.is_missing(n) and n < figures.SMALL_SAMPLE else ""))
    return pd.Series(cells, index=value.index, dtype="object")


def competitor_response_rows(response: pd.DataFrame) -> pd.DataFrame:
    """Long form: one row per competitor, segment and side of our first win (before, after)."""
    sides = []
    for side in ("before", "after"):
        rows = response.assign(
            side=side,
            deals=response[f"deals_{side}"], appearances=response[f"appearances_{side}"],
            price_cuts=response[f"price_cuts_{side}"],
            **{f"{measure}{bound}": response[f"{measure}_{side}{bound}"]
               for measure in ("appearances_per_deal", "price_cuts_per_appearance")
               for bound in ("", "_ci_low", "_ci_high")},
        )
        sides.append(rows[rows["deals"].astype("float64").fillna(0) > 0])
    long = pd.concat(sides)
    long["side_rank"] = long["side"].map({"before": 0, "after": 1})
    return long.sort_values(["segment", "competitor", "side_rank"], na_position="last")


def competitor_response_table(long: pd.DataFrame) -> pd.DataFrame:
    def per_100(v: object) -> str:
        return text.NOT_AVAILABLE if text.is_missing(v) else f"{float(v) * 100:.1f}"

    first_win = long["first_win_at"].map(text.format_date)
    when = [("before our first win" if date == text.NOT_AVAILABLE else f"before {date}")
            if side == "before" else f"after {date}" for side, date in zip(long["side"], first_win)]
    return pd.DataFrame({
        "competitor": long["competitor"].astype(str),
        "segment": long["segment"].fillna("unknown").astype(str),
        "when (our first win)": when,
        "deals": long["deals"].map(text.format_count),
        "it appears on (95% interval)": interval_cell(
            long["appearances_per_deal"], long["appearances_per_deal_ci_low"],
            long["appearances_per_deal_ci_high"], long["deals"], text.format_pct),
        "price cuts / deals it is on": [f"{text.format_count(c)} / {text.format_count(a)}"
                                        for c, a in zip(long["price_cuts"], long["appearances"])],
        "price cuts per 100 deals it is on (95% interval)": interval_cell(
            long["price_cuts_per_appearance"], long["price_cuts_per_appearance_ci_low"],
            long["price_cuts_per_appearance_ci_high"], long["appearances"], per_100),
    })


# --- Strategic fit -------------------------------------------------------------------------

# Text columns first: they are left-aligned and may wrap.
AUDIT_LISTED = ("deal_id", "account_id", "owner", "stage", "matched_targets", "matched_avoids",
                "created_at", "alignment_score", "list_amount", "final_amount")


def audit_list_html(audit: pd.DataFrame, finding: str, table_id: str) -> str:
    rows = audit[audit["audit_finding"] == finding]
    if rows.empty:
        return '<p class="muted">No deals.</p>'
    rows, note = largest_rows(rows, "list_amount")
    shown = text.format_frame(rows.loc[:, list(AUDIT_LISTED)], {"alignment_score": "number"})
    filters = pd.DataFrame({
        "owner": rows["owner"].fillna("unknown").to_numpy(),
        "segment": rows["segment"].fillna("unknown").to_numpy(),
        "stage": rows["stage"].to_numpy(),
        "created_year": pd.to_datetime(rows["created_at"]).dt.year.astype("string").to_numpy(),
    })
    return note + filterable_table_html(shown, filters, table_id, text_columns=6)


def interval_text(low: pd.Series, high: pd.Series, formatter: Callable[[object], str]) -> pd.Series:
    return low.map(formatter) + " to " + high.map(formatter)


def band_outcomes_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    band_rank = {band: position for position, band in enumerate(figures.BAND_ORDER)}
    rows = outcomes.assign(
        band_rank=outcomes["alignment_band"].map(band_rank).fillna(-1),
        plan=pd.to_datetime(outcomes["plan_effective_from"]).dt.strftime("%Y-%m-%d"),
    ).sort_values(["plan", "band_rank"], na_position="first")
    return pd.DataFrame({
        "plan version": ("from " + rows["plan"]).fillna("before the first plan"),
        "alignment band": rows["alignment_band"],
        "deals closed": rows["deals_closed"].map(text.format_count),
        "win rate": rows["win_rate"].map(text.format_pct),
        "95% interval": interval_text(rows["win_rate_ci_low"], rows["win_rate_ci_high"], text.format_pct),
        "average discount": rows["avg_discount_pct"].map(text.format_pct),
        "accounts observed": rows["accounts_horizon_observed"].map(text.format_count),
        "later account value (mean)": rows["mean_later_account_value"].map(text.format_amount),
        "95% interval ": interval_text(rows["mean_later_account_value_ci_low"],
                                       rows["mean_later_account_value_ci_high"], text.format_amount),
    })


def strategic_fit_page(data: SiteData) -> str:
    page = PageBuilder()
    page.add("<p>Strategic alignment scores each deal in [-1, 1] against the strategy plan in force "
             "when it was created: aligned &ge; 0.5, partial 0 to 0.5, misaligned &lt; 0. Deals created "
             "before the first plan have no alignment (band <em>no_plan</em>).</p>")
    page.add("<h2>Alignment band vs win rate</h2>")
    _, by_dimension = text.split_overall(data.win_loss)
    overall, _ = text.split_overall(data.win_loss)
    bands = by_dimension[by_dimension["dimension"] == "alignment_band"]
    no_alignment = data.skipped("strategic_alignment")
    if no_alignment is not None:
        page.add(unavailable_html(no_alignment, "the win rate by alignment band"))
    elif bands["win_rate"].notna().any():
        page.figure(figures.win_rate_figure(bands, "alignment_band",
                                            None if overall is None else overall["win_rate"],
                                            order=tuple(reversed(figures.BAND_ORDER))))
    else:
        page.add(unavailable_html(Unavailable("main.win_loss", "win_loss has no alignment_band rows"),
                                  "the win rate by alignment band"))

    def draw_outcomes(outcomes: pd.DataFrame) -> None:
        page.add("<p>Win rate, discount depth (1 - final / list) and the later value of the "
                 "account, by band; one colour per plan version, so a plan change shows as the "
                 "gap between colours.</p>")
        page.figure(figures.band_outcomes_figure(outcomes))
        page.add(table_html(band_outcomes_table(outcomes), text_columns=2,
                            table_id="band-outcomes-table"))

    page.section("Win rate, discount and later account value by band, and plan changes",
                 data.alignment_band_outcomes, "outcomes by alignment band and plan version",
                 draw_outcomes)

    def draw_audit(audit: pd.DataFrame) -> None:
        in_name_only = audit[audit["audit_finding"] == "strategic_in_name_only"]
        unflagged = audit[audit["audit_finding"] == "unflagged_aligned"]
        page.add(
            f'<p id="audit-summary"><strong>{len(in_name_only):,}</strong> deals are flagged strategic '
            f"but misaligned with the plan (list value {text.format_amount(in_name_only['list_amount'].sum())}); "
            f"<strong>{len(unflagged):,}</strong> aligned deals were never flagged strategic "
            f"(list value {text.format_amount(unflagged['list_amount'].sum())}).</p>"
        )
        page.add("<h3>Strategic in name only</h3>")
        page.add(audit_list_html(audit, "strategic_in_name_only", "in-name-only-table"))
        page.add("<h3>Aligned but never flagged strategic</h3>")
        page.add(audit_list_html(audit, "unflagged_aligned", "unflagged-aligned-table"))

    page.section("The \u201cstrategic in name only\u201d list", data.strategic_fit_audit,
                 "the strategic-fit audit (flagged deals that are misaligned)", draw_audit)
    return page_html("strategic_fit.html", "Strategic fit", page.html())


# --- Trust and relationship ----------------------------------------------------------------

def trust_page(data: SiteData) -> str:
    page = PageBuilder()
    page.add(disclosure_html(data.account_value))

    def draw_event_study(study: pd.DataFrame) -> None:
        months = study["window_months"].dropna()
        window = f"{int(months.iloc[0])} months" if len(months) else "a fixed window"
        page.add(f"<p>For accounts with the event, each measure over {esc(window)} before and after "
                 "it (red), against comparable accounts without such an event in the same period "
                 "(grey). The panel titles give the difference in differences (change with the event "
                 "minus change without) and its 95% interval. Pick the event type in the drop-down.</p>")
        page.figure(figures.event_study_figure(study))
        # The difference in differences repeats on the before and after rows: one per cell.
        estimates = study.drop_duplicates(["event_type", "polarity", "metric"])
        polarities = estimates.groupby("event_type")["polarity"].transform("nunique")
        label = estimates["event_type"].astype(str).str.replace("_", " ")
        estimates = estimates.assign(label=label.where(
            polarities <= 1, label + " (" + estimates["polarity"].astype(str).str.replace("_", " ") + ")"))
        page.add("<p>All event types at once, one measure at a time (drop-down): an interval "
                 "crossing the dashed line at 0 is no clear effect. Red: trust-eroding events; "
                 "green: trust-building; orange: competitive.</p>")
        page.figure(figures.interval_forest_figure(
            estimates, "label", "difference_in_differences", "ci_low", "ci_high", "metric",
            "Difference in differences", "difference in differences (with event - without)",
            color_column="polarity"))
        listed = study.loc[:, ["event_type", "polarity", "metric", "window", "treated_accounts",
                               "treated_value", "comparison_accounts", "comparison_value",
                               "difference_in_differences", "ci_low", "ci_high"]]
        number = {c: "number" for c in ("treated_value", "comparison_value",
                                        "difference_in_differences", "ci_low", "ci_high")}
        page.add(filterable_table_html(
            text.format_frame(listed, number),
            listed[["event_type", "metric"]].astype(str).reset_index(drop=True),
            "event-study-table", text_columns=4))

    page.section("What happened after trust broke: event study per event type",
                 data.trust_event_study, "the trust event study", draw_event_study)

    def draw_paths(paths: pd.DataFrame) -> None:
        censored = paths["escalations_censored"].dropna()
        censored_note = (f" {int(censored.iloc[0]):,} later escalations are not observed long "
                         "enough yet and are left out." if len(censored) else "")
        page.add("<p>Accounts whose vendor escalated over the buyer's head: how many saw the buyer's "
                 "management take over, how many then added a second source, and the gross margin "
                 f"before the escalation and after the path's last step.{esc(censored_note)}</p>")
        page.figure(figures.escalation_path_figure(paths))
        page.add(table_html(text.format_frame(paths, {"median_months_to_second_source": "number",
                                                      "margin_change": "pct"}),
                            table_id="escalation-table"))

    page.section("Escalation \u2192 second source \u2192 margin", data.escalation_paths,
                 "the escalation path", draw_paths)

    def draw_won_lost(deals: pd.DataFrame) -> None:
        rows, note = largest_rows(deals, "value_at_stake")
        first_wins = int((deals["baseline_kind"] == "peer_first_wins").sum())
        first_note = (f" {first_wins:,} of them are accounts' first won deals, with no revenue before "
                      "to compare with: judged against what accounts of the same segment earned after "
                      "a first win in the same quarter." if first_wins else "")
        page.add(f'<p id="won-lost-summary">{len(deals):,} won deals were followed by trust-eroding '
                 "events and a fall in the account's revenue; value at stake "
                 f"{text.format_amount(deals['value_at_stake'].sum())}.{esc(first_note)}</p>")
        filters = rows[["segment", "owner"]].fillna("unknown").astype(str).reset_index(drop=True)
        page.add(note + filterable_table_html(
            text.format_frame(rows, {"trust_eroding_events_after": "count"}), filters,
            "won-lost-table", text_columns=2))

    page.section("Won the deal, lost the customer", data.won_deal_lost_customer,
                 "the won-the-deal-lost-the-customer list", draw_won_lost)

    def draw_moves(moves: pd.DataFrame) -> None:
        months = moves["window_months"].dropna()
        window = f"{int(months.iloc[0])} months" if len(months) else "the following months"
        page.add("<p>Which of our moves came before a warmer relationship? For each move (an event "
                 "type we cause, or a won deal by type), the share of accounts with a "
                 f"trust-building event, or a new expansion deal, within {esc(window)} after the "
                 "move's month (first move per account). The dashed red line and band are the same "
                 "share after an arbitrary month, the baseline. Bars are 95% intervals; hollow "
                 f"markers rest on fewer than {figures.SMALL_SAMPLE} accounts.</p>")
        summary = text.move_precedents_summary(moves, figures.SMALL_SAMPLE)
        page.add(f'<p id="move-precedents-summary">{esc(summary)}</p>')
        page.figure(figures.move_precedents_figure(moves))
        page.add(table_html(move_precedents_table(moves), text_columns=2, table_id="move-precedents-table"))

    page.section("What followed our moves", data.move_precedents,
                 "what followed our moves (move precedents)", draw_moves)

    page.add("<h2>Account value</h2>")
    page.add(f"<p>{data.account_totals.accounts:,} accounts, with or without deals. Lifetime value is "
             "the account's realised gross margin to date. Pick all segments or one in the "
             "drop-down. The value axis is logarithmic (each labelled step is ten times the one "
             "before), so small and very large accounts both show; the bar at 0 counts accounts "
             "with no gross margin yet.</p>")
    page.figure(figures.account_value_histogram_figure(
        data.account_value_bins, "Account lifetime value (gross margin)",
        "lifetime gross margin per account"))
    page.add("<p>Does strategic fit go with value? Accounts are grouped by the mean alignment of "
             "their deals, in steps of 0.1: each group's mean lifetime value with its 95% interval, "
             "its median, and the band holding the middle half of its accounts; the bars below "
             "count the accounts in each group.</p>")
    no_alignment = data.skipped("strategic_alignment")
    if no_alignment is not None:
        page.add(unavailable_html(no_alignment, "account value by mean alignment"))
    else:
        page.figure(figures.alignment_value_figure(data.alignment_value_bins))

    def draw_cohorts(cohorts: pd.DataFrame) -> None:
        page.add("<p>Revenue of each yearly cohort of accounts, as a share of its first-year revenue: "
                 "net (with expansion) or gross (capped at the starting revenue), chosen in the "
                 "drop-down.</p>")
        page.figure(figures.cohort_retention_figure(cohorts))

    page.section("Cohort retention", data.cohort_retention, "revenue retention by yearly cohort",
                 draw_cohorts)
    return page_html("trust.html", "Trust and relationship", page.html())


def move_precedents_table(moves: pd.DataFrame) -> pd.DataFrame:
    """One row per move; the baseline (any month) is in the sentence above and the chart."""
    rows = moves.sort_values(["move_kind", "share_with_trust_building"], ascending=[False, False])
    columns = {
        "move": [figures.move_label(k, m) for k, m in zip(rows["move_kind"], rows["move"])],
        "kind": rows["move_kind"].map({"event_type": "event", "deal_type": "won deal"})
                                 .fillna(rows["move_kind"]),
        "accounts": rows["accounts"].map(text.format_count),
    }
    for outcome, label in (("trust_building", "trust-building event after"),
                           ("expansion", "expansion deal after")):
        columns[f"{label} (95% interval)"] = interval_cell(
            rows[f"share_with_{outcome}"], rows[f"share_with_{outcome}_ci_low"],
            rows[f"share_with_{outcome}_ci_high"], rows["accounts"], text.format_pct)
    return pd.DataFrame(columns)


# --- Evidence ------------------------------------------------------------------------------

def first_column(frame: pd.DataFrame, *candidates: str) -> str | None:
    """The first column whose name equals, then contains, one of the candidates."""
    for candidate in candidates:
        if candidate in frame.columns:
            return candidate
    for candidate in candidates:
        found = next((c for c in frame.columns if candidate in c), None)
        if found:
            return found
    return None


def hypothesis_table(tests: pd.DataFrame) -> pd.DataFrame:
    """Text columns first (they wrap); hypotheses by their readable names."""
    # The unit is long: it is in each verdict sentence below the table, not in a column.
    kept = [c for c in ("hypothesis", "test", "estimate", "ci_low", "ci_high", "p_value",
                        "p_value_holm", "n_accounts", "supported") if tests[c].notna().any()]
    readable = tests.assign(hypothesis=tests["hypothesis"].map(text.readable),
                            test=tests["test"].astype("string").str.replace("_", " "))
    return text.format_frame(readable.loc[:, kept], {"estimate": "number", "ci_low": "number",
                                                     "ci_high": "number"})


def _log_ratio_percent(value: object) -> str:
    """A proportional effect (log ratio) as a signed percent change: '+8.3%'."""
    if text.is_missing(value):
        return text.NOT_AVAILABLE
    return "+∞%" if float(value) > 700 else f"{100 * math.expm1(float(value)):+.1f}%"


def _share(value: object) -> str:
    return text.NOT_AVAILABLE if text.is_missing(value) else f"{100 * float(value):.1f}%"


def effect_size_table(tests: pd.DataFrame) -> pd.DataFrame | None:
    """The effect rows' sizes per standard deviation of the treatment, the minimum detectable effect at
    80% power and the robustness to a hidden confounder (models.diagnostics); None when the table has
    none of them."""
    if "treatment_sd" not in tests or not tests["treatment_sd"].notna().any():
        return None
    rows = tests[tests["treatment_sd"].notna()]
    columns = {
        "hypothesis": rows["hypothesis"].map(text.readable),
        "conclusion": rows["conclusion"].fillna(text.NOT_AVAILABLE).astype(str).str.replace("_", " ")
        if "conclusion" in rows else text.NOT_AVAILABLE,
        "1 SD of the treatment": rows["treatment_sd"].map(text.format_number),
        "effect per SD (95% interval)": [
            f"{_log_ratio_percent(v)} ({_log_ratio_percent(lo)} to {_log_ratio_percent(hi)})"
            for v, lo, hi in zip(rows["estimate_per_sd"], rows["ci_low_per_sd"], rows["ci_high_per_sd"])],
        "detectable per SD (80% power)": rows["mde_80_per_sd"].map(
            lambda v: _log_ratio_percent(v).lstrip("+")),
        "robustness value (to insignificance)": [
            f"{_share(rv)} ({_share(rva)})" for rv, rva in zip(rows["robustness_value"],
                                                             rows["robustness_value_alpha"])],
        "E-value (CI limit)": [
            text.NOT_AVAILABLE if text.is_missing(e) else f"{float(e):.2f} ({float(eci):.2f})"
            for e, eci in zip(rows["e_value"], rows["e_value_ci"])],
        "strongest control: R² with treatment / revenue": [
            text.NOT_AVAILABLE if text.is_missing(name) else f"{name}: {_share(r2d)} / {_share(r2y)}"
            for name, r2d, r2y in zip(rows["benchmark_control"], rows["benchmark_r2_treatment"],
                                      rows["benchmark_r2_outcome"])],
        "effect per unit if a hidden factor were as strong (95% interval)": [
            text.NOT_AVAILABLE if text.is_missing(v) else
            f"{_log_ratio_percent(v)} ({_log_ratio_percent(lo)} to {_log_ratio_percent(hi)})"
            for v, lo, hi in zip(rows["benchmark_adjusted_estimate"], rows["benchmark_adjusted_ci_low"],
                                 rows["benchmark_adjusted_ci_high"])],
    }
    return pd.DataFrame(columns)


def calibration_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as read, one row per world kind and hypothesis, rates with their intervals."""
    rows = summary.sort_values(["world", "hypothesis"])
    count = rows["worlds"]
    columns = {
        "worlds": rows["world"].map(figures.world_label),
        "hypothesis": rows["hypothesis"].map(text.readable),
        "simulated worlds": count.map(text.format_count),
        "true effect": rows["truth"].map(text.format_signed_number),
        "'supported' rate (95% interval)": interval_cell(
            rows["supported_rate"], rows["supported_rate_ci_low"], rows["supported_rate_ci_high"],
            pd.Series(float("inf"), index=rows.index), text.format_pct),
    }
    if rows["two_sided_rejection_rate"].notna().any():
        columns["two-sided p < 0.05 (95% interval)"] = interval_cell(
            rows["two_sided_rejection_rate"], rows["two_sided_rejection_rate_ci_low"],
            rows["two_sided_rejection_rate_ci_high"], pd.Series(float("inf"), index=rows.index),
            text.format_pct)
    columns["coverage (95% interval)"] = interval_cell(
        rows["coverage"], rows["coverage_ci_low"], rows["coverage_ci_high"],
        pd.Series(float("inf"), index=rows.index), text.format_pct)
    for column, label in (("mean_estimate", "mean estimate"), ("bias_adjusted", "bias, adjusted"),
                          ("bias_naive", "bias, naive")):
        if rows[column].notna().any():
            columns[label] = rows[column].map(text.format_number)
    return pd.DataFrame(columns)


def model_comparison_table(comparison: pd.DataFrame, r2_label: str = "out-of-fold R²",
                           folds_label: str = "folds", with_accounts: bool = True) -> pd.DataFrame:
    """Rows of main.model_comparison (one split): R² and the gain over the baseline, per model and
    feature set. The later-cohort table labels R² and the folds (test cohorts) its own way."""
    order = {name: position for position, name in enumerate(figures.FEATURE_SET_ORDER)}
    rows = comparison.assign(order=comparison["feature_set"].map(order).fillna(len(order))) \
        .sort_values(["learner", "order"])
    signed = text.format_signed_number
    no_gain = rows["gain_vs_baseline"].isna().to_numpy()  # a gain is not defined for the baseline

    def interval(low: pd.Series, high: pd.Series, formatter: Callable[[object], str]) -> pd.Series:
        shown = interval_text(low, high, formatter)
        return shown.where(low.notna() & high.notna(), text.NOT_AVAILABLE)

    columns = {
        "model": rows["learner"].astype(str),
        "features": rows["feature_set"].map(figures.feature_set_label),
        r2_label: rows["r2_mean"].map(text.format_number),
        "95% interval": interval(rows["r2_ci_low"], rows["r2_ci_high"], text.format_number),
        "gain over baseline": rows["gain_vs_baseline"].map(signed),
        "gain 95% interval": interval(rows["gain_ci_low"], rows["gain_ci_high"], signed),
        "gain p-value": rows["gain_p_value"].map(lambda v: text.NOT_AVAILABLE if text.is_missing(v)
                                                 else f"{float(v):.3f}"),
    }
    if with_accounts:
        columns["accounts"] = rows["n_accounts"].map(text.format_count)
    columns[folds_label] = rows["n_folds"].map(text.format_count)
    frame = pd.DataFrame(columns)
    frame.loc[no_gain, ["gain over baseline", "gain 95% interval", "gain p-value"]] = "-"
    return frame


def feature_importance_table(importance: pd.DataFrame) -> pd.DataFrame:
    rows = importance.sort_values(["learner", "importance_mean"], ascending=[True, False],
                                  na_position="last")
    table = pd.DataFrame({
        "model": rows["learner"].astype(str),
        "feature group": rows["feature_group"].map(figures.feature_group_label),
        "block": rows["block"].map(lambda b: text.NOT_AVAILABLE if text.is_missing(b)
                                   else figures.block_label(b)),
        "features": rows["features"].fillna(text.NOT_AVAILABLE).astype(str)
                                    .str.replace(r",\s*", ", ", regex=True),
        "importance": rows["importance_mean"].map(text.format_number),
        "95% interval": interval_text(rows["importance_ci_low"], rows["importance_ci_high"],
                                      text.format_number),
        "folds x repeats": [f"{text.format_count(f)} x {text.format_count(r)}"
                            for f, r in zip(rows["n_folds"], rows["n_repeats"])],
    })
    if rows["note"].notna().any():
        table["note"] = rows["note"].fillna("").astype(str).to_numpy()
    return table


def notes_html(frame: pd.DataFrame, per_row: bool = False) -> str:
    """The table's own method text (the `method` column) and, unless they are listed per row,
    its notes, once each."""
    texts = [("Method", frame["method"] if "method" in frame else pd.Series(dtype="object"))]
    if not per_row:
        texts.append(("Note", frame["note"] if "note" in frame else pd.Series(dtype="object")))
    return "".join(f'<p class="muted">{label}: {esc(value)}</p>'
                   for label, values in texts for value in values.dropna().astype(str).unique())


def learners_html(comparison: pd.DataFrame) -> str:
    """Which estimator each learner is, when the table says."""
    pairs = comparison[["learner", "estimator"]].dropna().drop_duplicates()
    if pairs.empty:
        return ""
    items = "".join(f"<li>{esc(learner)} model: {esc(estimator)}</li>"
                    for learner, estimator in pairs.itertuples(index=False))
    return f'<ul class="muted">{items}</ul>'


def evidence_page(data: SiteData) -> str:
    page = PageBuilder()
    tests = data.hypothesis_tests
    page.add("<h2>Hypothesis tests: effects with 95% intervals</h2>")
    for hypothesis in ("H1_strategic_alignment", "H2_trust_eroding_events"):
        not_run = data.skipped(hypothesis)
        if not_run is not None:
            page.add(unavailable_html(not_run, f"the {text.readable(hypothesis)} test"))
    if tests["estimate"].notna().any():
        page.add("<p>Each square is an estimate, its bar the 95% confidence interval; the dashed line "
                 "is 'no effect'. Adjusted effects (double machine learning, controls: segment, "
                 "industry, region, size, early revenue) decide the verdict; predictive value is "
                 "the out-of-fold R\u00b2 the block adds over the baseline.</p>")
        page.figure(figures.hypothesis_forest_figure(tests))
        page.add(table_html(hypothesis_table(tests), text_columns=2, table_id="hypothesis-table"))
        page.add('<p class="muted">Units: see each verdict below.</p>')
        sizes = effect_size_table(tests)
        if sizes is not None:
            page.add("<h3>Sizes and robustness of the effects</h3>")
            page.add("<p>Effects per standard deviation (SD) of the treatment, the smallest effect these accounts "
                     "would find with 80% power (2.8 standard errors), and how strong a factor the data do not "
                     "record would have to be to explain an effect away: the robustness value is the share of "
                     "the treatment's and of revenue's variation left after the controls that such a factor "
                     "would have to explain (in brackets: to make the effect insignificant); the E-value is "
                     "the ratio by which it would have to change both. Compare them with the strongest "
                     "recorded control. Revenue is in months 13-24 of the customer relationship by default "
                     "(the dbt vars observation_months and outcome_months).</p>")
            page.add(table_html(sizes, text_columns=2, table_id="effect-size-table"))
    else:
        page.add(unavailable_html(Unavailable("main.hypothesis_tests",
                                              "main.hypothesis_tests holds no estimates"),
                                  "the hypothesis test estimates"))
    page.add("<h3>Verdicts</h3>")
    page.add(verdict_items(tests))

    def draw_null(null: pd.DataFrame) -> None:
        value = first_column(null, "null_statistic", "permuted_statistic", "statistic", "null_value")
        observed = first_column(null, "observed_statistic", "observed")
        group = first_column(null, "hypothesis")
        if value is None or observed is None:
            page.add(unavailable_html(Unavailable(null.attrs.get("table", "permutation*"),
                                                  f"its columns ({', '.join(null.columns)}) hold no "
                                                  "null statistic and observed statistic"),
                                      "the permutation null distribution"))
            return
        page.figure(figures.null_distribution_figure(
            null, value, null.rename(columns={observed: "observed"}), group))

    page.section("Permutation test: the null distribution and the observed statistic",
                 data.permutation_null, "the permutation null distribution", draw_null)

    draw_calibration_section(page, data.calibration_summary, data.calibration_worlds)

    def draw_model_comparison(table: pd.DataFrame) -> None:
        comparison = text.comparison_split(table, text.ACCOUNT_FOLDS)
        later = text.comparison_split(table, text.LATER_COHORTS)
        page.add("<p>How well each set of features predicts an account's later value on accounts "
                 "the model was not fitted on (out-of-fold R\u00b2: 0 is no better than the "
                 "average, 1 is perfect), for a linear and a nonlinear model. The baseline holds "
                 "the controls and the early activity; the other sets add strategic alignment, "
                 "trust-eroding events, or both. The right panel is each set's gain over the "
                 "baseline; an interval crossing 0 is no clear gain.</p>")
        page.add(f'<p id="model-comparison-verdict"><strong>'
                 f"{esc(text.model_comparison_sentence(comparison))}</strong></p>")
        page.figure(figures.model_comparison_figure(comparison))
        page.add(learners_html(comparison))
        page.add(table_html(model_comparison_table(comparison), text_columns=2,
                            table_id="model-comparison-table"))
        page.add(notes_html(comparison))
        if not later.empty:
            page.add("<h3>Trained on earlier cohorts, tested on later ones</h3>")
            page.add("<p>The same models fitted only on customers of earlier years (cohorts) and scored "
                     "on the customers of a later year: does the prediction carry forward in time? "
                     "One score per later cohort, averaged; with few test cohorts the intervals are "
                     "wide and only approximate.</p>")
            later_table = model_comparison_table(later, "R² on later cohorts", "test cohorts", with_accounts=False)
            page.add(table_html(later_table, text_columns=2, table_id="later-cohorts-table"))
            page.add(notes_html(later))

    page.section("Does alignment or trust improve prediction?", data.model_comparison,
                 "the model comparison (out-of-fold R\u00b2 per feature set)", draw_model_comparison)

    def draw_importance(importance: pd.DataFrame) -> None:
        page.add("<p>How much the models' out-of-fold predictions suffer when a group of features "
                 "is scrambled: the larger, the more the model leans on it. Each dot has a 95% "
                 "interval over folds; colour gives the block (controls, early activity, strategic "
                 "alignment, trust-eroding events, other events). Hover for the features in a "
                 "group; the table lists every group.</p>")
        page.figure(figures.feature_importance_figure(importance))
        page.add("<details><summary>The same numbers as a table</summary>"
                 + table_html(feature_importance_table(importance), text_columns=4,
                              table_id="feature-importance-table") + "</details>")
        page.add(notes_html(importance, per_row=True))

    page.section("Which features matter", data.feature_importance,
                 "the feature importance per model", draw_importance)

    def draw_forecast(forecast: pd.DataFrame) -> None:
        predicted = first_column(forecast, "predicted_value", "predicted", "prediction")
        actual = first_column(forecast, "actual_value", "actual", "observed", "realised", "realized")
        low = first_column(forecast, "predicted_low", "pi_low", "prediction_low", "lower")
        high = first_column(forecast, "predicted_high", "pi_high", "prediction_high", "upper")
        page.add(f'<p class="muted">From {esc(forecast.attrs.get("table", ""))}.</p>')
        deciles = data.forecast_deciles
        if isinstance(deciles, pd.DataFrame) and len(deciles):
            # Aggregated by the statistics stage: readable at any account count, constant size.
            page.add("<p>How well the model's predictions matched what accounts went on to be "
                     "worth, on a past cutoff: accounts are sorted by predicted value and cut into "
                     "ten groups; each dot is a group's mean predicted and mean actual value. On the "
                     "dashed diagonal the predictions are right on average.</p>")
            page.figure(figures.forecast_deciles_figure(deciles))
            evaluation = data.forecast_evaluation
            if isinstance(evaluation, pd.DataFrame) and len(evaluation):
                page.add(table_html(forecast_evaluation_table(evaluation), text_columns=1,
                                    table_id="forecast-evaluation-table"))
            return
        if predicted is None or actual is None or forecast[actual].isna().all():
            page.add(unavailable_html(Unavailable(forecast.attrs.get("table", "account_value_forecast*"),
                                                  "it holds no predicted and actual value side by side "
                                                  f"(columns: {', '.join(forecast.columns)})"),
                                      "predicted vs actual value"))
            return
        page.figure(figures.predicted_vs_actual_figure(forecast[forecast[actual].notna()],
                                                       predicted, actual, low, high))

    page.section("Forward-looking model: predicted vs actual value", data.forecast,
                 "predictions of the forward-looking model", draw_forecast)
    return page_html("evidence.html", "Evidence", page.html())


def forecast_evaluation_table(evaluation: pd.DataFrame) -> pd.DataFrame:
    """Metric by forecaster (the model vs the naive last-12-months forecast), as the table has them."""
    def formatted(metric: str, value: object) -> str:
        if metric.endswith("_pct"):
            return "n/a" if text.is_missing(value) else f"{float(value):+.1f}%"
        if metric in ("interval_coverage",):
            return text.format_pct(value)
        if metric.startswith("n_"):
            return text.format_count(value)
        return text.format_number(value)

    wide = evaluation.assign(shown=[formatted(str(m), v) for m, v in
                                    zip(evaluation["metric"], evaluation["value"])]) \
        .pivot_table(index="metric", columns="forecaster", values="shown", aggfunc="first", sort=False)
    wide = wide.fillna("-")
    wide.columns = [str(c).replace("naive_last_12_months", "naive (last 12 months)").replace("_", " ")
                    for c in wide.columns]
    wide.insert(0, "measure", [str(m).replace("_", " ") for m in wide.index])
    return wide.reset_index(drop=True).rename_axis(columns=None)


CALIBRATED_TEST = "adjusted_effect"  # the test whose verdict the hypotheses rest on


def calibration_selection(summary: TableRead, worlds: TableRead) -> tuple[TableRead, TableRead, str]:
    """The rows the section draws, and a sentence on what was left out.

    The study may cover several tests per hypothesis (`test`: adjusted effect, placebo, ...)
    and several world sizes (`accounts_per_world`): the section checks the adjusted effect's
    promises at the size with the most worlds (the larger on a tie); the rest stay in the
    warehouse tables."""
    notes = []
    size = None
    if isinstance(summary, pd.DataFrame) and len(summary):
        tests = summary["test"].dropna().astype(str)
        if CALIBRATED_TEST in set(tests):
            others = sorted(set(tests) - {CALIBRATED_TEST})
            summary = summary[summary["test"].astype(str) == CALIBRATED_TEST]
            if others:
                notes.append("The study also covers the " + ", ".join(o.replace("_", " ") for o in others)
                             + " test(s): see main.calibration_summary.")
        sizes = summary.dropna(subset=["accounts_per_world"]).groupby("accounts_per_world")["worlds"].sum()
        if len(sizes) > 1:
            size = max(sizes.index, key=lambda s: (sizes[s], s))
            others = ", ".join(f"{int(s):,}" for s in sorted(sizes.index) if s != size)
            summary = summary[summary["accounts_per_world"] == size]
            notes.append(f"Shown: worlds of {int(size):,} accounts; also studied: {others} accounts "
                         "per world (see main.calibration_summary).")
    if isinstance(worlds, pd.DataFrame) and len(worlds):
        if CALIBRATED_TEST in set(worlds["test"].dropna().astype(str)):
            worlds = worlds[worlds["test"].astype(str) == CALIBRATED_TEST]
        if size is not None and worlds["accounts_per_world"].notna().any():
            worlds = worlds[worlds["accounts_per_world"] == size]
    return summary, worlds, " ".join(notes)


def draw_calibration_section(page: PageBuilder, summary: TableRead, worlds: TableRead) -> None:
    """The calibration study: the promises checked (summary) and every world drawn (worlds)."""
    summary, worlds, selection_note = calibration_selection(summary, worlds)
    page.add("<h2>Calibration: do the tests keep their promises?</h2>")
    page.add("<p>A test makes two promises: when there is no effect, it says 'supported' at most "
             "5% of the time (false alarms), and its 95% interval contains the true effect 95% of "
             "the time (coverage). It should also find a real effect often (power; 80% is a common "
             "target). "
             "The calibration study checks them on simulated data where the truth is known. "
             "Each rate has a 95% interval: with few worlds it is wide, so a promise counts as "
             "kept when the interval reaches the promised line.</p>")
    if isinstance(summary, Unavailable):
        page.add(unavailable_html(summary, "the calibration study's summary"))
    elif summary.empty:
        page.add('<p class="muted">Nothing to show: the table holding the calibration study\'s '
                 "summary is empty.</p>")
    else:
        page.add(f'<p id="calibration-study">{esc(text.calibration_study_sentence(summary))}</p>')
        if selection_note:
            page.add(f'<p class="muted">{esc(selection_note)}</p>')
        page.figure(figures.calibration_checks_figure(summary))
        page.add('<ul id="calibration-findings">' + "".join(
            f"<li>{esc(sentence)}</li>" for sentence in text.calibration_findings(summary)) + "</ul>")
    if isinstance(worlds, Unavailable):
        page.add(unavailable_html(worlds, "each simulated world's estimate"))
    elif worlds.empty:
        page.add('<p class="muted">Nothing to show: the table holding each simulated world\'s '
                 "estimate is empty.</p>")
    else:
        page.add("<h3>Every simulated world</h3>")
        page.add("<p>Each dot is one world's estimate, its bar the 95% interval, sorted from the "
                 "lowest estimate to the highest; the dashed line is the true effect. Blue intervals "
                 "contain it, red ones miss it: about 1 in 20 should be red.</p>")
        page.figure(figures.calibration_worlds_figure(worlds))
    if isinstance(summary, pd.DataFrame) and not summary.empty:
        if summary["bias_adjusted"].notna().any() and summary["bias_naive"].notna().any():
            page.add("<h3>Bias: adjusted estimate vs naive slope</h3>")
            page.add("<p>The average error of each estimate (estimate minus the true effect), over "
                     "the simulated worlds. The naive slope compares accounts without the controls, "
                     "so other differences between accounts (such as their size) pull it away from "
                     "the truth; the test's adjusted estimate controls for them.</p>")
            page.figure(figures.calibration_bias_figure(summary))
        page.add("<details><summary>The study's summary as a table</summary>"
                 + table_html(calibration_table(summary), text_columns=2, table_id="calibration-table")
                 + "</details>")


PAGE_BUILDERS: dict[str, Callable[[SiteData], str]] = {
    "index.html": overview_page,
    "win_loss.html": win_loss_page,
    "strategic_fit.html": strategic_fit_page,
    "trust.html": trust_page,
    "evidence.html": evidence_page,
}
