"""Win / loss (win_loss.html): what do we do well, and where not?

The page builder, its figures (win rate by dimension, strengths and weaknesses, loss
drivers, competitor response, trends) and its sentences.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.charts import (
    BOTTOM_LEGEND, BOTTOM_LEGEND_MARGIN, COLOR_ADEQUATE, COLOR_SMALL_SAMPLE, MISSING_LABEL, QUALITATIVE,
    SIDE_OFFSET, SMALL_SAMPLE, TEMPLATE, TOP_RIGHT_LEGEND, dropdown, height_for, interval_trace,
    win_rate_figure,
)
from dashboards.components import (
    PageBuilder, esc, filterable_table_html, interval_cell, page_html, split_overall, table_html,
    unavailable_html,
)
from dashboards.data import SiteData
from dashboards.formatting import (
    NOT_AVAILABLE, SIGNIFICANCE_LEVEL, apart, format_amount, format_count, format_date, format_frame,
    format_p_value, format_pct, is_missing, plural,
)
from dashboards.reads import Unavailable


def competitor_response_summary(response: pd.DataFrame, small_sample: int) -> str:
    """What followed our first win against each competitor, counted over competitor-segment
    pairs. A pair is compared only when both sides rest on at least `small_sample` deals
    (appearance share) or appearances (price cuts): a rate of 0 in 5 is not a finding.
    'Clearly' means the two 95% intervals do not overlap."""
    beaten = response[response["deals_after"].astype("float64").fillna(0) > 0]
    sentences = [f"We have beaten the competitor in {plural(len(beaten), 'competitor-segment pair')}."]
    for measure, base, what in (("appearances_per_deal", "deals", "Share of the segment's deals it appears on"),
                                ("price_cuts_per_appearance", "appearances", "Its price cuts per deal it is on")):
        enough = beaten[(beaten[f"{base}_before"].astype("float64") >= small_sample)
                        & (beaten[f"{base}_after"].astype("float64") >= small_sample)]
        left_out = len(beaten) - len(enough)
        if enough.empty:
            sentences.append(f"{what}: cannot be compared yet, no pair has {small_sample} {base} or "
                             "more both before and after our first win.")
            continue
        more, less = apart(enough, f"{measure}_before", f"{measure}_after")
        unclear = len(enough) - int(more.sum()) - int(less.sum())
        note = (f"; {plural(left_out, 'pair')} with fewer than {small_sample} {base} on one side "
                "left out" if left_out else "")
        sentences.append(f"{what}: clearly higher after our first win in {int(more.sum()):,}, clearly "
                         f"lower in {int(less.sum()):,}, no clear change in {unclear:,}{note}.")
    unbeaten = len(response) - len(beaten)
    if unbeaten:
        verb = "has" if unbeaten == 1 else "have"
        sentences.append(f"{plural(unbeaten, 'pair')} without a win against the competitor {verb} no 'after'.")
    sentences.append("(Clearly: the 95% intervals before and after do not overlap.)")
    return " ".join(sentences)


PLACEHOLDER_DRIVERS = frozenset({"unknown", "none"})  # no reason / no competitor recorded


def strengths_sentence(ranked: Any, flagged: Any, fdr_controlled: bool, shown_per_side: int) -> str:
    """How many cells differ from the company rate, and how many chance alone would give."""
    tested = len(ranked)
    strengths = int((flagged["win_rate_diff_vs_overall"] > 0).sum())
    weaknesses = int((flagged["win_rate_diff_vs_overall"] < 0).sum())
    by_chance = SIGNIFICANCE_LEVEL * tested
    if fdr_controlled:
        return (f"Cells whose win rate differs from the company rate after FDR control (Benjamini-Hochberg "
                f"over all {tested:,} cells tested, q < {SIGNIFICANCE_LEVEL:.0%}): {strengths:,} strengths "
                f"and {weaknesses:,} weaknesses, up to {shown_per_side} shown on each side. Testing each "
                f"cell at {SIGNIFICANCE_LEVEL:.0%} without correction would flag about {by_chance:.1f} "
                f"cells by chance alone even if no cell differed; after FDR control at most about "
                f"{SIGNIFICANCE_LEVEL:.0%} of the flagged cells are expected to be false.")
    return (f"Cells whose win rate differs from the company rate at the {SIGNIFICANCE_LEVEL:.0%} level, "
            f"with no correction for testing {tested:,} cells: {strengths:,} strengths and {weaknesses:,} "
            f"weaknesses, up to {shown_per_side} shown on each side; about {by_chance:.1f} such flags are "
            f"expected by chance alone.")


def loss_priorities_sentence(drivers: Any, measure: str) -> str:
    """Names the top loss reasons and the top competitor by the measure, plainly."""
    def top(kind: str, count: int) -> list[Any]:
        rows = drivers[(drivers["driver_kind"] == kind)
                       & ~drivers["driver"].astype(str).str.lower().isin(PLACEHOLDER_DRIVERS)]
        return list(rows.sort_values(measure, ascending=False).head(count).itertuples())

    def describe(row: Any) -> str:
        listed = "" if measure == "value_lost" else f"; {format_amount(row.value_lost)} at list price"
        return f"\u201c{row.driver}\u201d ({format_amount(getattr(row, measure))}{listed})"

    what = "expected value lost" if measure == "expected_value_lost" else "value lost at list price"
    reasons, competitors = top("loss_reason", 2), top("competitor", 1)
    if not reasons and not competitors:
        return f"No recorded loss reason or competitor to rank by {what}."
    parts = []
    if reasons:
        parts.append("loss reason" + ("s " if len(reasons) > 1 else " ") + " and ".join(map(describe, reasons)))
    if competitors:
        parts.append("competitor " + describe(competitors[0]))
    return f"Top priorities by {what}: " + "; ".join(parts) + "."


COLOR_STRENGTH = "#1b7f3b"
COLOR_WEAKNESS = "#c0392b"


def win_rate_by_dimension_figure(
    by_dimension: pd.DataFrame, overall_win_rate: float | None, first: str = "segment"
) -> go.Figure:
    """Win rate with Wilson intervals for one dimension at a time, chosen in a drop-down.

    Each dimension's traces come from win_rate_figure; the drop-down switches which are
    visible and the y axis's categories, so the page needs no server to filter.
    """
    drawable = by_dimension[by_dimension["win_rate"].notna()]
    dimensions = sorted(drawable["dimension"].astype(str).unique())
    if first in dimensions:
        dimensions.remove(first)
        dimensions.insert(0, first)
    figure = go.Figure()
    owners: list[str] = []
    layouts: dict[str, dict] = {}
    for dimension in dimensions:
        single = win_rate_figure(
            drawable[drawable["dimension"] == dimension], dimension, overall_win_rate
        )
        for trace in single.data:
            figure.add_trace(trace)
            owners.append(dimension)
        layouts[dimension] = {
            "yaxis.categoryarray": list(single.layout.yaxis.categoryarray),
            "height": single.layout.height + 40,
            "title.text": single.layout.title.text,
        }
        if dimension == dimensions[0]:
            figure.update_layout(single.layout)
    for trace, owner in zip(figure.data, owners):
        trace.visible = owner == dimensions[0]
    buttons = [
        {
            "label": dimension.replace("_", " "),
            "method": "update",
            "args": [{"visible": [owner == dimension for owner in owners]}, layouts[dimension]],
        }
        for dimension in dimensions
    ]
    if dimensions:
        figure.update_layout(
            height=layouts[dimensions[0]]["height"],
            updatemenus=[dropdown(buttons)],
            margin={"t": 110},
            title={"y": 0.98, "yanchor": "top"},
        )
    return figure


def strengths_weaknesses_figure(rows: pd.DataFrame) -> go.Figure:
    """Cells furthest from the company rate, as differences in percentage points.

    Rows arrive already chosen and ranked (strength_rank from win_loss); green above the
    company rate, red below; hover gives the p-value of the difference.
    """
    rows = rows.sort_values("win_rate_diff_vs_overall")
    labels = (rows["dimension"].astype(str).str.replace("_", " ") + ": "
              + rows["value"].astype("string").fillna(MISSING_LABEL))
    colors = [COLOR_STRENGTH if diff > 0 else COLOR_WEAKNESS for diff in rows["win_rate_diff_vs_overall"]]
    figure = go.Figure(
        go.Bar(
            x=rows["win_rate_diff_vs_overall"],
            y=labels,
            orientation="h",
            marker={"color": colors},
            customdata=rows[["win_rate", "diff_p_value", "deals_closed"]].astype("float64").to_numpy(),
            hovertemplate=(
                "%{y}<br>win rate %{customdata[0]:.1%}, %{x:+.1%} vs company"
                "<br>p = %{customdata[1]:.3f}, %{customdata[2]:,.0f} closed deals<extra></extra>"
            ),
            name="difference from the company rate",
        )
    )
    figure.add_vline(x=0, line={"color": "#555"})
    figure.update_layout(
        template=TEMPLATE,
        title={"text": "Strengths and weaknesses: win rate minus the company rate",
               "subtitle": {"text": "green: above the company rate; red: below"}},
        height=height_for(len(rows), base=170),
        xaxis={"title": "difference in win rate (percentage points)", "tickformat": "+.0%"},
        yaxis={"type": "category", "automargin": True},
        margin={"t": 90},
        showlegend=False,
    )
    return figure


def ranked_value_figure(
    rows: pd.DataFrame, label_column: str, value_column: str, group_column: str, title: str,
    axis_title: str,
) -> go.Figure:
    """Horizontal bars, one panel per group (e.g. loss reasons | competitors), largest on top."""
    groups = sorted(rows[group_column].astype(str).unique())
    figure = make_subplots(
        rows=1, cols=max(len(groups), 1), horizontal_spacing=0.25,
        subplot_titles=[group.replace("_", " ") for group in groups],
    )
    for column, group in enumerate(groups, start=1):
        part = rows[rows[group_column].astype(str) == group].sort_values(value_column)
        figure.add_trace(
            go.Bar(
                x=part[value_column], y=part[label_column].astype("string").fillna(MISSING_LABEL),
                orientation="h", name=group.replace("_", " "),
                marker={"color": QUALITATIVE[(column - 1) % len(QUALITATIVE)]},
                hovertemplate="%{y}<br>%{x:,.0f}<extra>%{fullData.name}</extra>",
            ),
            row=1, col=column,
        )
        figure.update_yaxes(type="category", automargin=True, row=1, col=column)
        figure.update_xaxes(title=axis_title, row=1, col=column)
    longest = max((int((rows[group_column].astype(str) == g).sum()) for g in groups), default=1)
    figure.update_layout(
        template=TEMPLATE, title=title, height=height_for(longest, base=170), showlegend=False,
    )
    return figure


def win_rate_trend_figure(quarter_rows: pd.DataFrame) -> go.Figure:
    """Win rate per close quarter with its Wilson band; a range slider picks the period."""
    rows = quarter_rows[quarter_rows["win_rate"].notna()].sort_values("value")
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=list(rows["value"]) + list(rows["value"])[::-1],
            y=list(rows["win_rate_ci_high"]) + list(rows["win_rate_ci_low"])[::-1],
            fill="toself", fillcolor="rgba(31,95,168,0.15)", line={"width": 0}, mode="lines",
            hoverinfo="skip", name="95% Wilson interval",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=rows["value"], y=rows["win_rate"], mode="lines+markers", name="win rate",
            line={"color": COLOR_ADEQUATE},
            customdata=rows[["deals_won", "deals_closed"]].to_numpy(),
            hovertemplate="%{x}: %{y:.1%}<br>%{customdata[0]} won of %{customdata[1]} closed<extra></extra>",
        )
    )
    figure.update_layout(
        template=TEMPLATE, title="Win rate by close quarter (drag the slider to pick a period)",
        height=460, yaxis={"title": "win rate", "tickformat": ".0%", "rangemode": "tozero"},
        xaxis={"type": "category", "title": "close quarter", "rangeslider": {"visible": True}},
        legend=TOP_RIGHT_LEGEND,
    )
    return figure


def loss_trend_figure(by_quarter: pd.DataFrame, top_drivers: int = 6) -> go.Figure:
    """Value lost per quarter, stacked by driver; a drop-down picks loss reasons or competitors.

    Only the drivers with most value lost overall get their own colour (the others stay in
    the table): a stack of dozens of colours cannot be read.
    """
    kinds = sorted(by_quarter["driver_kind"].astype(str).unique())
    figure = go.Figure()
    owners: list[str] = []
    for kind in kinds:
        part = by_quarter[by_quarter["driver_kind"].astype(str) == kind]
        # Ranking for colour only: the order of drivers by the table's own value_lost.
        leading = (
            part.groupby("driver", dropna=False)["value_lost"].sum().nlargest(top_drivers).index
        )
        for position, driver in enumerate(leading):
            series = part[part["driver"] == driver].sort_values("close_quarter")
            figure.add_trace(
                go.Bar(
                    x=series["close_quarter"], y=series["value_lost"],
                    name=str(driver) if pd.notna(driver) else MISSING_LABEL,
                    marker={"color": QUALITATIVE[position % len(QUALITATIVE)]},
                    visible=kind == kinds[0],
                    hovertemplate="%{x}<br>%{y:,.0f} lost<extra>%{fullData.name}</extra>",
                )
            )
            owners.append(kind)
    buttons = [
        {"label": kind.replace("_", " "), "method": "update",
         "args": [{"visible": [owner == kind for owner in owners]}]}
        for kind in kinds
    ]
    figure.update_layout(
        template=TEMPLATE, barmode="stack", height=480,
        title={"text": "Value lost by quarter, largest drivers", "y": 0.98, "yanchor": "top"},
        xaxis={"type": "category", "title": "close quarter", "rangeslider": {"visible": True}},
        yaxis={"title": "value lost (list amount)"},
        updatemenus=[dropdown(buttons)] if kinds else [], margin={"t": 110},
    )
    return figure


COLOR_BEFORE = "#7f8c8d"
COLOR_AFTER = "#1f5fa8"


def competitor_response_figure(response: pd.DataFrame) -> go.Figure:
    """Before vs after our first win against each competitor, in the segment chosen.

    Left: share of the segment's deals on which the competitor appears (Wilson interval);
    right: its price cuts per 100 deals it is on (Poisson interval). Hollow markers rest on
    fewer than SMALL_SAMPLE deals (left) or appearances (right).
    """
    response = response.assign(segment=response["segment"].astype("string").fillna("unknown"),
                               competitor=response["competitor"].astype(str))
    segments = sorted(response["segment"].unique())
    competitors = sorted(response["competitor"].unique(), reverse=True)  # A-Z from the top
    position = {competitor: index for index, competitor in enumerate(competitors)}
    figure = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
        subplot_titles=("Share of the segment's deals it appears on (95% interval)",
                        "Its price cuts per 100 deals it is on (95% interval)"),
    )
    # Price cuts are a rate per deal the competitor is on; shown per 100 such deals.
    per_100 = {f"price_cuts_per_appearance_{side}{bound}" for side in ("before", "after")
               for bound in ("", "_ci_low", "_ci_high")}
    response = response.assign(**{column: response[column].astype("float64") * 100 for column in per_100})
    owners: list[str] = []
    panels = (("appearances_per_deal", "deals", "{:.1%}", 1),
              ("price_cuts_per_appearance", "appearances", "{:.1f}", 2))
    for segment in segments:
        rows = response[response["segment"] == segment]
        for measure, base, _, column in panels:
            for side, color, offset, symbol in (("before", COLOR_BEFORE, SIDE_OFFSET, "circle"),
                                                ("after", COLOR_AFTER, -SIDE_OFFSET, "diamond")):
                counts = rows[f"{base}_{side}"].astype("float64")
                drawn = rows[rows[f"{measure}_{side}"].notna()]
                small = counts.loc[drawn.index] < SMALL_SAMPLE
                for is_small in (False, True):
                    part = drawn[small == is_small]
                    if part.empty:
                        continue
                    label = f"{side} our first win"
                    name = f"{label}, small sample: read with care" if is_small else label
                    number = ":.1%" if column == 1 else ":.1f"
                    hover = (f"%{{customdata[0]}} ({side} our first win)<br>%{{x{number}}} "
                             f"(95% CI %{{customdata[1]{number}}} to %{{customdata[2]{number}}})"
                             f"<br>%{{customdata[3]:,}} {'deals' if column == 1 else 'deals it is on'}"
                             "<extra></extra>")
                    figure.add_trace(interval_trace(
                        part[f"{measure}_{side}"],
                        [position[c] + offset for c in part["competitor"]],
                        part[f"{measure}_{side}_ci_low"], part[f"{measure}_{side}_ci_high"],
                        name, COLOR_SMALL_SAMPLE if is_small else color,
                        f"{symbol}-open" if is_small else symbol, hover,
                        list(zip(part["competitor"], part[f"{measure}_{side}_ci_low"].astype("float64"),
                                 part[f"{measure}_{side}_ci_high"].astype("float64"),
                                 part[f"{base}_{side}"].astype("int64"))),
                        legendgroup=name, showlegend=column == 1 or name not in
                        {t.name for t, o in zip(figure.data, owners) if o == segment},
                        visible=segment == segments[0]), row=1, col=column)
                    owners.append(segment)
    buttons = [{"label": f"segment: {segment}", "method": "update",
                "args": [{"visible": [owner == segment for owner in owners]}]} for segment in segments]
    figure.update_yaxes(tickvals=list(range(len(competitors))), ticktext=competitors,
                        range=[-0.6, len(competitors) - 0.4], automargin=True, showgrid=False,
                        zeroline=False)
    figure.update_xaxes(tickformat=".0%", rangemode="tozero", row=1, col=1)
    figure.update_xaxes(rangemode="tozero", row=1, col=2)
    figure.update_layout(
        template=TEMPLATE, height=height_for(2 * len(competitors), base=270),
        title={"text": "How competitors responded after we first beat them in a segment",
               "y": 0.98, "yanchor": "top"},
        legend=BOTTOM_LEGEND,
        updatemenus=[dropdown(buttons, y=1.12)] if segments else [],
        margin={"t": 130, "b": BOTTOM_LEGEND_MARGIN},
    )
    figure.update_annotations(font_size=13)
    return figure


TOP_RANKED = 10  # strengths and weaknesses shown on each side


def strengths_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "dimension": rows["dimension"].str.replace("_", " "),
        "value": rows["value"].fillna(MISSING_LABEL),
        "win rate": rows["win_rate"].map(format_pct),
        "vs company": rows["win_rate_diff_vs_overall"].map(
            lambda v: NOT_AVAILABLE if is_missing(v) else f"{float(v) * 100:+.1f} pts"),
        "p-value": rows["diff_p_value"].map(format_p_value),
        "q-value (FDR)": rows["q_value"].map(format_p_value),
        "closed deals": rows["deals_closed"].map(format_count),
        "value won": rows["value_won"].map(format_amount),
    })


def win_loss_page(data: SiteData) -> str:
    overall, by_dimension = split_overall(data.win_loss)
    overall_rate = None if overall is None else overall["win_rate"]
    page = PageBuilder()
    reference = (f"The dashed line is the company rate, {esc(format_pct(overall_rate))}."
                 if overall is not None
                 else "The company rate is not available (win_loss has no overall row).")
    page.add("<h2>Win rate by dimension</h2>")
    page.add(f"<p>Pick the dimension in the drop-down. Win rate counts closed deals only: won / "
             f"(won + lost); bars are 95% Wilson intervals. Hollow grey markers are small samples: "
             f"shown, but not reliable. {reference}</p>")
    page.figure(win_rate_by_dimension_figure(by_dimension, overall_rate))
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
        page.add(f'<p id="strengths-summary">{esc(strengths_sentence(ranked, significant, fdr_controlled, TOP_RANKED))}</p>')
        if shown.empty:
            page.add('<p class="muted">No cell differs from the company rate at that level.</p>')
        else:
            page.figure(strengths_weaknesses_figure(shown))
            page.add(table_html(strengths_table(shown.sort_values(
                "win_rate_diff_vs_overall", ascending=False)), text_columns=2, table_id="strengths-table"))

    def draw_loss_drivers(drivers: pd.DataFrame) -> None:
        # Expected value (final amount, else list x (1 - typical discount)) when dbt gives it: list
        # price overstates what a lost deal would have brought.
        expected = drivers["expected_value_lost"].notna().any()
        measure = "expected_value_lost" if expected else "value_lost"
        page.add(f'<p id="loss-priorities">{esc(loss_priorities_sentence(drivers, measure))}</p>')
        top = drivers.sort_values(measure, ascending=False).groupby("driver_kind").head(12)
        page.figure(ranked_value_figure(
            top, "driver", measure, "driver_kind",
            "Loss reasons and competitors, ranked by " + ("expected value lost" if expected else "value lost"),
            "expected value lost (final, else list x (1 - typical discount))" if expected
            else "value lost (list amount)"))
        shown = drivers if expected else drivers.drop(
            columns=["expected_value_lost", "share_of_expected_value_lost", "list_value_rank"])
        page.add(table_html(format_frame(shown.sort_values(["driver_kind", measure],
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
                 f"{SMALL_SAMPLE} deals or appearances: shown, but not reliable. "
                 "Pick the segment in the drop-down. Descriptive: it shows what followed, "
                 "not what caused it.</p>")
        summary = competitor_response_summary(response, SMALL_SAMPLE)
        page.add(f'<p id="competitor-response-summary">{esc(summary)}</p>')
        page.figure(competitor_response_figure(response))
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
        page.figure(win_rate_trend_figure(quarters))
    else:
        page.add(unavailable_html(Unavailable("main.win_loss", "win_loss has no close_quarter rows"),
                                  "the win rate by quarter"))
    if isinstance(data.loss_drivers_by_quarter, Unavailable):
        page.add(unavailable_html(data.loss_drivers_by_quarter, "value lost by driver and quarter"))
    elif len(data.loss_drivers_by_quarter):
        page.figure(loss_trend_figure(data.loss_drivers_by_quarter))
    return page_html("win_loss.html", "Win / loss", page.html())


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
        return NOT_AVAILABLE if is_missing(v) else f"{float(v) * 100:.1f}"

    first_win = long["first_win_at"].map(format_date)
    when = [("before our first win" if date == NOT_AVAILABLE else f"before {date}")
            if side == "before" else f"after {date}" for side, date in zip(long["side"], first_win)]
    return pd.DataFrame({
        "competitor": long["competitor"].astype(str),
        "segment": long["segment"].fillna("unknown").astype(str),
        "when (our first win)": when,
        "deals": long["deals"].map(format_count),
        "it appears on (95% interval)": interval_cell(
            long["appearances_per_deal"], long["appearances_per_deal_ci_low"],
            long["appearances_per_deal_ci_high"], long["deals"], format_pct),
        "price cuts / deals it is on": [f"{format_count(c)} / {format_count(a)}"
                                        for c, a in zip(long["price_cuts"], long["appearances"])],
        "price cuts per 100 deals it is on (95% interval)": interval_cell(
            long["price_cuts_per_appearance"], long["price_cuts_per_appearance_ci_low"],
            long["price_cuts_per_appearance_ci_high"], long["appearances"], per_100),
    })
