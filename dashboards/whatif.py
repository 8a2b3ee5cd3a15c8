"""The plan what-if page: one offline HTML file per scenario, built from a WhatIfResult.

No figure library: cards, the comparison sentences and tables, so the page is small, prints well
and opens from a file with no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dashboards.components import card_html, esc, page_html, slug, table_html
from dashboards.formatting import format_amount, format_count, format_pct, is_missing

if TYPE_CHECKING:
    from dealscope.whatif import WhatIfResult

BAND_ORDER = ("aligned", "partial", "misaligned", "no_plan")
# Rows of the changed-deal and changed-account tables shown on the page; the tables hold all.
SHOWN_ROWS = 200


def page_file_name(scenario: str) -> str:
    return f"whatif-{slug(scenario) or 'scenario'}.html"


def _interval(row: pd.Series, measure: str, fmt) -> str:
    value, low, high = row[measure], row.get(f"{measure}_ci_low"), row.get(f"{measure}_ci_high")
    if is_missing(value):
        return fmt(value)
    if is_missing(low) or is_missing(high):
        return f"{fmt(value)} (no interval)"
    return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"


def outcomes_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Plan x band, formatted, with each estimate's 95% interval in the same cell."""
    order = {band: position for position, band in enumerate(BAND_ORDER)}
    rows = outcomes.assign(_order=outcomes["alignment_band"].map(order)).sort_values(["_order", "plan"])
    return pd.DataFrame({
        "band": rows["alignment_band"],
        "plan": rows["plan"],
        "deals": rows["deals"].map(format_count),
        "win rate (95% CI)": [_interval(row, "win_rate", format_pct) for _, row in rows.iterrows()],
        "value won": rows["value_won"].map(format_amount),
        "mean won deal (95% CI)": [_interval(row, "mean_won_value", format_amount) for _, row in rows.iterrows()],
        "discount (95% CI)": [_interval(row, "avg_discount_pct", format_pct) for _, row in rows.iterrows()],
        "margin (95% CI)": [_interval(row, "avg_gross_margin_pct", format_pct) for _, row in rows.iterrows()],
        "accounts (horizon observed)": [f"{format_count(row['accounts'])} ({format_count(row['accounts_horizon_observed'])})"
                                        for _, row in rows.iterrows()],
        "later account value (95% CI)": [_interval(row, "mean_later_account_value", format_amount)
                                         for _, row in rows.iterrows()],
    })


def _changed_deals_table(deals: pd.DataFrame) -> pd.DataFrame:
    shown = deals.head(SHOWN_ROWS)
    return pd.DataFrame({
        "deal": shown["deal_id"], "account": shown["account_id"], "stage": shown["stage"],
        "created": shown["created_at"].astype(str),
        "current band": shown["current_band"], "draft band": shown["draft_band"],
        "draft targets | avoids": (shown["draft_matched_targets"].fillna("") + " | "
                          + shown["draft_matched_avoids"].fillna("")).str.strip(" |"),
        "value": shown["deal_value"].map(format_amount),
    })


def _changed_accounts_table(accounts: pd.DataFrame) -> pd.DataFrame:
    shown = accounts.head(SHOWN_ROWS)
    return pd.DataFrame({
        "account": shown["account_id"], "segment": shown["segment"],
        "current band": shown["current_band"], "draft band": shown["draft_band"],
        "lifetime revenue": shown["lifetime_revenue"].map(format_amount),
        "value over horizon": shown["horizon_value"].map(format_amount),
    })


def _band_moves(deals: pd.DataFrame) -> pd.DataFrame:
    if deals.empty:
        return pd.DataFrame({"from (current)": [], "to (draft)": [], "deals": [], "value": []})
    moves = (deals.assign(deal_value=deals["deal_value"].fillna(0))
             .groupby(["current_band", "draft_band"], dropna=False)
             .agg(deals=("deal_id", "count"), value=("deal_value", "sum")).reset_index()
             .sort_values("deals", ascending=False))
    return pd.DataFrame({"from (current)": moves["current_band"], "to (draft)": moves["draft_band"],
                         "deals": moves["deals"].map(format_count), "value": moves["value"].map(format_amount)})


def whatif_body(result: WhatIfResult) -> str:
    deals, accounts = result.changed_deals, result.changed_accounts
    load = result.load
    cards = "".join([
        card_html("deals changing band", format_count(len(deals)),
                  f"worth {format_amount(deals['deal_value'].fillna(0).sum())}", "whatif-deals-changed"),
        card_html("accounts changing band", format_count(len(accounts)), "band of the account's mean alignment",
                  "whatif-accounts-changed"),
        card_html("plan rows used", f"{format_count(load.rows_loaded)} of {format_count(load.rows_read)}",
                  f"{format_count(load.rows_rejected)} rejected", "whatif-plan-rows"),
    ])
    summary = "".join(f"<li>{esc(sentence)}</li>" for sentence in result.summary)
    parts = [
        f'<p class="muted">Scenario <strong>{esc(result.scenario)}</strong>: the draft plan '
        f"{esc(Path(result.plan_file).name)} applied to every past deal of the published warehouse, "
        f"compared with the plan in force (computed {esc(result.computed_at.strftime('%Y-%m-%d %H:%M UTC'))}). "
        "Warehouse tables: plan_whatif, plan_whatif_deals, plan_whatif_accounts, plan_whatif_rejected_rows "
        f"(scenario = '{esc(result.scenario)}').</p>",
        f'<div class="cards">{cards}</div>',
        f'<h2>What the draft changes</h2>\n<ul id="whatif-summary">{summary}</ul>',
        "<h2>Outcomes by band, current plan vs draft</h2>",
        '<p class="muted">Win rate over closed deals (Wilson interval); mean won deal, discount and margin of '
        "won deals (t intervals); later account value = revenue over the value horizon of the accounts with "
        "a deal in the band whose horizon is fully observed (normal interval). Same SQL as the warehouse's "
        "alignment_band_outcomes.</p>",
        table_html(outcomes_table(result.outcomes), text_columns=2, table_id="whatif-outcomes"),
        "<h2>Band moves</h2>",
        table_html(_band_moves(deals), text_columns=2, table_id="whatif-moves"),
        f"<h2>Deals that change band ({format_count(len(deals))}; largest first, up to {SHOWN_ROWS})</h2>",
        table_html(_changed_deals_table(deals), text_columns=7, table_id="whatif-deals"),
        f"<h2>Accounts that change band ({format_count(len(accounts))}; up to {SHOWN_ROWS})</h2>",
        table_html(_changed_accounts_table(accounts), text_columns=4, table_id="whatif-accounts"),
    ]
    if load.rows_rejected:
        rejected = load.rejected[["row_number", "reason", "detail"]].astype(str)
        parts += [f"<h2>Rejected plan rows ({format_count(load.rows_rejected)}, not used)</h2>",
                  table_html(rejected, text_columns=3, table_id="whatif-rejected")]
    return "\n".join(parts)


def write_whatif_page(result: WhatIfResult, out_dir: Path) -> Path:
    """Write whatif-<scenario>.html into out_dir (write aside, then rename); returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = page_file_name(result.scenario)
    target = out_dir / name
    staging = out_dir / f".{name}.writing"
    staging.write_text(page_html(name, f"Plan what-if: {result.scenario}", whatif_body(result)), encoding="utf-8")
    staging.replace(target)
    return target
