"""Overview (index.html): what the data covers, and the headline.

The page builder, its figure and its sentences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboards import change_report
from dashboards.charts import TEMPLATE, height_for
from dashboards.components import (
    PAGES, PageBuilder, card_html, disclosure_html, esc, page_html, split_overall, table_html,
)
from dashboards.data import SiteData
from dashboards.formatting import format_amount, format_count, format_date, format_pct, readable
from dashboards.verdicts import deciding_tests, verdict_items
from models.verdicts import ASSOCIATION_CONCLUSIONS


@dataclass(frozen=True)
class Headline:
    win_rate: str
    ci_low: str
    ci_high: str
    deals_won: str
    deals_closed: str
    value_won: str

    @property
    def interval_sentence(self) -> str:
        return (
            f"of closed deals won (95% Wilson interval {self.ci_low} to {self.ci_high}; "
            f"{self.deals_won} won of {self.deals_closed} closed)"
        )


def headline(overall: pd.Series | None) -> Headline:
    row: Mapping[str, Any] = {} if overall is None else overall
    return Headline(
        win_rate=format_pct(row.get("win_rate")),
        ci_low=format_pct(row.get("win_rate_ci_low")),
        ci_high=format_pct(row.get("win_rate_ci_high")),
        deals_won=format_count(row.get("deals_won")),
        deals_closed=format_count(row.get("deals_closed")),
        value_won=format_amount(row.get("value_won")),
    )


@dataclass(frozen=True)
class DealCoverage:
    deals: int
    by_stage: dict[str, int]
    first_created: str
    last_created: str
    first_closed: str
    last_closed: str


def deal_coverage(deals: pd.DataFrame) -> DealCoverage:
    """How many deals the warehouse holds and the dates they span."""
    stage_counts = deals["stage"].fillna("unknown").value_counts().sort_index()
    return DealCoverage(
        deals=len(deals),
        by_stage={str(stage): int(count) for stage, count in stage_counts.items()},
        first_created=format_date(deals["created_at"].min()),
        last_created=format_date(deals["created_at"].max()),
        first_closed=format_date(deals["closed_at"].min()),
        last_closed=format_date(deals["closed_at"].max()),
    )


def rejected_rows_figure(rejection_counts: pd.DataFrame) -> go.Figure:
    """Rejected input rows by reason, one bar group per source table."""
    figure = go.Figure()
    for source, part in rejection_counts.groupby("source", sort=True):
        figure.add_trace(
            go.Bar(x=part["rows_rejected"], y=part["reason"], name=str(source), orientation="h")
        )
    reasons = rejection_counts["reason"].nunique()
    figure.update_layout(
        template=TEMPLATE,
        title="Rejected input rows by reason",
        barmode="stack",
        height=height_for(reasons, base=160),
        xaxis={"title": "rows rejected"},
        yaxis={"type": "category", "automargin": True},
    )
    return figure


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
        "analysis": limited["analysis"].map(readable),
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
        "rows read": load_summary["rows_read"].map(format_count),
        "rows loaded": load_summary["rows_loaded"].map(format_count),
        "rows rejected": load_summary["rows_rejected"].map(format_count),
    })


def overview_page(data: SiteData) -> str:
    overall, _ = split_overall(data.win_loss)
    headline_numbers = headline(overall)
    coverage = deal_coverage(data.deals)
    totals = data.account_totals
    page = PageBuilder()
    page.add(disclosure_html(data.account_value))
    if overall is not None:
        win_card = card_html("Win rate (closed deals)", headline_numbers.win_rate,
                             f"95% interval {headline_numbers.ci_low} to {headline_numbers.ci_high}; "
                             f"{headline_numbers.deals_won} won of {headline_numbers.deals_closed} closed",
                             "headline-win-rate")
        value_card = card_html("Value won", headline_numbers.value_won,
                               "agreed contract value of the deals won", "headline-value-won")
    else:
        win_card = card_html("Win rate", "not available", "win_loss has no overall row")
        value_card = ""
    active = ("" if totals.active_accounts is None
              else f"; {totals.active_accounts:,} of {totals.accounts:,} accounts active")
    relationship_card = card_html(
        "Relationship value (lifetime gross margin, all accounts)",
        format_amount(totals.lifetime_gross_margin),
        f"on lifetime revenue of {format_amount(totals.lifetime_revenue)}{active}",
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
        # significant with the hypothesised sign after Holm, no check failed: an association between accounts
        associated = int(deciding.loc[per_type, "conclusion"].isin(ASSOCIATION_CONCLUSIONS).sum())
        page.add(f'<p id="per-type-summary">Per trust-eroding event type: {associated} of '
                 f"{int(per_type.sum())} types are associated with less revenue after the Holm correction "
                 "(a comparison between accounts, not shown to be an effect; "
                 'see <a href="evidence.html">Evidence</a>).</p>')
    page.add(change_report.change_report_html(data.run_changes))
    page.add(analysis_coverage_html(data.coverage))
    stages = ", ".join(f"{count:,} {esc(stage)}" for stage, count in coverage.by_stage.items())
    page.add(
        f"<h2>What the data covers</h2>\n<p id=\"coverage\">{coverage.deals:,} deals ({stages}); "
        f"created {esc(coverage.first_created)} to {esc(coverage.last_created)}, closed "
        f"{esc(coverage.first_closed)} to {esc(coverage.last_closed)}; {totals.accounts:,} accounts. "
        f"Data loaded {esc(format_date(data.load_summary['loaded_at'].max()))}.</p>"
    )
    page.add(table_html(load_summary_table(data.load_summary), text_columns=2))
    page.add("<h3>Rejected input rows, by reason</h3>")
    rejections = data.rejection_counts
    if len(rejections):
        page.add('<p class="muted">Counts only: the rejected records themselves stay in '
                 "main.rejected_rows (they may hold confidential notes).</p>")
        page.figure(rejected_rows_figure(rejections))
        page.add("<details><summary>The same counts as a table</summary>"
                 + table_html(rejections.rename(columns={"rows_rejected": "rows rejected"}),
                              text_columns=2, table_id="rejections-table") + "</details>")
    else:
        page.add('<p class="muted">No input rows were rejected.</p>')
    links = " ".join(f'<li><a href="{name}">{esc(label)}</a></li>' for name, label in PAGES[1:])
    page.add(f"<h2>More</h2>\n<ul>{links}</ul>")
    return page_html("index.html", "Deals overview", page.html())
