"""Pure figure builders: a DataFrame of warehouse rows in, a Plotly Figure out.

No figure computes a metric: rates, intervals and estimates arrive computed, and account
distributions arrive binned by SQL (dashboards.reads), so no figure carries one point per
account and a page's size does not grow with the number of accounts.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.text import ACCOUNT_FOLDS, comparison_split, format_number, format_pct, hypothesis_label

TEMPLATE = "plotly_white"
COLOR_ADEQUATE = "#1f5fa8"
COLOR_SMALL_SAMPLE = "#9a9a9a"
COLOR_SUPPORTED = "#1b7f3b"
COLOR_NOT_SUPPORTED = "#8c8c8c"
COLOR_REFERENCE = "#c0392b"
MISSING_LABEL = "(none)"
ROW_HEIGHT_PX = 30
WEBGL_THRESHOLD = 3000
# Fewer observations than this are drawn as hollow markers marked "small sample" (dbt's
# var min_closed_deals, which sets win_loss.is_small_sample, is the same 30).
SMALL_SAMPLE = 30
# Above the plot area, clear of the x-axis title and of reference-line labels.
TOP_RIGHT_LEGEND = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"}
# For figures with subplot titles (a legend above the plot area would cover them): along the
# bottom edge of the figure, below the x-axis titles; pair it with BOTTOM_LEGEND_MARGIN.
BOTTOM_LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "yref": "container", "y": 0.0,
                 "yanchor": "bottom"}
BOTTOM_LEGEND_MARGIN = 110


def wrap(label: str, width: int = 90) -> str:
    """Long labels (hypothesis units are sentences) broken into Plotly's <br> lines."""
    return "<br>".join(textwrap.wrap(label, width)) or label


def _height_for(rows: int, base: int = 140) -> int:
    return base + ROW_HEIGHT_PX * max(rows, 1)


def _as_flags(values: pd.Series) -> pd.Series:
    return values.astype("boolean").fillna(False).astype(bool)


def win_rate_figure(
    dimension_rows: pd.DataFrame, dimension: str, overall_win_rate: float | None,
    order: tuple[str, ...] = (),
) -> go.Figure:
    """Win rate per value of one dimension, Wilson interval as error bars.

    Small-sample cells stay on the chart as hollow grey markers with their own legend
    entry; the company rate, when known, is a dashed reference line.
    """
    rows = dimension_rows[dimension_rows["win_rate"].notna()].copy()
    rows["label"] = rows["value"].astype("string").fillna(MISSING_LABEL)
    # Top to bottom in the given order, else alphabetical (a y axis draws from the bottom).
    rank = {label: position for position, label in enumerate(order)}
    rows["position"] = rows["label"].map(lambda label: rank.get(label, len(rank)))
    rows = rows.sort_values(["position", "label"], ascending=False)
    rows["small"] = _as_flags(rows["is_small_sample"])
    hover = (
        "%{y}<br>win rate %{x:.1%} (95% CI %{customdata[0]:.1%} to %{customdata[1]:.1%})"
        "<br>%{customdata[2]} won of %{customdata[3]} closed<extra>%{fullData.name}</extra>"
    )
    figure = go.Figure()
    for is_small, name, color, symbol in (
        (False, "win rate", COLOR_ADEQUATE, "circle"),
        (True, "small sample: read with care", COLOR_SMALL_SAMPLE, "circle-open"),
    ):
        part = rows[rows["small"] == is_small]
        if part.empty:
            continue
        figure.add_trace(
            go.Scatter(
                x=part["win_rate"],
                y=part["label"],
                mode="markers+text" if is_small else "markers",
                text=["small sample"] * len(part) if is_small else None,
                textposition="middle right",
                textfont={"color": COLOR_SMALL_SAMPLE, "size": 11},
                name=name,
                marker={"color": color, "symbol": symbol, "size": 10, "line": {"width": 2}},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": part["win_rate_ci_high"] - part["win_rate"],
                    "arrayminus": part["win_rate"] - part["win_rate_ci_low"],
                    "color": color,
                },
                customdata=part[
                    ["win_rate_ci_low", "win_rate_ci_high", "deals_won", "deals_closed"]
                ].to_numpy(),
                hovertemplate=hover,
            )
        )
    if overall_win_rate is not None and pd.notna(overall_win_rate):
        figure.add_vline(
            x=float(overall_win_rate),
            line={"dash": "dash", "color": COLOR_REFERENCE},
            annotation_text=f"company {format_pct(overall_win_rate)}",
            annotation_position="bottom right",
            annotation_font_color=COLOR_REFERENCE,
        )
    figure.update_layout(
        template=TEMPLATE,
        title=f"Win rate by {dimension.replace('_', ' ')}",
        height=_height_for(len(rows), base=190),
        xaxis={"title": "win rate (closed deals)", "tickformat": ".0%", "range": [0, 1.05]},
        # Both traces share one category axis: fix its order so values read A-Z top down.
        yaxis={
            "type": "category", "automargin": True,
            "categoryorder": "array", "categoryarray": list(rows["label"]),
        },
        legend=TOP_RIGHT_LEGEND,
        margin={"t": 80},
    )
    return figure


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
        height=_height_for(reasons, base=160),
        xaxis={"title": "rows rejected"},
        yaxis={"type": "category", "automargin": True},
    )
    return figure


def hypothesis_forest_figure(hypothesis_tests: pd.DataFrame) -> go.Figure:
    """Forest plot: each hypothesis's estimate with its 95% CI, one panel per unit.

    Estimates in different units do not share an axis; a dashed line marks 'no effect' (0).
    """
    tests = hypothesis_tests[hypothesis_tests["estimate"].notna()].copy()
    # One panel per kind of test when the table says which (adjusted effect, predictive
    # value): units within a kind differ only by the treatment named, so they share an axis.
    if "test" in tests and tests["test"].notna().any():
        tests["unit_label"] = tests["test"].astype("string").fillna("test not stated").str.replace("_", " ")
    else:
        tests["unit_label"] = tests["unit"].astype("string").fillna("unit not stated")
    tests["label"] = [hypothesis_label(row) for row in tests.to_dict("records")]
    tests["is_supported"] = _as_flags(tests["supported"])
    # No interval reported: draw the point alone rather than drop the hypothesis.
    estimate = tests["estimate"].astype("float64")
    tests["ci_low"] = tests["ci_low"].astype("float64").fillna(estimate)
    tests["ci_high"] = tests["ci_high"].astype("float64").fillna(estimate)
    units = sorted(tests["unit_label"].unique()) or ["unit not stated"]
    figure = make_subplots(
        rows=len(units), cols=1, subplot_titles=[wrap(unit if "test" in tests and tests["test"].notna().any() else f"unit: {unit}") for unit in units],
        row_heights=[max(int((tests["unit_label"] == unit).sum()), 1) for unit in units],
        vertical_spacing=0.45 / len(units),
    )
    legend_shown: set[bool] = set()
    for panel, unit in enumerate(units, start=1):
        in_panel = tests[tests["unit_label"] == unit]
        for is_supported, name, color in (
            (True, "supported (p < 0.05)", COLOR_SUPPORTED),
            (False, "not supported", COLOR_NOT_SUPPORTED),
        ):
            part = in_panel[in_panel["is_supported"] == is_supported]
            if part.empty:
                continue
            figure.add_trace(
                go.Scatter(
                    x=part["estimate"],
                    y=part["label"],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=is_supported not in legend_shown,
                    marker={"color": color, "size": 11, "symbol": "square"},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": part["ci_high"] - part["estimate"],
                        "arrayminus": part["estimate"] - part["ci_low"],
                        "color": color,
                    },
                    customdata=part[["ci_low", "ci_high", "p_value"]].astype("float64").to_numpy(),
                    hovertemplate=(
                        "%{y}<br>estimate %{x:.3g} (95% CI %{customdata[0]:.3g} to "
                        "%{customdata[1]:.3g})<br>p = %{customdata[2]:.3f}<extra></extra>"
                    ),
                ),
                row=panel,
                col=1,
            )
            legend_shown.add(is_supported)
        figure.add_vline(x=0, line={"dash": "dash", "color": "#555"}, row=panel, col=1)
        # Listed top-down in the table's order (a category axis draws from the bottom).
        figure.update_yaxes(type="category", automargin=True, autorange="reversed", row=panel, col=1)
    figure.update_annotations(font_size=13)  # the per-unit panel titles
    figure.update_layout(
        template=TEMPLATE,
        title="Hypothesis tests: estimates with 95% confidence intervals",
        height=_height_for(len(tests), base=160 + 130 * len(units)),
        legend={**TOP_RIGHT_LEGEND, "y": 1.06},
        margin={"t": 110},
    )
    return figure


