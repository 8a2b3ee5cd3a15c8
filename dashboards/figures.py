"""Pure figure builders: a DataFrame of warehouse rows in, a Plotly Figure out.

No figure computes a metric: rates, intervals and estimates arrive computed; Plotly
only bins (histogram) what it is given.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.text import format_number, format_pct, hypothesis_label

TEMPLATE = "plotly_white"
COLOR_ADEQUATE = "#1f5fa8"
COLOR_SMALL_SAMPLE = "#9a9a9a"
COLOR_SUPPORTED = "#1b7f3b"
COLOR_NOT_SUPPORTED = "#8c8c8c"
COLOR_REFERENCE = "#c0392b"
MISSING_LABEL = "(none)"
ROW_HEIGHT_PX = 30
WEBGL_THRESHOLD = 3000
# Above the plot area, clear of the x-axis title and of reference-line labels.
TOP_RIGHT_LEGEND = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"}


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


def account_value_distribution_figure(account_value: pd.DataFrame) -> go.Figure:
    """Histogram of lifetime gross margin per account, one overlaid series per segment."""
    accounts = account_value.assign(segment=account_value["segment"].fillna("unknown"))
    figure = go.Figure()
    for segment, part in accounts.groupby("segment", sort=True):
        figure.add_trace(
            go.Histogram(
                x=part["lifetime_gross_margin"], name=str(segment), opacity=0.65, nbinsx=60,
                bingroup="accounts",  # one set of bins for every segment, so bars compare
                hovertemplate="lifetime value %{x}<br>%{y} accounts<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        template=TEMPLATE,
        title="Account lifetime value (gross margin) distribution",
        barmode="overlay",
        height=420,
        xaxis={"title": "lifetime gross margin per account"},
        yaxis={"title": "accounts"},
        legend={"title": "segment"},
    )
    return figure


def alignment_value_figure(account_value: pd.DataFrame) -> go.Figure:
    """Each account's mean strategic alignment against its lifetime value.

    Accounts without alignment (no deals under a plan) cannot be placed on the x axis;
    the title says how many are left out rather than plotting them at 0.
    """
    placed = account_value[account_value["mean_alignment"].notna()]
    left_out = len(account_value) - len(placed)
    placed = placed.assign(segment=placed["segment"].fillna("unknown"))
    # SVG markers get slow past a few thousand points; WebGL draws them at any count.
    scatter = go.Scattergl if len(placed) > WEBGL_THRESHOLD else go.Scatter
    figure = go.Figure()
    for segment, part in placed.groupby("segment", sort=True):
        figure.add_trace(
            scatter(
                x=part["mean_alignment"],
                y=part["lifetime_gross_margin"],
                mode="markers",
                name=str(segment),
                marker={"size": 7, "opacity": 0.7},
                customdata=part[["account_id", "deals_won"]].to_numpy(),
                hovertemplate=(
                    "account %{customdata[0]}<br>mean alignment %{x:.2f}"
                    "<br>lifetime value %{y:,.0f}<br>%{customdata[1]} deals won"
                    "<extra>%{fullData.name}</extra>"
                ),
            )
        )
    subtitle = f"{left_out:,} accounts without alignment not shown" if left_out else ""
    figure.update_layout(
        template=TEMPLATE,
        title={
            "text": "Mean strategic alignment vs lifetime value",
            "subtitle": {"text": subtitle},
        },
        height=460,
        xaxis={"title": "mean strategic alignment of the account's deals", "range": [-1.05, 1.05]},
        yaxis={"title": "lifetime gross margin"},
        legend={"title": "segment"},
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


def segment_histogram_figure(account_value: pd.DataFrame, value_column: str, title: str,
                             axis_title: str) -> go.Figure:
    """Distribution of an account value column; a drop-down shows one segment or all."""
    figure = account_value_distribution_figure(
        account_value.assign(lifetime_gross_margin=account_value[value_column])
    )
    segments = [trace.name for trace in figure.data]
    buttons = [{"label": "all segments", "method": "update",
                "args": [{"visible": [True] * len(segments)}]}] + [
        {"label": segment, "method": "update",
         "args": [{"visible": [name == segment for name in segments]}]}
        for segment in segments
    ]
    figure.update_layout(
        title={"text": title, "y": 0.98, "yanchor": "top"}, xaxis={"title": axis_title},
        updatemenus=[dropdown(buttons)], margin={"t": 110},
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
    figure = make_subplots(rows=len(groups), cols=1, subplot_titles=[wrap(g) for g in groups],
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
    figure.update_layout(template=TEMPLATE, height=160 + 260 * len(groups),
                         title="Permutation test: null distribution and the observed statistic",
                         legend=TOP_RIGHT_LEGEND, margin={"t": 100})
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


def calibration_figure(rows: pd.DataFrame, x: str, y: str, low: str | None, high: str | None,
                       group_column: str | None, nominal: float | None, title: str) -> go.Figure:
    """A calibration result (e.g. rejection rate or coverage per scenario) with its interval."""
    label = rows[group_column].astype(str) if group_column else rows[x].astype(str)
    values = rows[y].astype("float64")
    error = ({"type": "data", "symmetric": False,
              "array": rows[high].astype("float64") - values,
              "arrayminus": values - rows[low].astype("float64")} if low and high else None)
    figure = go.Figure(go.Scatter(x=values, y=label, mode="markers", error_x=error,
                                  marker={"color": COLOR_ADEQUATE, "size": 10, "symbol": "square"},
                                  hovertemplate="%{y}: %{x:.3g}<extra></extra>", name=y))
    if nominal is not None:
        figure.add_vline(x=nominal, line={"dash": "dash", "color": COLOR_REFERENCE},
                         annotation_text=f"nominal {nominal:g}", annotation_font_color=COLOR_REFERENCE)
    figure.update_layout(template=TEMPLATE, title=title, height=_height_for(len(rows), base=180),
                         xaxis={"title": y.replace("_", " ")},
                         yaxis={"type": "category", "automargin": True}, showlegend=False)
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
            did = ("no estimate" if first.empty else
                   f"DiD {format_signed(first['difference_in_differences'].iloc[0])}<br>"
                   f"(95% CI {format_signed(first['ci_low'].iloc[0])} to "
                   f"{format_signed(first['ci_high'].iloc[0])})")
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


def format_signed(value: object) -> str:
    formatted = format_number(value)
    return formatted if formatted.startswith("-") or formatted == "n/a" else f"+{formatted}"


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
