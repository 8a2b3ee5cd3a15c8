"""Trust and relationship (trust.html): what happened after trust broke, and what is a
relationship worth?

The page builder, its figures (event study, escalation path, move precedents, account
value, cohort retention) and its sentences.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.charts import (
    BOTTOM_LEGEND, BOTTOM_LEGEND_MARGIN, COLOR_ADEQUATE, COLOR_REFERENCE, COLOR_SMALL_SAMPLE, QUALITATIVE,
    SMALL_SAMPLE, TEMPLATE, TOP_RIGHT_LEGEND, as_flags, dropdown, height_for, interval_trace,
)
from dashboards.components import (
    PageBuilder, disclosure_html, esc, filterable_table_html, interval_cell, largest_rows, page_html,
    table_html, unavailable_html,
)
from dashboards.data import SiteData
from dashboards.formatting import (
    apart, format_amount, format_count, format_frame, format_pct, format_signed, plural,
)


def move_precedents_summary(moves: pd.DataFrame, small_sample: int) -> str:
    """Which of our moves were followed by trust-building / expansion more or less often than an
    arbitrary month (95% intervals apart)."""
    window = moves["window_months"].dropna()
    months = f"{int(window.iloc[0])} months" if len(window) else "the window"
    labels = [
        (f"won {move} deal".replace("_", " ") if str(kind) == "deal_type" else str(move).replace("_", " "))
        for kind, move in zip(moves["move_kind"], moves["move"])
    ]
    moves = moves.assign(label=labels)
    sentences = []
    for outcome, what in (("trust_building", "a trust-building event"), ("expansion", "a new expansion deal")):
        baseline = moves[f"baseline_share_with_{outcome}"].dropna()
        if baseline.empty:
            continue
        above, below = apart(moves, f"baseline_share_with_{outcome}", f"share_with_{outcome}")
        above_list = ", ".join(moves.loc[above, "label"]) or "none"
        below_list = ", ".join(moves.loc[below, "label"]) or "none"
        sentences.append(
            f"After an arbitrary month, {format_pct(baseline.iloc[0])} of accounts had {what} within "
            f"{months}. More often after: {above_list}. Less often after: {below_list}.")
    small = int((moves["accounts"].astype("float64") < small_sample).sum())
    if small:
        verb = "rests" if small == 1 else "rest"
        sentences.append(f"{plural(small, 'move')} {verb} on fewer than {small_sample} accounts "
                         "(small samples: read with care).")
    return " ".join(sentences) + (" Descriptive: these moves were not assigned at random, so this "
                                  "shows what followed them, not what they caused.")


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
        template=TEMPLATE, height=height_for(most, base=200), showlegend=False,
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
    figure.update_layout(template=TEMPLATE, barmode="group", height=height_for(2 * len(groups), base=200),
                         title="Escalation over the buyer's head, and what followed",
                         legend={"orientation": "h", "x": 0, "y": -0.2}, margin={"t": 100})
    return figure


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
    zero = as_flags(bins["is_zero_or_less"])
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
    height = height_for(len(moves), base=250)
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
                figure.add_trace(interval_trace(
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


def trust_page(data: SiteData) -> str:
    page = PageBuilder()
    page.add(disclosure_html(data.account_value))

    def draw_event_study(study: pd.DataFrame) -> None:
        months = study["window_months"].dropna()
        window = f"{int(months.iloc[0])} months" if len(months) else "a fixed window"
        page.add(f"<p>For accounts with the event, each measure over {esc(window)} before and after "
                 "it (red), against comparable accounts without such an event in the same period "
                 "(grey). The panel titles give the difference in differences (change with the event "
                 "minus change without) and its 95% interval. Pick the event type in the drop-down.</p>")
        page.figure(event_study_figure(study))
        # The difference in differences repeats on the before and after rows: one per cell.
        estimates = study.drop_duplicates(["event_type", "polarity", "metric"])
        polarities = estimates.groupby("event_type")["polarity"].transform("nunique")
        label = estimates["event_type"].astype(str).str.replace("_", " ")
        estimates = estimates.assign(label=label.where(
            polarities <= 1, label + " (" + estimates["polarity"].astype(str).str.replace("_", " ") + ")"))
        page.add("<p>All event types at once, one measure at a time (drop-down): an interval "
                 "crossing the dashed line at 0 is no clear effect. Red: trust-eroding events; "
                 "green: trust-building; orange: competitive.</p>")
        page.figure(interval_forest_figure(
            estimates, "label", "difference_in_differences", "ci_low", "ci_high", "metric",
            "Difference in differences", "difference in differences (with event - without)",
            color_column="polarity"))
        listed = study.loc[:, ["event_type", "polarity", "metric", "window", "treated_accounts",
                               "treated_value", "comparison_accounts", "comparison_value",
                               "difference_in_differences", "ci_low", "ci_high"]]
        number = {c: "number" for c in ("treated_value", "comparison_value",
                                        "difference_in_differences", "ci_low", "ci_high")}
        page.add(filterable_table_html(
            format_frame(listed, number),
            listed[["event_type", "metric"]].astype(str).reset_index(drop=True),
            "event-study-table", text_columns=4))

    page.section("What happened after trust broke: event study per event type",
                 data.trust_event_study, "the trust event study", draw_event_study)

    def draw_paths(paths: pd.DataFrame) -> None:
        censored = paths["escalations_censored"].dropna()
        censored_note = (f" {int(censored.iloc[0]):,} later escalations are not observed long "
                         "enough yet and are left out." if len(censored) else "")
        page.add("<p>Accounts whose vendor escalated over the buyer's head: how many saw the buyer's "
                 "management take over, how many then added a second source, and the gross margin "
                 f"before the escalation and after the path's last step.{esc(censored_note)}</p>")
        page.figure(escalation_path_figure(paths))
        page.add(table_html(format_frame(paths, {"median_months_to_second_source": "number",
                                                      "margin_change": "pct"}),
                            table_id="escalation-table"))

    page.section("Escalation \u2192 second source \u2192 margin", data.escalation_paths,
                 "the escalation path", draw_paths)

    def draw_won_lost(deals: pd.DataFrame) -> None:
        rows, note = largest_rows(deals, "value_at_stake")
        first_wins = int((deals["baseline_kind"] == "peer_first_wins").sum())
        first_note = (f" {first_wins:,} of them are accounts' first won deals, with no revenue before "
                      "to compare with: judged against what accounts of the same segment earned after "
                      "a first win in the same quarter." if first_wins else "")
        page.add(f'<p id="won-lost-summary">{len(deals):,} won deals were followed by trust-eroding '
                 "events and a fall in the account's revenue; value at stake "
                 f"{format_amount(deals['value_at_stake'].sum())}.{esc(first_note)}</p>")
        filters = rows[["segment", "owner"]].fillna("unknown").astype(str).reset_index(drop=True)
        page.add(note + filterable_table_html(
            format_frame(rows, {"trust_eroding_events_after": "count"}), filters,
            "won-lost-table", text_columns=2))

    page.section("Won the deal, lost the customer", data.won_deal_lost_customer,
                 "the won-the-deal-lost-the-customer list", draw_won_lost)

    def draw_moves(moves: pd.DataFrame) -> None:
        months = moves["window_months"].dropna()
        window = f"{int(months.iloc[0])} months" if len(months) else "the following months"
        page.add("<p>Which of our moves came before a warmer relationship? For each move (an event "
                 "type we cause, or a won deal by type), the share of accounts with a "
                 f"trust-building event, or a new expansion deal, within {esc(window)} after the "
                 "move's month (first move per account). The dashed red line and band are the same "
                 "share after an arbitrary month, the baseline. Bars are 95% intervals; hollow "
                 f"markers rest on fewer than {SMALL_SAMPLE} accounts.</p>")
        summary = move_precedents_summary(moves, SMALL_SAMPLE)
        page.add(f'<p id="move-precedents-summary">{esc(summary)}</p>')
        page.figure(move_precedents_figure(moves))
        page.add(table_html(move_precedents_table(moves), text_columns=2, table_id="move-precedents-table"))

    page.section("What followed our moves", data.move_precedents,
                 "what followed our moves (move precedents)", draw_moves)

    page.add("<h2>Account value</h2>")
    page.add(f"<p>{data.account_totals.accounts:,} accounts, with or without deals. Lifetime value is "
             "the account's realised gross margin to date. Pick all segments or one in the "
             "drop-down. The value axis is logarithmic (each labelled step is ten times the one "
             "before), so small and very large accounts both show; the bar at 0 counts accounts "
             "with no gross margin yet.</p>")
    page.figure(account_value_histogram_figure(
        data.account_value_bins, "Account lifetime value (gross margin)",
        "lifetime gross margin per account"))
    page.add("<p>Does strategic fit go with value? Accounts are grouped by the mean alignment of "
             "their deals, in steps of 0.1: each group's mean lifetime value with its 95% interval, "
             "its median, and the band holding the middle half of its accounts; the bars below "
             "count the accounts in each group.</p>")
    no_alignment = data.skipped("strategic_alignment")
    if no_alignment is not None:
        page.add(unavailable_html(no_alignment, "account value by mean alignment"))
    else:
        page.figure(alignment_value_figure(data.alignment_value_bins))

    def draw_cohorts(cohorts: pd.DataFrame) -> None:
        page.add("<p>Revenue of each yearly cohort of accounts, as a share of its first-year revenue: "
                 "net (with expansion) or gross (capped at the starting revenue), chosen in the "
                 "drop-down.</p>")
        page.figure(cohort_retention_figure(cohorts))

    page.section("Cohort retention", data.cohort_retention, "revenue retention by yearly cohort",
                 draw_cohorts)
    return page_html("trust.html", "Trust and relationship", page.html())


def move_precedents_table(moves: pd.DataFrame) -> pd.DataFrame:
    """One row per move; the baseline (any month) is in the sentence above and the chart."""
    rows = moves.sort_values(["move_kind", "share_with_trust_building"], ascending=[False, False])
    columns = {
        "move": [move_label(k, m) for k, m in zip(rows["move_kind"], rows["move"])],
        "kind": rows["move_kind"].map({"event_type": "event", "deal_type": "won deal"})
                                 .fillna(rows["move_kind"]),
        "accounts": rows["accounts"].map(format_count),
    }
    for outcome, label in (("trust_building", "trust-building event after"),
                           ("expansion", "expansion deal after")):
        columns[f"{label} (95% interval)"] = interval_cell(
            rows[f"share_with_{outcome}"], rows[f"share_with_{outcome}_ci_low"],
            rows[f"share_with_{outcome}_ci_high"], rows["accounts"], format_pct)
    return pd.DataFrame(columns)