# --- figures of the review pages ---------------------------------------------------------

COLOR_STRENGTH = "#1b7f3b"
COLOR_WEAKNESS = "#c0392b"
BAND_ORDER = ("misaligned", "partial", "aligned")
QUALITATIVE = ("#1f5fa8", "#e07b00", "#2a9d8f", "#8e44ad", "#c0392b", "#7f8c8d", "#b8860b")
MENU_POSITION = {"x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom", "pad": {"b": 8}}


def dropdown(buttons: list[dict], y: float = 1.0) -> dict:
    """A Plotly updatemenu (drop-down) placed top left, above the plot area (y in paper units)."""
    return {
        "type": "dropdown", "buttons": buttons, "direction": "down", "showactive": True,
        **MENU_POSITION, "y": y,
    }


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
        height=_height_for(len(rows), base=170),
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
        template=TEMPLATE, title=title, height=_height_for(longest, base=170), showlegend=False,
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


def interval_forest_figure(
    rows: pd.DataFrame, label_column: str, estimate: str, low: str, high: str, group_column: str,
    title: str, axis_title: str, reference: float = 0.0, color_column: str | None = None,
) -> go.Figure:
    """Estimates with 95% intervals, one drop-down choice per group (e.g. per metric).

    With color_column, markers take POLARITY_COLORS (or blue) by that column's value."""
    groups = sorted(rows[group_column].astype(str).unique())
    figure = go.Figure()
    layouts: dict[str, dict] = {}
    for group in groups:
        part = rows[rows[group_column].astype(str) == group].sort_values(label_column, ascending=False)
        values = part[estimate].astype("float64")
        colors = (COLOR_ADEQUATE if color_column is None else
                  [POLARITY_COLORS.get(str(v), COLOR_ADEQUATE) for v in part[color_column]])
        figure.add_trace(
            go.Scatter(
                x=values, y=part[label_column], mode="markers", name=group,
                visible=group == groups[0],
                marker={"color": colors, "size": 10, "symbol": "square"},
                error_x={"type": "data", "symmetric": False, "color": "#555",
                         "array": part[high].astype("float64") - values,
                         "arrayminus": values - part[low].astype("float64")},
                customdata=part[[low, high]].astype("float64").to_numpy(),
                hovertemplate=("%{y}<br>%{x:.3g} (95% CI %{customdata[0]:.3g} to "
                               "%{customdata[1]:.3g})<extra>%{fullData.name}</extra>"),
            )
        )
        layouts[group] = {"yaxis.categoryarray": list(part[label_column]),
                          "title.text": f"{title}: {group.replace('_', ' ')}"}
    figure.add_vline(x=reference, line={"dash": "dash", "color": "#555"})
    buttons = [
        {"label": group.replace("_", " "), "method": "update",
         "args": [{"visible": [g == group for g in groups]}, layouts[group]]}
        for group in groups
    ]
    most = max((int((rows[group_column].astype(str) == g).sum()) for g in groups), default=1)
    figure.update_layout(
        template=TEMPLATE, height=_height_for(most, base=200), showlegend=False,
        title={"text": layouts[groups[0]]["title.text"] if groups else title, "y": 0.98,
               "yanchor": "top"},
        xaxis={"title": axis_title, "zeroline": False},
        yaxis={"type": "category", "automargin": True, "categoryorder": "array",
               "categoryarray": layouts[groups[0]]["yaxis.categoryarray"] if groups else []},
        updatemenus=[dropdown(buttons)] if len(groups) > 1 else [], margin={"t": 110},
    )
    return figure


def cohort_retention_figure(cohorts: pd.DataFrame) -> go.Figure:
    """Net (solid) or gross (drop-down) revenue retention by years since start, per cohort."""
    figure = go.Figure()
    owners: list[str] = []
    measures = (("net_revenue_retention", "net revenue retention"),
                ("gross_revenue_retention", "gross revenue retention"))
    for measure, label in measures:
        for position, (cohort, part) in enumerate(cohorts.groupby("cohort_year", sort=True)):
            part = part.sort_values("years_since_start")
            figure.add_trace(
                go.Scatter(
                    x=part["years_since_start"], y=part[measure], mode="lines+markers",
                    name=f"cohort {cohort}", visible=measure == measures[0][0],
                    line={"color": QUALITATIVE[position % len(QUALITATIVE)]},
                    customdata=part[["accounts"]].to_numpy(),
                    hovertemplate=(f"year %{{x}}: %{{y:.0%}} {label}<br>%{{customdata[0]}} accounts"
                                   "<extra>%{fullData.name}</extra>"),
                )
            )
            owners.append(measure)
    buttons = [
        {"label": label, "method": "update",
         "args": [{"visible": [owner == measure for owner in owners]},
                  {"yaxis.title.text": label}]}
        for measure, label in measures
    ]
    figure.add_hline(y=1, line={"dash": "dash", "color": "#555"})
    figure.update_layout(
        template=TEMPLATE, height=460,
        title={"text": "Revenue retention by yearly cohort", "y": 0.98, "yanchor": "top"},
        xaxis={"title": "years since the cohort's start", "dtick": 1},
        yaxis={"title": measures[0][1], "tickformat": ".0%"},
        updatemenus=[dropdown(buttons)], margin={"t": 110},
    )
    return figure


