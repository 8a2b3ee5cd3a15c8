"""Strategic fit (strategic_fit.html): do our deals fit the strategy, and does fit pay?

The page builder, its figures and its tables.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.charts import QUALITATIVE, TEMPLATE, win_rate_figure
from dashboards.components import (
    PageBuilder, filterable_table_html, interval_text, largest_rows, page_html, split_overall, table_html,
    unavailable_html,
)
from dashboards.data import SiteData
from dashboards.formatting import format_amount, format_count, format_frame, format_pct
from dashboards.reads import Unavailable


BAND_ORDER = ("misaligned", "partial", "aligned")


def band_outcomes_figure(outcomes: pd.DataFrame) -> go.Figure:
    """Win rate (with interval), discount and later account value by alignment band.

    One colour per plan version, so a plan change shows as the gap between colours.
    """
    figure = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.09,
        subplot_titles=("Win rate (95% interval)", "Average discount", "Later account value (mean)"),
    )
    plan = pd.to_datetime(outcomes["plan_effective_from"]).dt.strftime("%Y-%m-%d")
    outcomes = outcomes.assign(plan_label=("plan from " + plan).fillna("before the first plan"))
    versions = sorted(outcomes["plan_label"].unique())
    for position, version in enumerate(versions):
        part = outcomes[outcomes["plan_label"] == version].copy()
        part["order"] = part["alignment_band"].map({b: i for i, b in enumerate(BAND_ORDER)})
        part = part.sort_values("order")
        color = QUALITATIVE[position % len(QUALITATIVE)]
        name = version
        common = {"x": part["alignment_band"], "name": name, "legendgroup": name,
                  "marker": {"color": color, "size": 10}, "mode": "markers+lines",
                  "line": {"color": color, "width": 1, "dash": "dot"}}
        figure.add_trace(
            go.Scatter(
                y=part["win_rate"], **common,
                error_y={"type": "data", "symmetric": False,
                         "array": part["win_rate_ci_high"] - part["win_rate"],
                         "arrayminus": part["win_rate"] - part["win_rate_ci_low"]},
                customdata=part[["deals_closed"]].to_numpy(),
                hovertemplate="%{x}: %{y:.1%} of %{customdata[0]} closed<extra>%{fullData.name}</extra>",
            ), row=1, col=1,
        )
        figure.add_trace(
            go.Scatter(y=part["avg_discount_pct"], showlegend=False, **common,
                       hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>"),
            row=1, col=2,
        )
        figure.add_trace(
            go.Scatter(y=part["mean_later_account_value"], showlegend=False, **common,
                       error_y=({"type": "data", "symmetric": False,
                                 "array": part["mean_later_account_value_ci_high"] - part["mean_later_account_value"],
                                 "arrayminus": part["mean_later_account_value"] - part["mean_later_account_value_ci_low"]}
                                if part["mean_later_account_value_ci_low"].notna().any() else None),
                       hovertemplate="%{x}: %{y:,.0f}<extra>%{fullData.name}</extra>"),
            row=1, col=3,
        )
    present = [band for band in BAND_ORDER if band in set(outcomes["alignment_band"])]
    others = sorted(set(outcomes["alignment_band"].dropna()) - set(BAND_ORDER))
    for column in (1, 2, 3):
        figure.update_xaxes(type="category", categoryorder="array", categoryarray=others + present,
                            row=1, col=column)
    figure.update_yaxes(tickformat=".0%", row=1, col=1)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    figure.update_layout(
        template=TEMPLATE, height=470, title="Outcomes by alignment band, per plan version",
        legend={"orientation": "h", "x": 0, "y": -0.15, "title": "plan version:"},
        scattermode="group", scattergap=0.5,
        margin={"t": 100},
    )
    return figure


# Text columns first: they are left-aligned and may wrap.
AUDIT_LISTED = ("deal_id", "account_id", "owner", "stage", "matched_targets", "matched_avoids",
                "created_at", "alignment_score", "list_amount", "final_amount")


def audit_list_html(audit: pd.DataFrame, finding: str, table_id: str) -> str:
    rows = audit[audit["audit_finding"] == finding]
    if rows.empty:
        return '<p class="muted">No deals.</p>'
    rows, note = largest_rows(rows, "list_amount")
    shown = format_frame(rows.loc[:, list(AUDIT_LISTED)], {"alignment_score": "number"})
    filters = pd.DataFrame({
        "owner": rows["owner"].fillna("unknown").to_numpy(),
        "segment": rows["segment"].fillna("unknown").to_numpy(),
        "stage": rows["stage"].to_numpy(),
        "created_year": pd.to_datetime(rows["created_at"]).dt.year.astype("string").to_numpy(),
    })
    return note + filterable_table_html(shown, filters, table_id, text_columns=6)


def band_outcomes_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    band_rank = {band: position for position, band in enumerate(BAND_ORDER)}
    rows = outcomes.assign(
        band_rank=outcomes["alignment_band"].map(band_rank).fillna(-1),
        plan=pd.to_datetime(outcomes["plan_effective_from"]).dt.strftime("%Y-%m-%d"),
    ).sort_values(["plan", "band_rank"], na_position="first")
    return pd.DataFrame({
        "plan version": ("from " + rows["plan"]).fillna("before the first plan"),
        "alignment band": rows["alignment_band"],
        "deals closed": rows["deals_closed"].map(format_count),
        "win rate": rows["win_rate"].map(format_pct),
        "95% interval": interval_text(rows["win_rate_ci_low"], rows["win_rate_ci_high"], format_pct),
        "average discount": rows["avg_discount_pct"].map(format_pct),
        "accounts observed": rows["accounts_horizon_observed"].map(format_count),
        "later account value (mean)": rows["mean_later_account_value"].map(format_amount),
        "95% interval ": interval_text(rows["mean_later_account_value_ci_low"],
                                       rows["mean_later_account_value_ci_high"], format_amount),
    })


def strategic_fit_page(data: SiteData) -> str:
    page = PageBuilder()
    page.add("<p>Strategic alignment scores each deal in [-1, 1] against the strategy plan in force "
             "when it was created: aligned &ge; 0.5, partial 0 to 0.5, misaligned &lt; 0. Deals created "
             "before the first plan have no alignment (band <em>no_plan</em>).</p>")
    page.add("<h2>Alignment band vs win rate</h2>")
    _, by_dimension = split_overall(data.win_loss)
    overall, _ = split_overall(data.win_loss)
    bands = by_dimension[by_dimension["dimension"] == "alignment_band"]
    no_alignment = data.skipped("strategic_alignment")
    if no_alignment is not None:
        page.add(unavailable_html(no_alignment, "the win rate by alignment band"))
    elif bands["win_rate"].notna().any():
        page.figure(win_rate_figure(bands, "alignment_band",
                                            None if overall is None else overall["win_rate"],
                                            order=tuple(reversed(BAND_ORDER))))
    else:
        page.add(unavailable_html(Unavailable("main.win_loss", "win_loss has no alignment_band rows"),
                                  "the win rate by alignment band"))

    def draw_outcomes(outcomes: pd.DataFrame) -> None:
        page.add("<p>Win rate, discount depth (1 - final / list) and the later value of the "
                 "account, by band; one colour per plan version, so a plan change shows as the "
                 "gap between colours.</p>")
        page.figure(band_outcomes_figure(outcomes))
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
            f"but misaligned with the plan (list value {format_amount(in_name_only['list_amount'].sum())}); "
            f"<strong>{len(unflagged):,}</strong> aligned deals were never flagged strategic "
            f"(list value {format_amount(unflagged['list_amount'].sum())}).</p>"
        )
        page.add("<h3>Strategic in name only</h3>")
        page.add(audit_list_html(audit, "strategic_in_name_only", "in-name-only-table"))
        page.add("<h3>Aligned but never flagged strategic</h3>")
        page.add(audit_list_html(audit, "unflagged_aligned", "unflagged-aligned-table"))

    page.section("The \u201cstrategic in name only\u201d list", data.strategic_fit_audit,
                 "the strategic-fit audit (flagged deals that are misaligned)", draw_audit)
    return page_html("strategic_fit.html", "Strategic fit", page.html())
