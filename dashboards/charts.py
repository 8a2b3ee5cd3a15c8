"""The look shared by every chart: template, colours, legends, heights and small helpers.

Figures themselves live with the page that draws them (dashboards/pages/). No figure
computes a metric: rates, intervals and estimates arrive computed, and account
distributions arrive binned by SQL (dashboards.reads).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.formatting import format_pct


TEMPLATE = "plotly_white"
COLOR_ADEQUATE = "#1f5fa8"
COLOR_SMALL_SAMPLE = "#9a9a9a"
COLOR_REFERENCE = "#c0392b"
MISSING_LABEL = "(none)"
ROW_HEIGHT_PX = 30


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


def height_for(rows: int, base: int = 140) -> int:
    return base + ROW_HEIGHT_PX * max(rows, 1)


def as_flags(values: pd.Series) -> pd.Series:
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
    rows["small"] = as_flags(rows["is_small_sample"])
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
        height=height_for(len(rows), base=190),
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


QUALITATIVE = ("#1f5fa8", "#e07b00", "#2a9d8f", "#8e44ad", "#c0392b", "#7f8c8d", "#b8860b")
MENU_POSITION = {"x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom", "pad": {"b": 8}}


def dropdown(buttons: list[dict], y: float = 1.0) -> dict:
    """A Plotly updatemenu (drop-down) placed top left, above the plot area (y in paper units)."""
    return {
        "type": "dropdown", "buttons": buttons, "direction": "down", "showactive": True,
        **MENU_POSITION, "y": y,
    }


SIDE_OFFSET = 0.16  # before / after of one competitor drawn just above / below its row


def interval_trace(x: pd.Series, y: list[float], low: pd.Series, high: pd.Series, name: str,
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