def null_distribution_figure(null_values: pd.DataFrame, value_column: str, observed: pd.DataFrame,
                             group_column: str | None) -> go.Figure:
    """Histogram of the permutation null with the observed statistic as a red line, per group."""
    groups = sorted(null_values[group_column].astype(str).unique()) if group_column else ["all"]
    titles = [wrap(g.replace("_", " ").replace(":", ": ")) for g in groups]
    figure = make_subplots(rows=len(groups), cols=1, subplot_titles=titles,
                           vertical_spacing=0.3 / max(len(groups), 1))
    for panel, group in enumerate(groups, start=1):
        part = null_values if group_column is None else null_values[
            null_values[group_column].astype(str) == group]
        figure.add_trace(
            go.Histogram(x=part[value_column], nbinsx=40, marker={"color": COLOR_NOT_SUPPORTED},
                         name="permuted (no effect)", showlegend=panel == 1,
                         hovertemplate="%{x}<br>%{y} permutations<extra></extra>"),
            row=panel, col=1,
        )
        seen = observed if group_column is None else observed[
            observed[group_column].astype(str) == group]
        for value in seen["observed"].dropna().unique():
            figure.add_vline(x=float(value), line={"color": COLOR_REFERENCE, "width": 3},
                             annotation_text="observed", annotation_font_color=COLOR_REFERENCE,
                             row=panel, col=1)
    figure.update_yaxes(title="shuffled copies")
    figure.update_xaxes(title=value_column.replace("_", " "), row=len(groups), col=1)
    figure.update_layout(template=TEMPLATE, height=200 + 260 * len(groups),
                         title="Permutation test: null distribution and the observed statistic",
                         legend=BOTTOM_LEGEND, margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN})
    return figure


def predicted_vs_actual_figure(rows: pd.DataFrame, predicted: str, actual: str,
                               low: str | None, high: str | None) -> go.Figure:
    """Each account's predicted against realised value, with the diagonal of perfect prediction."""
    scatter = go.Scattergl if len(rows) > WEBGL_THRESHOLD else go.Scatter
    error = ({"type": "data", "symmetric": False,
              "array": rows[high].astype("float64") - rows[predicted].astype("float64"),
              "arrayminus": rows[predicted].astype("float64") - rows[low].astype("float64"),
              "color": "rgba(31,95,168,0.25)"} if low and high else None)
    figure = go.Figure(
        scatter(x=rows[predicted], y=rows[actual], mode="markers", name="accounts",
                marker={"color": COLOR_ADEQUATE, "size": 6, "opacity": 0.6},
                error_x=error, hovertemplate="predicted %{x:,.0f}<br>actual %{y:,.0f}<extra></extra>")
    )
    bounds = pd.concat([rows[predicted], rows[actual]]).astype("float64")
    if bounds.notna().any():
        lo, hi = float(bounds.min()), float(bounds.max())
        figure.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect prediction",
                                    line={"dash": "dash", "color": "#555"}, hoverinfo="skip"))
    figure.update_layout(template=TEMPLATE, height=500, title="Predicted vs actual account value",
                         xaxis={"title": predicted.replace("_", " ")},
                         yaxis={"title": actual.replace("_", " ")}, legend=TOP_RIGHT_LEGEND)
    return figure


def forecast_deciles_figure(deciles: pd.DataFrame) -> go.Figure:
    """Mean actual vs mean predicted value per tenth of accounts (by predicted value), on log
    axes, with the diagonal of perfect prediction: one dot per decile, whatever the account count."""
    rows = deciles.sort_values("decile")
    predicted, actual = rows["mean_predicted"].astype("float64"), rows["mean_actual"].astype("float64")
    counts = rows["n_accounts"].astype("float64").fillna(float("nan"))
    figure = go.Figure(go.Scatter(
        x=predicted, y=actual, mode="markers+text", name="tenth of accounts (decile)",
        text=[f"{int(d)}" for d in rows["decile"]], textposition="top left",
        marker={"color": COLOR_ADEQUATE, "size": 11},
        customdata=list(zip(rows["decile"], counts)),
        hovertemplate=("decile %{customdata[0]}: %{customdata[1]:,.0f} accounts<br>mean predicted "
                       "%{x:,.0f}<br>mean actual %{y:,.0f}<extra></extra>"),
    ))
    positive = pd.concat([predicted, actual])
    positive = positive[positive > 0]
    if len(positive):
        low, high = float(positive.min()) / 1.5, float(positive.max()) * 1.5
        figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect prediction",
                                    line={"dash": "dash", "color": "#555"}, hoverinfo="skip"))
    figure.update_layout(
        template=TEMPLATE, height=480,
        title={"text": "Predicted vs actual value, by tenth of accounts",
               "subtitle": {"text": "accounts sorted by predicted value and cut into ten equal groups "
                                    "(1: lowest); log scales"}},
        xaxis={"title": "mean predicted value", "type": "log", "dtick": 1},
        yaxis={"title": "mean actual value", "type": "log", "dtick": 1},
        legend=TOP_RIGHT_LEGEND, margin={"t": 110},
    )
    return figure


COLOR_TREATED = "#c0392b"
COLOR_COMPARISON = "#7f8c8d"
POLARITY_COLORS = {"trust_eroding": "#c0392b", "trust_building": "#1b7f3b", "competitive": "#e07b00"}


def event_study_figure(study: pd.DataFrame) -> go.Figure:
    """Before/after means of each metric for accounts with the event and comparison accounts.

    One panel per metric; a drop-down picks the event type. Panel titles carry the
    difference in differences with its 95% interval, as the warehouse computed it.
    """
    metrics = sorted(study["metric"].astype(str).unique())
    # An event type measured under several polarities (e.g. 'any') is one choice per polarity.
    polarities = study.groupby("event_type")["polarity"].transform("nunique")
    study = study.assign(event_type=study["event_type"].astype(str).where(
        polarities <= 1, study["event_type"].astype(str) + " (" + study["polarity"].astype(str) + ")"))
    # Trust-eroding types first: the story the page opens with.
    polarity_rank = {"trust_eroding": 0, "trust_building": 1}
    first_polarity = study.groupby("event_type")["polarity"].first().map(
        lambda polarity: polarity_rank.get(str(polarity), 2))
    event_types = sorted(study["event_type"].unique(), key=lambda e: (first_polarity[e], e))
    columns = min(max(len(metrics), 1), 3)
    rows = -(-max(len(metrics), 1) // columns)
    figure = make_subplots(rows=rows, cols=columns, horizontal_spacing=0.08,
                           vertical_spacing=0.28 if rows > 1 else 0.1,
                           subplot_titles=[m.replace("_", " ") for m in metrics])
    owners: list[str] = []
    titles: dict[str, list[dict]] = {}
    for event_type in event_types:
        of_type = study[study["event_type"].astype(str) == event_type]
        annotations = []
        for position, metric in enumerate(metrics):
            row, column = position // columns + 1, position % columns + 1
            cell = of_type[of_type["metric"].astype(str) == metric].copy()
            cell["order"] = cell["window"].map({"before": 0, "after": 1})
            cell = cell.sort_values("order")
            for group, value_column, color in (("with the event", "treated_value", COLOR_TREATED),
                                               ("comparison", "comparison_value", COLOR_COMPARISON)):
                figure.add_trace(
                    go.Scatter(x=cell["window"], y=cell[value_column], mode="lines+markers",
                               name=group, legendgroup=group, visible=event_type == event_types[0],
                               showlegend=position == 0, line={"color": color},
                               hovertemplate=f"{group}: %{{y:.3g}}<extra>%{{x}}</extra>"),
                    row=row, col=column,
                )
                owners.append(event_type)
            first = cell.head(1)
            signed = points_signed if is_share_metric(metric) else format_signed
            did = ("no estimate" if first.empty else
                   f"DiD {signed(first['difference_in_differences'].iloc[0])}<br>"
                   f"(95% CI {signed(first['ci_low'].iloc[0])} to "
                   f"{signed(first['ci_high'].iloc[0])})")
            annotations.append(f"<b>{metric.replace('_', ' ')}</b><br><span style='font-size:11px'>{did}</span>")
        titles[event_type] = annotations
    for annotation, label in zip(figure.layout.annotations, titles.get(event_types[0], []) if event_types else []):
        annotation.text = label
    base_annotations = [annotation.to_plotly_json() for annotation in figure.layout.annotations]

    def annotations_for(event_type: str) -> list[dict]:
        return [{**base, "text": text} for base, text in zip(base_annotations, titles[event_type])]

    buttons = [
        {"label": event_type.replace("_", " "), "method": "update",
         "args": [{"visible": [owner == event_type for owner in owners]},
                  {"annotations": annotations_for(event_type)}]}
        for event_type in event_types
    ]
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=["before", "after"])
    for position, metric in enumerate(metrics):  # shares read as percentages
        if is_share_metric(metric):
            figure.update_yaxes(tickformat=".1%", row=position // columns + 1, col=position % columns + 1)
    height = 180 + 300 * rows
    menu_y = 1 + 75 / (height - 220)  # above the panel titles, in plot-area units
    figure.update_layout(
        template=TEMPLATE, height=height,
        title={"text": "Before and after the event: accounts with it vs comparable accounts",
               "y": 0.98, "yanchor": "top"},
        updatemenus=[dropdown(buttons, y=menu_y)] if event_types else [],
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": menu_y, "yanchor": "bottom",
                "font": {"size": 13}},
        margin={"t": 170, "b": 50},
    )
    return figure


