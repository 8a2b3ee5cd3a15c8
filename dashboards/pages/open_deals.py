"""Open deals (open_deals.html): which open deals deserve a closer look before negotiating?

Every open deal (main.open_deals) with its fit with the plan and its risk flags, filterable
by owner, segment, stage age and fit, each linked to its pre-negotiation brief when the site
wrote the briefs (dashboards.brief.BRIEF_LIMIT).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboards.brief import BRIEF_LIMIT, BRIEFS_DIR, brief_file_stem
from dashboards.components import PageBuilder, esc, filterable_table_html, page_html
from dashboards.formatting import format_amount, format_count, format_pct, is_missing
from dashboards.reads import TableRead, Unavailable
from dealscope.warehouse import table_exists

OPEN_DEALS_TABLE = "main.open_deals"
# The page lists at most this many deals (strategic but not fitting first, then most flags, then
# the oldest), so its size stays
# bounded at any number of open deals; the note gives the full count.
MAX_LISTED_DEALS = 2000
# Stage age buckets of the filter: (upper bound in days, label); the last is open-ended.
STAGE_AGE_BUCKETS = ((90, "up to 90 days"), (180, "91-180 days"), (365, "181-365 days"))
OLDEST_BUCKET = "over a year"
# Flag column of main.open_deals -> (short label in the list, what it means).
FLAGS = {
    "flag_strategic_not_fitting": ("not fitting", "flagged strategic but does not fit the plan"),
    "flag_weak_record": ("weak record", "our win rate on comparable deals is clearly below the company's"),
    "flag_small_sample": ("few comparables", "fewer than 30 comparable closed deals"),
    "flag_recent_trust_erosion": ("recent erosion", "trust eroded at the account in the last 12 months"),
    "flag_second_source": ("second source", "the customer added a second source before"),
}
FLAG_LABELS = {column: label for column, (label, _) in FLAGS.items()}
LISTED = ("deal_id", "account_id", "owner", "segment", "product_line", "deal_type", "competitor",
          "list_amount", "stage_age_days", "flagged_strategic", "alignment_band", "alignment_score",
          "comparable_deals_closed", "comparable_win_rate", "comparable_win_rate_ci_low",
          "comparable_win_rate_ci_high", *FLAG_LABELS)


def read_open_deals(con: duckdb.DuckDBPyConnection) -> TableRead:
    """The open deals the page lists (not fitting, most flags, oldest first), at most MAX_LISTED_DEALS of
    them, with the full count in attrs['total']; Unavailable on a warehouse without the mart."""
    if not table_exists(con, "main", "open_deals"):
        return Unavailable(OPEN_DEALS_TABLE, "table main.open_deals is not in the warehouse")
    flag_count = " + ".join(f"cast({flag} as integer)" for flag in FLAG_LABELS)
    deals = con.execute(f"SELECT {', '.join(LISTED)} FROM main.open_deals "
                        f"ORDER BY flag_strategic_not_fitting DESC, {flag_count} DESC, stage_age_days DESC, deal_id "
                        f"LIMIT {MAX_LISTED_DEALS}").df()
    deals.attrs["total"] = con.execute("SELECT count(*) FROM main.open_deals").fetchone()[0]
    return deals


def stage_age_bucket(days: object) -> str:
    if is_missing(days):
        return "unknown"
    for upper, label in STAGE_AGE_BUCKETS:
        if int(days) <= upper:
            return label
    return OLDEST_BUCKET


def flags_text(row: pd.Series) -> str:
    return ", ".join(label for column, label in FLAG_LABELS.items() if bool(row[column]))


def comparable_text(row: pd.Series) -> str:
    if is_missing(row["comparable_win_rate"]):
        return "n/a"
    return (f"{format_pct(row['comparable_win_rate'])} ({format_pct(row['comparable_win_rate_ci_low'])} to "
            f"{format_pct(row['comparable_win_rate_ci_high'])}) of {format_count(row['comparable_deals_closed'])}")


def open_deals_page(deals: TableRead, with_briefs: bool) -> str:
    page = PageBuilder()
    page.add("<p>Every open deal (strategic but not fitting first, then those with the most flags, then "
             "the oldest) with its fit with the plan in force when it was created "
             "and the flags a reviewer should see before calling it strategic. Filter by owner, segment, "
             "days open, fit or flags (no server needed). Flags: " + "; ".join(
                 f"<strong>{esc(label)}</strong>: {esc(meaning)}" for label, meaning in FLAGS.values()) + ".</p>")

    def draw(rows: pd.DataFrame) -> None:
        flagged = rows[list(FLAG_LABELS)].astype(bool)
        counts = ", ".join(f"{int(flagged[column].sum()):,} {label}" for column, label in FLAG_LABELS.items())
        total = int(rows.attrs.get("total", len(rows)))
        shown_note = ("" if total == len(rows) else
                      f" Listed: the first {len(rows):,} in that order; the flag counts are "
                      "for them; all are in main.open_deals.")
        page.add(f'<p id="open-deals-summary">{total:,} open deals; flags: {esc(counts)}.{esc(shown_note)}</p>')
        if with_briefs:
            page.add(f'<p id="briefs-note">Each deal links to its pre-negotiation brief (written with the '
                     f"site while there are at most {BRIEF_LIMIT:,} open deals; also as JSON beside it).</p>")
            hrefs = [f"{BRIEFS_DIR}/{brief_file_stem(str(deal))}.html" for deal in rows["deal_id"]]
        else:
            page.add(f'<p class="notice" id="briefs-note">{total:,} open deals are more than the '
                     f"{BRIEF_LIMIT:,} whose briefs are written with the site. Write one deal's brief with "
                     "<code>dealscope brief DEAL_ID --warehouse FILE --out DIR</code> "
                     "(HTML and JSON, in seconds).</p>")
            hrefs = [""] * len(rows)
        shown = pd.DataFrame({
            "deal": rows["deal_id"].astype(str),
            "account": rows["account_id"].astype(str),
            "owner": rows["owner"].fillna("unknown").astype(str),
            "segment": rows["segment"].fillna("unknown").astype(str),
            "product line": rows["product_line"].astype(str),
            "type": rows["deal_type"].astype(str),
            "competitor": rows["competitor"].fillna("none").astype(str),
            "flags": rows.apply(flags_text, axis=1),
            "list amount": rows["list_amount"].map(format_amount),
            "days open": rows["stage_age_days"].map(format_count),
            "flagged strategic": rows["flagged_strategic"].map(lambda v: "yes" if v else "no"),
            "fit (band)": rows["alignment_band"].fillna("no_plan").astype(str),
            "comparable win rate (95% interval) of closed deals": rows.apply(comparable_text, axis=1),
        })
        filters = pd.DataFrame({
            "owner": shown["owner"].to_numpy(),
            "segment": shown["segment"].to_numpy(),
            "days_open": rows["stage_age_days"].map(stage_age_bucket).to_numpy(),
            "fit": shown["fit (band)"].to_numpy(),
            "flagged": ["flagged" if text else "no flag" for text in shown["flags"]],
        })
        # the flags column is the list's point: wide enough to read on one or two lines
        page.add("<style>#open-deals-table td:nth-child(8) { min-width: 14em; }</style>")
        page.add(filterable_table_html(shown, filters, "open-deals-table", text_columns=8,
                                       links={"deal": hrefs}))

    page.section("Open deals", deals, "the open deals with their fit and risk flags", draw)
    return page_html("open_deals.html", "Open deals", page.html())
