"""Pure figure builders: a DataFrame of warehouse rows in, a Plotly Figure out.

No figure computes a metric: rates, intervals and estimates arrive computed; Plotly
only bins (histogram) what it is given.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.text import format_pct, hypothesis_label

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
    dimension_rows: pd.DataFrame, dimension: str, overall_win_rate: float | None
) -> go.Figure:
    """Win rate per value of one dimension, Wilson interval as error bars.

    Small-sample cells stay on the chart as hollow grey markers with their own legend
    entry; the company rate, when known, is a dashed reference line.
    """
    rows = dimension_rows[dimension_rows["win_rate"].notna()].copy()
    rows["label"] = rows["value"].astype("string").fillna(MISSING_LABEL)
    rows = rows.sort_values("label", ascending=False)  # top-to-bottom alphabetical on a y axis
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
                x=part["lifetime_gross_margin"], name=str(segment), opacity=0.65, nbinsx=40,
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
    tests["unit_label"] = tests["unit"].astype("string").fillna("unit not stated")
    tests["label"] = [hypothesis_label(row) for row in tests.to_dict("records")]
    tests["is_supported"] = _as_flags(tests["supported"])
    # No interval reported: draw the point alone rather than drop the hypothesis.
    estimate = tests["estimate"].astype("float64")
    tests["ci_low"] = tests["ci_low"].astype("float64").fillna(estimate)
    tests["ci_high"] = tests["ci_high"].astype("float64").fillna(estimate)
    units = sorted(tests["unit_label"].unique()) or ["unit not stated"]
    figure = make_subplots(
        rows=len(units), cols=1, subplot_titles=[wrap(f"unit: {unit}") for unit in units],
        row_heights=[max(int((tests["unit_label"] == unit).sum()), 1) for unit in units],
        vertical_spacing=0.25 / len(units),
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
        figure.update_yaxes(type="category", automargin=True, row=panel, col=1)
    figure.update_annotations(font_size=13)  # the per-unit panel titles
    figure.update_layout(
        template=TEMPLATE,
        title="Hypothesis tests: estimates with 95% confidence intervals",
        height=_height_for(len(tests), base=160 + 90 * len(units)),
        legend={**TOP_RIGHT_LEGEND, "y": 1.06},
        margin={"t": 110},
    )
    return figure