def is_share_metric(metric: str) -> bool:
    """Measures that are shares (0.21 = 21%): their differences read as percentage points."""
    return metric.endswith("_pct") or metric.endswith("_rate")


def points_signed(value: object) -> str:
    """A difference of shares in percentage points: -0.0182 -> '-1.8 pts'."""
    return "n/a" if pd.isna(value) else f"{float(value) * 100:+.1f} pts"


def format_signed(value: object) -> str:
    formatted = format_number(value)
    return formatted if formatted.startswith("-") or formatted in ("n/a", "0") else f"+{formatted}"


def escalation_path_figure(paths: pd.DataFrame) -> go.Figure:
    """The escalation path: who took over, who added a second source, margin before vs after."""
    groups = list(paths["account_group"].astype(str))
    labels = [group.replace("_", " ") for group in groups]
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.18,
                           subplot_titles=("Share of escalated accounts (95% interval)",
                                           "Gross margin before and after"))
    for name, share, color in (("buyer's management took over", "share_with_takeover", "#e07b00"),
                               ("second source added", "share_with_second_source", COLOR_REFERENCE)):
        values = paths[share].astype("float64")
        figure.add_trace(
            go.Bar(y=labels, x=values, orientation="h", name=name, marker={"color": color},
                   error_x={"type": "data", "symmetric": False,
                            "array": paths[f"{share}_ci_high"].astype("float64") - values,
                            "arrayminus": values - paths[f"{share}_ci_low"].astype("float64")},
                   customdata=paths[["accounts"]].to_numpy(),
                   hovertemplate="%{y}: %{x:.0%} of %{customdata[0]} accounts<extra>%{fullData.name}</extra>"),
            row=1, col=1,
        )
    for name, column, color in (("margin before", "margin_before_pct", COLOR_COMPARISON),
                                ("margin after", "margin_after_pct", COLOR_ADEQUATE)):
        figure.add_trace(
            go.Scatter(y=labels, x=paths[column], mode="markers", name=name,
                       marker={"color": color, "size": 12},
                       hovertemplate="%{y}: %{x:.1%}<extra>%{fullData.name}</extra>"),
            row=1, col=2,
        )
    figure.update_xaxes(tickformat=".0%")
    figure.update_yaxes(type="category", autorange="reversed", automargin=True)
    figure.update_layout(template=TEMPLATE, barmode="group", height=_height_for(2 * len(groups), base=200),
                         title="Escalation over the buyer's head, and what followed",
                         legend={"orientation": "h", "x": 0, "y": -0.2}, margin={"t": 100})
    return figure


# --- account distributions (binned in SQL) ----------------------------------------------------

def _segment_colors(segments: list[str]) -> dict[str, str]:
    return {segment: QUALITATIVE[position % len(QUALITATIVE)]
            for position, segment in enumerate(sorted(segments))}


def _views(bins: pd.DataFrame) -> list[str]:
    """'all segments' first, then the segments A-Z (the order reads.py returns them in)."""
    return list(dict.fromkeys(bins["view"].astype(str)))


