"""The Overview's "What changed since the previous run" section, from main.run_changes(_summary).

The pipeline writes those tables by comparing the new build with the warehouse published before it
(dealscope/change_report.py); this module only reads and shows them. Deal and account ids are
shown, no free text.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboards.components import esc, table_html
from dashboards.reads import TableRead, Unavailable, read_optional

CHANGE_COLUMNS = ("change", "deal_id", "account_id", "hypothesis", "before", "after")
SUMMARY_COLUMNS = (
    "previous_run_id", "compared", "deals_added", "deals_removed", "stage_changes", "amount_changes",
    "close_date_changes", "accounts_lost", "verdict_changes",
)
# How each count reads in the summary sentence, in the summary's order.
COUNT_PHRASES = {
    "deals_added": "deals added",
    "deals_removed": "deals no longer in the export",
    "stage_changes": "deals changed stage",
    "amount_changes": "deals changed amount",
    "close_date_changes": "deals changed close date",
    "accounts_lost": "active accounts lost",
    "verdict_changes": "hypothesis verdicts changed",
}
CHANGE_LABELS = {
    "verdict_changed": "verdict changed", "deal_added": "deal added", "deal_removed": "deal removed",
    "stage_changed": "stage", "amount_changed": "amount", "close_date_changed": "close date",
    "account_lost": "account lost",
}
# Rows listed on the page; the table in the warehouse has them all.
LISTED_CHANGES = 50


@dataclass(frozen=True)
class RunChanges:
    summary: TableRead
    changes: TableRead


def empty_run_changes() -> RunChanges:
    missing = Unavailable("main.run_changes", "this warehouse was built before the change report existed")
    return RunChanges(missing, missing)


def read_run_changes(con: duckdb.DuckDBPyConnection) -> RunChanges:
    return RunChanges(
        summary=read_optional(con, "run_changes_summary", SUMMARY_COLUMNS),
        changes=read_optional(con, "run_changes", CHANGE_COLUMNS, order_by=("change", "deal_id", "account_id")),
    )


def change_report_html(run_changes: RunChanges) -> str:
    heading = "<h2>What changed since the previous run</h2>\n"
    summary, changes = run_changes.summary, run_changes.changes
    if isinstance(summary, Unavailable) or isinstance(changes, Unavailable) or summary.empty:
        reason = summary.reason if isinstance(summary, Unavailable) else "no summary row"
        return heading + f'<p id="run-changes" class="muted">Not available: {esc(reason)}.</p>'
    row = summary.iloc[0]
    if not bool(row["compared"]):
        return heading + ('<p id="run-changes">This is the first published run of this warehouse: '
                          "there is no previous run to compare with.</p>")
    counts = "; ".join(f"{int(row[column]):,} {phrase}" for column, phrase in COUNT_PHRASES.items())
    sentence = (f'<p id="run-changes">Compared with run {esc(row["previous_run_id"])}: {esc(counts)}.</p>')
    if changes.empty:
        return heading + sentence
    # Verdicts first: a changed conclusion matters more than any one deal.
    ordered = changes.assign(_first=changes["change"] != "verdict_changed").sort_values(
        ["_first", "change", "deal_id", "account_id"], kind="stable").head(LISTED_CHANGES)
    shown = pd.DataFrame({
        "change": ordered["change"].map(CHANGE_LABELS).fillna(ordered["change"]),
        "deal / account / hypothesis": ordered["deal_id"].fillna(ordered["account_id"]).fillna(ordered["hypothesis"]),
        "account": ordered["account_id"].fillna(""),
        "before": ordered["before"].fillna(""),
        "after": ordered["after"].fillna(""),
    })
    more = (f'<p class="muted">The first {LISTED_CHANGES:,} of {len(changes):,} changes; all are in '
            "main.run_changes.</p>" if len(changes) > LISTED_CHANGES else "")
    return (heading + sentence + "<details><summary>The changes, one per row</summary>"
            + table_html(shown, text_columns=5, table_id="run-changes-table") + more + "</details>")
