"""The five pages, each a pure function SiteData -> HTML text.

Each page answers one question of the review; every section either draws what the
warehouse holds or says plainly which table is not there yet.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from dashboards import figures, text
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
        css = "supported" if text.to_bool(row.get("supported")) else ""
        items.append(f'<li class="{css}">{esc(sentence)}</li>')
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def deciding_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """The rows that decide each hypothesis: the adjusted effects when the table says which."""
    if "test" in tests and tests["test"].notna().any():
        return tests[tests["test"].astype("string") == "adjusted_effect"]
    return tests


# --- Overview ------------------------------------------------------------------------------

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
        significant = ranked[ranked["diff_p_value"].astype("float64") < SIGNIFICANCE_LEVEL]
        # strength_rank orders cells by how far and how surely they differ (dbt); ties by size.
        order = "strength_rank" if ranked["strength_rank"].notna().any() else "win_rate_diff_vs_overall"
        strengths = significant[significant["win_rate_diff_vs_overall"] > 0]
        weaknesses = significant[significant["win_rate_diff_vs_overall"] < 0]
        if order == "strength_rank":
            shown = pd.concat([strengths.nsmallest(TOP_RANKED, order), weaknesses.nlargest(TOP_RANKED, order)])
        else:
            shown = pd.concat([strengths.nlargest(TOP_RANKED, order), weaknesses.nsmallest(TOP_RANKED, order)])
        page.add(f"<p>Cells whose win rate differs from the company rate at the "
                 f"{SIGNIFICANCE_LEVEL:.0%} level, up to {TOP_RANKED} on each side "
                 f"({len(significant):,} of {len(ranked):,} cells differ).</p>")
        if shown.empty:
            page.add('<p class="muted">No cell differs from the company rate at that level.</p>')
        else:
            page.figure(figures.strengths_weaknesses_figure(shown))
            page.add(table_html(strengths_table(shown.sort_values(
                "win_rate_diff_vs_overall", ascending=False)), text_columns=2, table_id="strengths-table"))

    def draw_loss_drivers(drivers: pd.DataFrame) -> None:
        top = drivers.sort_values("value_lost", ascending=False).groupby("driver_kind").head(12)
        page.figure(figures.ranked_value_figure(
            top, "driver", "value_lost", "driver_kind",
            "Loss reasons and competitors, ranked by value lost", "value lost (list amount)"))
        page.add(table_html(text.format_frame(drivers.sort_values(["driver_kind", "value_lost"],
                                                                  ascending=[True, False]),
                                              {"rank": "count"}), text_columns=2, table_id="loss-drivers-table"))

    page.section("Top priorities: what we lose, by value", data.loss_drivers,
                 "loss reasons and competitors ranked by value lost", draw_loss_drivers)

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
    if bands["win_rate"].notna().any():
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
                 "crossing the dashed line at 0 is no clear effect.</p>")
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
        page.add(f'<p id="won-lost-summary">{len(deals):,} won deals were followed by trust-eroding '
                 "events and a fall in the account's revenue; value at stake "
                 f"{text.format_amount(deals['value_at_stake'].sum())}.</p>")
        filters = rows[["segment", "owner"]].fillna("unknown").astype(str).reset_index(drop=True)
        page.add(note + filterable_table_html(
            text.format_frame(rows, {"trust_eroding_events_after": "count"}), filters,
            "won-lost-table", text_columns=2))

    page.section("Won the deal, lost the customer", data.won_deal_lost_customer,
                 "the won-the-deal-lost-the-customer list", draw_won_lost)

    page.add("<h2>Account value</h2>")
    page.add(f"<p>{data.account_totals.accounts:,} accounts, with or without deals. Lifetime value is "
             "the account's realised gross margin to date; pick a segment in the drop-down.</p>")
    page.figure(figures.segment_histogram_figure(
        data.account_value, "lifetime_gross_margin", "Account lifetime value (gross margin)",
        "lifetime gross margin per account"))
    page.figure(figures.alignment_value_figure(data.account_value))

    def draw_cohorts(cohorts: pd.DataFrame) -> None:
        page.add("<p>Revenue of each yearly cohort of accounts, as a share of its first-year revenue: "
                 "net (with expansion) or gross (capped at the starting revenue), chosen in the "
                 "drop-down.</p>")
        page.figure(figures.cohort_retention_figure(cohorts))

    page.section("Cohort retention", data.cohort_retention, "revenue retention by yearly cohort",
                 draw_cohorts)
    return page_html("trust.html", "Trust and relationship", page.html())


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


# Calibration measures drawn when the statistics stage's table has them (issue 4 names).
CALIBRATION_MEASURES = ("supported_rate", "rejection_rate", "two_sided_rejection_rate", "coverage",
                        "power")


def interval_columns(frame: pd.DataFrame, measure: str) -> tuple[pd.Series | None, pd.Series | None]:
    """A measure's 95% interval: `<measure>_ci_low/_high`, `<stem>_ci_low/_high` (stem without
    '_rate'), or a two-element `<stem>_ci` column; (None, None) when there is none."""
    stem = measure.removesuffix("_rate")
    for base in (measure, stem):
        if f"{base}_ci_low" in frame and f"{base}_ci_high" in frame:
            return frame[f"{base}_ci_low"], frame[f"{base}_ci_high"]
    pair = next((c for c in (f"{measure}_ci", f"{stem}_ci") if c in frame), None)
    if pair is not None and frame[pair].map(lambda v: hasattr(v, "__len__") and len(v) == 2).all():
        bounds = pd.DataFrame(frame[pair].map(list).tolist(), index=frame.index)
        return bounds[0].astype("float64"), bounds[1].astype("float64")
    return None, None


def evidence_page(data: SiteData) -> str:
    page = PageBuilder()
    tests = data.hypothesis_tests
    page.add("<h2>Hypothesis tests: effects with 95% intervals</h2>")
    if tests["estimate"].notna().any():
        page.add("<p>Each square is an estimate, its bar the 95% confidence interval; the dashed line "
                 "is 'no effect'. Adjusted effects (double machine learning, controls: segment, "
                 "industry, region, size, early revenue) decide the verdict; predictive value is "
                 "the out-of-fold R\u00b2 the block adds over the baseline.</p>")
        page.figure(figures.hypothesis_forest_figure(tests))
        page.add(table_html(hypothesis_table(tests), text_columns=2, table_id="hypothesis-table"))
        page.add('<p class="muted">Units: see each verdict below.</p>')
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

    def draw_calibration(calibration: pd.DataFrame) -> None:
        source = calibration.attrs.get("table", "")
        group_cols = [c for c in ("world", "scenario", "hypothesis", "test", "metric")
                      if c in calibration.columns]
        page.add(f'<p class="muted">From {esc(source)}. Rejection rates in the no-effect world '
                 "should be near 5%; in worlds with planted effects the rejection rate is the "
                 "power, and 95% intervals should cover the true effect about 95% of the time.</p>")
        measures = [c for c in CALIBRATION_MEASURES if c in calibration.columns][:3]
        if group_cols and measures:
            labelled = calibration.assign(
                label=calibration[group_cols].astype(str).agg(" / ".join, axis=1))
            for measure in measures:
                low, high = interval_columns(labelled, measure)
                labelled_with_ci = labelled.assign(**{f"{measure}__low": low, f"{measure}__high": high})
                page.figure(figures.calibration_figure(
                    labelled_with_ci, "label", measure,
                    f"{measure}__low" if low is not None else None,
                    f"{measure}__high" if high is not None else None, "label",
                    0.95 if "coverage" in measure else 0.05,
                    f"Calibration: {measure.replace('_', ' ')}"))
        plain = calibration.loc[:, [c for c in calibration.columns
                                    if not calibration[c].map(lambda v: isinstance(v, (list, tuple))).any()]]
        page.add(table_html(text.format_frame(plain), text_columns=len(group_cols) or 1,
                            table_id="calibration-table"))

    page.section("Calibration: do the tests keep their promises?", data.calibration,
                 "the calibration results (simulation study)", draw_calibration)

    def draw_forecast(forecast: pd.DataFrame) -> None:
        predicted = first_column(forecast, "predicted_value", "predicted", "prediction")
        actual = first_column(forecast, "actual_value", "actual", "observed", "realised", "realized")
        low = first_column(forecast, "predicted_low", "pi_low", "prediction_low", "lower")
        high = first_column(forecast, "predicted_high", "pi_high", "prediction_high", "upper")
        page.add(f'<p class="muted">From {esc(forecast.attrs.get("table", ""))}.</p>')
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


PAGE_BUILDERS: dict[str, Callable[[SiteData], str]] = {
    "index.html": overview_page,
    "win_loss.html": win_loss_page,
    "strategic_fit.html": strategic_fit_page,
    "trust.html": trust_page,
    "evidence.html": evidence_page,
}