def _money_tick(value: float) -> str:
    """10000 -> '10k', 2500000 -> '2.5M'."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def account_value_histogram_figure(bins: pd.DataFrame, title: str, axis_title: str) -> go.Figure:
    """Accounts per bin of lifetime value on a log scale: all segments stacked, or one segment.

    Bins arrive counted by SQL (reads.read_account_value_bins), equal in width on a log
    scale, so accounts worth a thousand and ten million both read. The x axis is log10 of
    the value, labelled in money; accounts with zero (or negative) margin get their own bar
    at the left, marked "0".
    """
    bins = bins.assign(segment=bins["segment"].astype(str), view=bins["view"].astype(str))
    zero = _as_flags(bins["is_zero_or_less"])
    placed = bins[bins["bin"].notna()].copy()
    placed["x"] = (placed["bin_low"].astype("float64").map(math.log10)
                   + placed["bin_high"].astype("float64").map(math.log10)) / 2
    width = float((placed["bin_high"].astype("float64").map(math.log10)
                   - placed["bin_low"].astype("float64").map(math.log10)).max()) if len(placed) else 1.0
    lowest = float(placed["x"].min()) if len(placed) else 0.0
    zero_x = lowest - 2 * width  # one empty bin between the zero bar and the first value bar
    zero_rows = bins[zero].assign(x=zero_x, bin_low=0.0, bin_high=0.0)
    drawn = pd.concat([zero_rows, placed], ignore_index=True)
    views = _views(bins)
    colors = _segment_colors(list(bins["segment"].unique()))
    figure = go.Figure()
    owners: list[str] = []
    for view in views:
        for segment, rows in drawn[drawn["view"] == view].groupby("segment", sort=True):
            rows = rows.sort_values("x")
            ranges = [("0 or less" if low == 0 and high == 0 else f"{_money_tick(low)} to {_money_tick(high)}")
                      for low, high in zip(rows["bin_low"].astype("float64"), rows["bin_high"].astype("float64"))]
            figure.add_trace(go.Bar(
                x=rows["x"], y=rows["accounts"], width=width * 0.95, name=segment,
                legendgroup=segment, visible=view == views[0], marker={"color": colors[segment]},
                customdata=ranges,
                hovertemplate="%{customdata}<br>%{y:,} accounts<extra>%{fullData.name}</extra>",
            ))
            owners.append(view)
    not_placed = bins[bins["bin"].isna() & ~zero]
    subtitles = {view: (f"{int(not_placed.loc[not_placed['view'] == view, 'accounts'].sum()):,} accounts "
                        "without a value are not shown"
                        if (not_placed["view"] == view).any() else "log scale: each step is x10")
                 for view in views}
    buttons = [
        {"label": view, "method": "update",
         "args": [{"visible": [owner == view for owner in owners]},
                  {"title.subtitle.text": subtitles[view]}]}
        for view in views
    ]
    top = math.ceil(float(placed["bin_high"].astype("float64").map(math.log10).max())) if len(placed) else 1
    decades = list(range(math.floor(lowest - width / 2), top + 1))
    tickvals = ([zero_x] if len(zero_rows) else []) + decades
    ticktext = (["0"] if len(zero_rows) else []) + [_money_tick(10.0 ** d) for d in decades]
    figure.update_layout(
        template=TEMPLATE, barmode="stack", height=460,
        title={"text": title, "y": 0.97, "yanchor": "top",
               "subtitle": {"text": subtitles.get(views[0], "") if views else ""}},
        xaxis={"title": f"{axis_title} (log scale)", "tickvals": tickvals, "ticktext": ticktext},
        yaxis={"title": "accounts"}, legend={"title": "segment"},
        updatemenus=[dropdown(buttons)] if views else [], margin={"t": 120},
    )
    return figure


def alignment_value_figure(bins: pd.DataFrame) -> go.Figure:
    """Lifetime value by bin of mean strategic alignment (0.1 wide), all or one segment.

    Top: each bin's mean value with its 95% interval (hollow grey when the bin holds fewer
    than SMALL_SAMPLE accounts), the median, and the middle half of accounts as a band.
    Bottom: how many accounts each bin holds. Accounts without alignment (no deal under a
    plan) cannot be placed; the subtitle says how many. Everything arrives aggregated
    (reads.read_alignment_value_bins).
    """
    views = _views(bins)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28],
                           vertical_spacing=0.05)
    owners: list[str] = []
    subtitles: dict[str, str] = {}
    first_view = views[0] if views else None

    def add(trace: go.BaseTraceType, view: str, row: int) -> None:
        trace.visible = view == first_view
        figure.add_trace(trace, row=row, col=1)
        owners.append(view)

    for view in views:
        part = bins[bins["view"].astype(str) == view]
        placed = part[part["bin"].notna()].sort_values("bin")
        left_out = int(part.loc[part["bin"].isna(), "accounts"].sum())
        verb = "has" if left_out == 1 else "have"
        subtitles[view] = (f"{left_out:,} of {int(part['accounts'].sum()):,} accounts {verb} no "
                           "alignment (no deal under a plan): not shown" if left_out else "")
        centers = ((placed["alignment_low"] + placed["alignment_high"]) / 2).astype("float64")
        low = placed["value_p25"].astype("float64")
        high = placed["value_p75"].astype("float64")
        add(go.Scatter(x=list(centers) + list(centers)[::-1], y=list(high) + list(low)[::-1],
                       fill="toself", fillcolor="rgba(31,95,168,0.12)", line={"width": 0},
                       mode="lines", hoverinfo="skip", name="middle half of accounts"), view, 1)
        add(go.Scatter(x=centers, y=placed["value_median"], mode="lines",
                       line={"color": COLOR_ADEQUATE, "width": 1, "dash": "dot"}, name="median",
                       hovertemplate="median %{y:,.0f}<extra></extra>"), view, 1)
        small = placed["accounts"].astype("int64") < SMALL_SAMPLE
        for is_small, name, color, symbol in (
            (False, "mean (95% interval)", COLOR_ADEQUATE, "square"),
            (True, f"small sample (< {SMALL_SAMPLE} accounts): read with care", COLOR_SMALL_SAMPLE,
             "square-open"),
        ):
            rows = placed[small == is_small]
            if rows.empty:
                continue
            mean = rows["mean_value"].astype("float64")
            add(go.Scatter(
                x=centers[small == is_small], y=mean, mode="markers", name=name,
                marker={"color": color, "symbol": symbol, "size": 9, "line": {"width": 2}},
                error_y={"type": "data", "symmetric": False, "color": color,
                         "array": rows["mean_value_ci_high"].astype("float64") - mean,
                         "arrayminus": mean - rows["mean_value_ci_low"].astype("float64")},
                customdata=rows[["alignment_low", "alignment_high", "mean_value_ci_low",
                                 "mean_value_ci_high", "accounts"]].astype("float64").to_numpy(),
                hovertemplate=("alignment %{customdata[0]:.1f} to %{customdata[1]:.1f}<br>mean %{y:,.0f} "
                               "(95% CI %{customdata[2]:,.0f} to %{customdata[3]:,.0f})<br>"
                               "%{customdata[4]:,.0f} accounts<extra></extra>"),
            ), view, 1)
        add(go.Bar(x=centers, y=placed["accounts"], width=0.09, name="accounts",
                   marker={"color": "#b8c4d0"}, showlegend=False,
                   hovertemplate="%{y:,} accounts<extra></extra>"), view, 2)
    # Hidden traces (visible false) are left out of the legend: each view lists its own.
    buttons = [
        {"label": view, "method": "update",
         "args": [{"visible": [owner == view for owner in owners]},
                  {"title.subtitle.text": subtitles[view]}]}
        for view in views
    ]
    figure.update_xaxes(range=[-1.05, 1.05], dtick=0.2)
    figure.update_xaxes(title="mean strategic alignment of the account's deals (bins of 0.1)", row=2, col=1)
    figure.update_yaxes(title="lifetime gross margin", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title="accounts", row=2, col=1)
    figure.update_layout(
        template=TEMPLATE, height=620,
        title={"text": "Mean strategic alignment vs lifetime value", "y": 0.97, "yanchor": "top",
               "subtitle": {"text": subtitles.get(first_view, "") if views else ""}},
        legend={**TOP_RIGHT_LEGEND, "y": 1.0}, updatemenus=[dropdown(buttons)] if views else [],
        margin={"t": 150},
    )
    return figure


# --- competitor response and our moves (descriptive marts) -------------------------------------

COLOR_BEFORE = "#7f8c8d"
COLOR_AFTER = "#1f5fa8"
SIDE_OFFSET = 0.16  # before / after of one competitor drawn just above / below its row


def _interval_trace(x: pd.Series, y: list[float], low: pd.Series, high: pd.Series, name: str,
                    color: str, symbol: str, hover: str, customdata, legendgroup: str,
                    showlegend: bool = True, visible: bool = True) -> go.Scatter:
    values = x.astype("float64")
    return go.Scatter(
        x=values, y=y, mode="markers", name=name, legendgroup=legendgroup, showlegend=showlegend,
        visible=visible, marker={"color": color, "symbol": symbol, "size": 10, "line": {"width": 2}},
        error_x={"type": "data", "symmetric": False, "color": color,
                 "array": high.astype("float64") - values, "arrayminus": values - low.astype("float64")},
        customdata=customdata, hovertemplate=hover,
    )


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
                    figure.add_trace(_interval_trace(
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
        template=TEMPLATE, height=_height_for(2 * len(competitors), base=270),
        title={"text": "How competitors responded after we first beat them in a segment",
               "y": 0.98, "yanchor": "top"},
        legend=BOTTOM_LEGEND,
        updatemenus=[dropdown(buttons, y=1.12)] if segments else [],
        margin={"t": 130, "b": BOTTOM_LEGEND_MARGIN},
    )
    figure.update_annotations(font_size=13)
    return figure


def move_label(kind: object, move: object) -> str:
    """'deal_type', 'expansion' -> 'won deal: expansion'; event types by their readable name."""
    name = str(move).replace("_", " ")
    return f"won deal: {name}" if str(kind) == "deal_type" else name


def move_precedents_figure(moves: pd.DataFrame) -> go.Figure:
    """Share of accounts with a trust-building event / an expansion deal in the months after
    each of our moves, against the share after an arbitrary month (dashed line and band)."""
    moves = moves.assign(label=[move_label(k, m) for k, m in zip(moves["move_kind"], moves["move"])])
    moves = moves.sort_values("share_with_trust_building")
    window = moves["window_months"].dropna()
    months = f"{int(window.iloc[0])} months" if len(window) else "the window"
    outcomes = (("trust_building", f"Trust-building event within {months}"),
                ("expansion", f"New expansion deal within {months}"))
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                           subplot_titles=[f"{title} (95% interval)" for _, title in outcomes])
    height = _height_for(len(moves), base=250)
    small = moves["accounts"].astype("float64") < SMALL_SAMPLE
    kinds = {"event_type": ("our move (an event type)", COLOR_ADEQUATE), "deal_type": ("won deal", "#e07b00")}
    for column, (outcome, _) in enumerate(outcomes, start=1):
        share = f"share_with_{outcome}"
        for kind, (name, color) in kinds.items():
            for is_small in (False, True):
                part = moves[(moves["move_kind"].astype(str) == kind) & (small == is_small)]
                if part.empty:
                    continue
                label = f"{name}, small sample: read with care" if is_small else name
                figure.add_trace(_interval_trace(
                    part[share], list(part["label"]), part[f"{share}_ci_low"], part[f"{share}_ci_high"],
                    label, COLOR_SMALL_SAMPLE if is_small else color,
                    "circle-open" if is_small else "circle",
                    "%{y}<br>%{x:.1%} (95% CI %{customdata[0]:.1%} to %{customdata[1]:.1%})"
                    "<br>%{customdata[2]:,} accounts<extra></extra>",
                    part[[f"{share}_ci_low", f"{share}_ci_high", "accounts"]].astype("float64").to_numpy(),
                    legendgroup=label, showlegend=column == 1), row=1, col=column)
        baseline = moves[f"baseline_share_with_{outcome}"].dropna()
        if len(baseline):
            value = float(baseline.iloc[0])
            low = moves[f"baseline_share_with_{outcome}_ci_low"].dropna()
            high = moves[f"baseline_share_with_{outcome}_ci_high"].dropna()
            if len(low) and len(high):
                figure.add_vrect(x0=float(low.iloc[0]), x1=float(high.iloc[0]), fillcolor=COLOR_REFERENCE,
                                 opacity=0.12, line_width=0, row=1, col=column)
            figure.add_vline(x=value, line={"dash": "dash", "color": COLOR_REFERENCE}, row=1, col=column,
                             annotation_text=f"any month: {format_pct(value)}",
                             annotation_position="bottom right", annotation_font_color=COLOR_REFERENCE)
    # An empty row below the last move keeps the baseline's label clear of the markers.
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=list(moves["label"]),
                        range=[-1.4, len(moves) - 0.5], automargin=True)
    figure.update_xaxes(tickformat=".0%")
    figure.update_layout(
        template=TEMPLATE, height=height,
        title="What followed our moves: trust-building events and expansion deals",
        legend=BOTTOM_LEGEND, margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN},
    )
    figure.update_annotations(font_size=13)
    return figure


# --- Evidence: calibration study, model comparison, feature importance -------------------------

WORLD_LABELS = {"null": "no-effect worlds", "planted": "planted-effect worlds"}
COLOR_NAIVE = "#e07b00"
COLOR_MISSED = "#c0392b"
POWER_TARGET = 0.8


def world_label(world: object) -> str:
    return WORLD_LABELS.get(str(world), f"{world} worlds")


def _hypothesis_name(hypothesis: object) -> str:
    """'H1_strategic_alignment' -> 'H1 strategic alignment'."""
    return str(hypothesis).replace("_", " ")


def _rate_trace(rows: pd.DataFrame, measure: str, y: list[float], name: str, color: str,
                symbol: str, showlegend: bool = True) -> go.Scatter:
    hover = ("%{customdata[0]}<br>" + name + ": %{x:.1%} (95% CI %{customdata[1]:.1%} to "
             "%{customdata[2]:.1%})<br>%{customdata[3]} worlds<extra></extra>")
    customdata = list(zip([_hypothesis_name(h) for h in rows["hypothesis"]],
                          rows[f"{measure}_ci_low"].astype("float64"),
                          rows[f"{measure}_ci_high"].astype("float64"), rows["worlds"]))
    return _interval_trace(rows[measure], y, rows[f"{measure}_ci_low"], rows[f"{measure}_ci_high"],
                           name, color, symbol, hover, customdata, legendgroup=name,
                           showlegend=showlegend)


def calibration_checks_figure(summary: pd.DataFrame) -> go.Figure:
    """The three promises, each against its line: false alarms (no-effect worlds, at most 5%),
    power (planted worlds) and 95% interval coverage, with Wilson 95% intervals."""
    hypotheses = sorted(summary["hypothesis"].astype(str).unique(), reverse=True)
    ticks = [_hypothesis_name(h) for h in hypotheses]
    position = {h: i for i, h in enumerate(hypotheses)}
    null = summary[summary["world"].astype(str) == "null"]
    planted = summary[summary["world"].astype(str) != "null"]
    figure = make_subplots(
        rows=3, cols=1, vertical_spacing=0.16,
        subplot_titles=(
            "1. False alarms: how often a test 'finds' an effect that is not there (no-effect worlds)",
            "2. Power: how often a real, planted effect is found (planted-effect worlds)",
            "3. Coverage: how often the 95% interval contains the true effect",
        ),
    )

    def at(rows: pd.DataFrame, offset: float = 0.0) -> list[float]:
        return [position[str(h)] + offset for h in rows["hypothesis"]]

    figure.add_trace(_rate_trace(null, "supported_rate", at(null, SIDE_OFFSET), "verdict 'supported'",
                                 COLOR_ADEQUATE, "square"), row=1, col=1)
    if null["two_sided_rejection_rate"].notna().any() and null["two_sided_rejection_rate_ci_low"].notna().any():
        rows = null[null["two_sided_rejection_rate"].notna()]
        figure.add_trace(_rate_trace(rows, "two_sided_rejection_rate", at(rows, -SIDE_OFFSET),
                                     "two-sided test, p < 0.05", COLOR_NAIVE, "circle"), row=1, col=1)
    figure.add_trace(_rate_trace(planted, "supported_rate", at(planted), "verdict 'supported'",
                                 COLOR_ADEQUATE, "square", showlegend=False), row=2, col=1)
    for world, offset, color, symbol in (("null", SIDE_OFFSET, COLOR_ADEQUATE, "diamond"),
                                         ("planted", -SIDE_OFFSET, COLOR_SUPPORTED, "diamond-open")):
        rows = summary[(summary["world"].astype(str) == "null") == (world == "null")]
        if len(rows):
            figure.add_trace(_rate_trace(rows, "coverage", at(rows, offset), f"coverage, {world_label(world)}",
                                         color, symbol), row=3, col=1)
    for row, value, label, dash in ((1, 0.05, "promised: at most 5%", "dash"),
                                    (2, POWER_TARGET, "80%: a common target", "dot"),
                                    (3, 0.95, "promised: 95%", "dash")):
        figure.add_vline(x=value, line={"dash": dash, "color": COLOR_REFERENCE if dash == "dash" else "#777"},
                         annotation_text=label, annotation_position="top right" if value < 0.5 else "top left",
                         annotation_font_color=COLOR_REFERENCE if dash == "dash" else "#555",
                         row=row, col=1)
    figure.update_yaxes(tickvals=list(range(len(hypotheses))), ticktext=ticks, showgrid=False,
                        zeroline=False, range=[-0.6, len(hypotheses) - 0.4], automargin=True)
    figure.update_xaxes(tickformat=".0%", range=[-0.02, 1.04])
    figure.update_xaxes(title="share of the simulated worlds", row=3, col=1)
    figure.update_annotations(font_size=13, selector={"xref": "paper"})
    figure.update_layout(template=TEMPLATE, height=250 + 3 * (90 + 45 * len(hypotheses)),
                         title="Calibration: do the tests keep their promises?",
                         legend=BOTTOM_LEGEND, margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN})
    return figure


def calibration_worlds_figure(worlds: pd.DataFrame) -> go.Figure:
    """Every simulated world's estimate with its 95% interval, sorted, against the true effect.

    One panel per hypothesis (row) and world kind (column); red marks an interval that
    misses the truth. About 5% of intervals should be red.
    """
    hypotheses = sorted(worlds["hypothesis"].astype(str).unique())
    kinds = sorted(worlds["world"].astype(str).unique(), key=lambda w: (w != "null", w))
    titles = []
    for hypothesis in hypotheses:
        for kind in kinds:
            cell = worlds[(worlds["hypothesis"].astype(str) == hypothesis) & (worlds["world"].astype(str) == kind)]
            truth = cell["truth"].dropna()
            truth_text = f"true effect {format_signed(truth.iloc[0])}" if len(truth) else "no truth"
            titles.append(f"{_hypothesis_name(hypothesis)}: {world_label(kind)} ({truth_text})")
    figure = make_subplots(rows=len(hypotheses), cols=len(kinds), shared_yaxes="rows",
                           horizontal_spacing=0.06, vertical_spacing=0.16, subplot_titles=titles)
    shown: set[str] = set()
    for row, hypothesis in enumerate(hypotheses, start=1):
        for column, kind in enumerate(kinds, start=1):
            cell = worlds[(worlds["hypothesis"].astype(str) == hypothesis)
                          & (worlds["world"].astype(str) == kind)].sort_values("estimate")
            cell = cell.assign(rank=range(1, len(cell) + 1))
            covers = ((cell["ci_low"] <= cell["truth"]) & (cell["truth"] <= cell["ci_high"])).to_numpy()
            for flag, name, color in ((True, "interval contains the true effect", COLOR_ADEQUATE),
                                      (False, "interval misses the true effect", COLOR_MISSED)):
                part = cell[covers == flag]
                if part.empty:
                    continue
                estimate = part["estimate"].astype("float64")
                figure.add_trace(go.Scatter(
                    x=part["rank"], y=estimate, mode="markers", name=name, legendgroup=name,
                    showlegend=name not in shown, marker={"color": color, "size": 5},
                    error_y={"type": "data", "symmetric": False, "color": color, "thickness": 1,
                             "width": 0, "array": part["ci_high"].astype("float64") - estimate,
                             "arrayminus": estimate - part["ci_low"].astype("float64")},
                    customdata=part[["seed", "ci_low", "ci_high", "p_value"]].astype("float64").to_numpy(),
                    hovertemplate=("seed %{customdata[0]:.0f}: estimate %{y:.3g} (95% CI "
                                   "%{customdata[1]:.3g} to %{customdata[2]:.3g}), p = %{customdata[3]:.3f}"
                                   "<extra></extra>"),
                ), row=row, col=column)
                shown.add(name)
            truth = cell["truth"].dropna()
            if len(truth):
                figure.add_trace(go.Scatter(
                    x=[0.5, len(cell) + 0.5], y=[float(truth.iloc[0])] * 2, mode="lines",
                    line={"color": "#222", "dash": "dash", "width": 2}, name="true effect",
                    legendgroup="truth", showlegend="truth" not in shown, hoverinfo="skip",
                ), row=row, col=column)
                shown.add("truth")
            figure.update_xaxes(title="worlds, sorted by estimate" if row == len(hypotheses) else None,
                                showgrid=False, row=row, col=column)
        figure.update_yaxes(title="estimate", row=row, col=1)
    figure.update_annotations(font_size=13)
    figure.update_layout(template=TEMPLATE, height=200 + 320 * len(hypotheses),
                         title="Each simulated world: the estimate and its 95% interval vs the true effect",
                         legend=BOTTOM_LEGEND, margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN})
    return figure


def calibration_bias_figure(summary: pd.DataFrame) -> go.Figure:
    """Average error (estimate - truth) of the adjusted estimate and of the naive slope, per
    hypothesis (own panel: the units differ) and world kind."""
    hypotheses = sorted(summary["hypothesis"].astype(str).unique())
    figure = make_subplots(rows=1, cols=len(hypotheses), horizontal_spacing=0.18,
                           subplot_titles=[_hypothesis_name(h) for h in hypotheses])
    for column, hypothesis in enumerate(hypotheses, start=1):
        rows = summary[summary["hypothesis"].astype(str) == hypothesis].sort_values("world", ascending=False)
        labels = [world_label(w) for w in rows["world"]]
        for measure, name, color in (("bias_adjusted", "the test's adjusted estimate", COLOR_ADEQUATE),
                                     ("bias_naive", "naive slope (no controls)", COLOR_NAIVE)):
            values = rows[measure].astype("float64")
            figure.add_trace(go.Bar(
                x=values, y=labels, orientation="h", name=name, legendgroup=name,
                showlegend=column == 1, marker={"color": color},
                text=[format_signed(v) for v in values], textposition="outside", cliponaxis=False,
                hovertemplate=f"%{{y}}<br>{name}: average error %{{x:+.3g}}<extra></extra>",
            ), row=1, col=column)
        figure.add_vline(x=0, line={"color": "#555"}, row=1, col=column)
        # Room on both sides of 0 for the value labels printed outside the bars.
        values = pd.concat([rows["bias_adjusted"], rows["bias_naive"]]).astype("float64").dropna()
        low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
        pad = 0.3 * ((high - low) or 1.0)
        figure.update_xaxes(range=[low - (pad if low < 0 else 0.02 * pad), high + pad],
                            row=1, col=column)
    figure.update_yaxes(type="category", automargin=True)
    figure.update_xaxes(title="average error (estimate - truth)", zeroline=False)
    figure.update_annotations(font_size=13)
    figure.update_layout(template=TEMPLATE, barmode="group", height=380,
                         title="Bias: how far the estimates are off on average (0 is unbiased)",
                         legend=BOTTOM_LEGEND, margin={"t": 90, "b": BOTTOM_LEGEND_MARGIN})
    return figure


FEATURE_SET_ORDER = ("baseline", "baseline+alignment", "baseline+trust", "all")
LEARNER_COLORS = {"linear": COLOR_ADEQUATE, "nonlinear": COLOR_NAIVE}


def feature_set_label(feature_set: object) -> str:
    name = str(feature_set)
    return "all features" if name == "all" else name.replace("+", " + ").replace("_", " ")


def model_comparison_figure(comparison: pd.DataFrame) -> go.Figure:
    """Out-of-fold R² per feature set and learner, and each set's gain over the baseline (the rows of
    the account-grouped folds; the later-cohort rows are a table of their own)."""
    comparison = comparison_split(comparison, ACCOUNT_FOLDS)
    sets = list(dict.fromkeys([s for s in FEATURE_SET_ORDER if s in set(comparison["feature_set"].astype(str))]
                              + sorted(set(comparison["feature_set"].astype(str)) - set(FEATURE_SET_ORDER))))
    sets = sets[::-1]  # baseline at the top
    position = {s: i for i, s in enumerate(sets)}
    learners = sorted(comparison["learner"].astype(str).unique())
    offsets = {learner: SIDE_OFFSET * (1 - 2 * i / max(len(learners) - 1, 1)) if len(learners) > 1 else 0.0
               for i, learner in enumerate(learners)}
    has_gain = comparison["gain_vs_baseline"].notna().any()
    figure = make_subplots(
        rows=1, cols=2 if has_gain else 1, shared_yaxes=True, horizontal_spacing=0.05,
        subplot_titles=("Out-of-fold R² (95% interval)", "Gain over the baseline features (95% interval)")
        [: 2 if has_gain else 1],
    )
    for index, learner in enumerate(learners):
        rows = comparison[comparison["learner"].astype(str) == learner]
        color = LEARNER_COLORS.get(learner, QUALITATIVE[index % len(QUALITATIVE)])
        y = [position[str(s)] + offsets[learner] for s in rows["feature_set"]]
        for column, measure, low, high in ((1, "r2_mean", "r2_ci_low", "r2_ci_high"),
                                           (2, "gain_vs_baseline", "gain_ci_low", "gain_ci_high")):
            if column == 2 and not has_gain:
                continue
            keep = rows[measure].notna().to_numpy()
            part = rows[keep]
            low_values = part[low].astype("float64").fillna(part[measure].astype("float64"))
            high_values = part[high].astype("float64").fillna(part[measure].astype("float64"))
            figure.add_trace(_interval_trace(
                part[measure], [v for v, k in zip(y, keep) if k], low_values, high_values,
                f"{learner} model", color, "circle" if index == 0 else "diamond",
                "%{customdata[0]}<br>%{x:.3f} (95% CI %{customdata[1]:.3f} to %{customdata[2]:.3f})"
                "<extra>%{fullData.name}</extra>",
                list(zip([feature_set_label(s) for s in part["feature_set"]], low_values, high_values)),
                legendgroup=learner, showlegend=column == 1), row=1, col=column)
    if has_gain:
        figure.add_vline(x=0, line={"dash": "dash", "color": "#555"}, row=1, col=2,
                         annotation_text="no gain", annotation_position="bottom right")
    figure.update_yaxes(tickvals=list(range(len(sets))), ticktext=[feature_set_label(s) for s in sets],
                        range=[-0.6, len(sets) - 0.4], showgrid=False, zeroline=False, automargin=True)
    figure.update_xaxes(title="R² (share of variance predicted, out of fold)", row=1, col=1)
    if has_gain:
        figure.update_xaxes(title="R² gained over the baseline", zeroline=False, row=1, col=2)
    figure.update_annotations(font_size=13, selector={"xref": "paper"})
    figure.update_layout(template=TEMPLATE, height=_height_for(2 * len(sets), base=250),
                         title="Does adding alignment or trust improve prediction?",
                         legend=BOTTOM_LEGEND, margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN})
    return figure


# Feature blocks of models/predictive.py (and shorter spellings), in legend order.
BLOCK_LABELS = {"controls": "controls", "baseline": "baseline controls", "activity": "early activity",
                "alignment": "strategic alignment", "trust_eroding": "trust-eroding events",
                "trust": "trust events", "other_events": "other events"}
BLOCK_COLORS = {"controls": "#7f8c8d", "baseline": "#7f8c8d", "activity": "#2a9d8f",
                "alignment": "#1f5fa8", "trust_eroding": "#c0392b", "trust": "#c0392b",
                "other_events": "#b8860b"}


def block_label(block: object) -> str:
    return BLOCK_LABELS.get(str(block), str(block).replace("_", " "))


def feature_group_label(name: object) -> str:
    """'n_trust_eroding__escalated_over_buyer' -> 'n trust eroding: escalated over buyer'."""
    return str(name).replace("__", ": ").replace("_", " ")


def feature_importance_figure(importance: pd.DataFrame) -> go.Figure:
    """Importance of each feature group per learner, with its interval, coloured by block.

    Groups without an estimate (e.g. a block left out of the model) are listed in the table
    with the table's note, not drawn."""
    importance = importance.assign(
        block=importance["block"].astype("string").fillna("other"),
        feature_group=importance["feature_group"].astype(str),
        features=importance["features"].astype("string").fillna(""),
    )
    importance = importance[importance["importance_mean"].notna()]
    learners = sorted(importance["learner"].astype(str).unique())
    # One order for every panel: the mean importance over learners, largest at the top.
    order = importance.groupby("feature_group")["importance_mean"].mean().sort_values().index
    labels = [feature_group_label(name) for name in order]
    figure = make_subplots(rows=1, cols=max(len(learners), 1), shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=[f"{learner} model" for learner in learners])
    blocks = sorted(importance["block"].unique(),
                    key=lambda b: (list(BLOCK_COLORS).index(b) if b in BLOCK_COLORS else len(BLOCK_COLORS), b))
    for column, learner in enumerate(learners, start=1):
        rows = importance[importance["learner"].astype(str) == learner]
        for index, block in enumerate(blocks):
            part = rows[rows["block"] == block]
            if part.empty:
                continue
            mean = part["importance_mean"].astype("float64")
            low = part["importance_ci_low"].astype("float64").fillna(mean)
            high = part["importance_ci_high"].astype("float64").fillna(mean)
            color = BLOCK_COLORS.get(block, QUALITATIVE[(index + 3) % len(QUALITATIVE)])
            figure.add_trace(_interval_trace(
                mean, [feature_group_label(name) for name in part["feature_group"]], low, high,
                block_label(block), color, "square",
                "%{y} (%{customdata[0]})<br>importance %{x:.3g} (95% CI %{customdata[1]:.3g} to "
                "%{customdata[2]:.3g})<extra>%{fullData.name}</extra>",
                list(zip([wrap(f, 60) for f in part["features"]], low, high)),
                legendgroup=block, showlegend=column == 1), row=1, col=column)
        figure.add_vline(x=0, line={"dash": "dash", "color": "#555"}, row=1, col=column)
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=labels, automargin=True)
    figure.update_xaxes(title="importance (drop in out-of-fold R²)", zeroline=False)
    figure.update_annotations(font_size=13, selector={"xref": "paper"})
    figure.update_layout(template=TEMPLATE, height=_height_for(len(order), base=250),
                         title="Which feature groups the models lean on",
                         legend={**BOTTOM_LEGEND, "title": "block:"},
                         margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN})
    return figure
