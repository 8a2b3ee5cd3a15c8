"""Evidence page: power by number of accounts, measured by the calibration study beside the 2.8 x SE rule.

From main.calibration_worlds (the default world's planted worlds, every world size the study ran):
`models.diagnostics.calibration_power_curve` gives per size the measured power (95% Wilson interval)
and, from the size with the most worlds, the square-root rule's power and minimum detectable effect at
1,000 / 2,000 / 4,000 accounts. A measured size other than the rule's reference tests the rule.
Pure functions of the worlds frame; `draw_power_section` adds them to a page.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards import formatting
from dashboards.components import esc, table_html
from dashboards.pages.evidence_stress import DEFAULT_WORLD, HYPOTHESIS_NAMES, Page, rate_with_interval
from dashboards.reads import TableRead, Unavailable
from models.diagnostics import calibration_power_curve

# the primary design and, for comparison, the cross-sectional one it replaced
DESIGNS = {"adjusted_effect": "within-account (primary)", "cross_sectional": "cross-sectional (before)"}


def power_curve(worlds: pd.DataFrame) -> pd.DataFrame:
    """The power curve of every design in DESIGNS for the default world: the rows of
    `calibration_power_curve` with `design` and the base `hypothesis` added."""
    stress = worlds["stress"].fillna(DEFAULT_WORLD).astype(str) if "stress" in worlds else DEFAULT_WORLD
    default = worlds[stress == DEFAULT_WORLD]
    curves = []
    for test, design in DESIGNS.items():
        curve = calibration_power_curve(default, test=test)
        if len(curve):
            curves.append(curve.assign(design=design, hypothesis=curve["hypothesis"].str.split(":").str[0]))
    return pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()


def power_table(curve: pd.DataFrame) -> pd.DataFrame:
    """One row per hypothesis, design and number of accounts: measured power (where the study ran that
    size) and the rule's power and minimum detectable effect."""
    records = []
    for (hypothesis, design, accounts), group in curve.groupby(["hypothesis", "design", "accounts"], sort=True):
        measured = group[group["source"] == "measured"]
        rule = group[group["source"] == "sqrt_rule"]
        m = measured.iloc[0] if len(measured) else None
        r = rule.iloc[0] if len(rule) else None
        records.append({
            "hypothesis": HYPOTHESIS_NAMES.get(hypothesis, formatting.readable(hypothesis)),
            "design": design,
            "accounts per world": formatting.format_count(accounts),
            "planted effect": formatting.format_signed_number(group["truth"].iloc[0]),
            "measured power (95% CI)": (
                f"{rate_with_interval(m['power'], m['power_ci_low'], m['power_ci_high'])}, "
                f"{formatting.format_count(m['worlds'])} worlds" if m is not None else formatting.NOT_AVAILABLE),
            "2.8 x SE rule: power": formatting.format_pct(r["power"]) if r is not None else formatting.NOT_AVAILABLE,
            "2.8 x SE rule: detectable effect": (formatting.format_number(r["mde_80"]) if r is not None
                                                 else formatting.NOT_AVAILABLE),
        })
    return pd.DataFrame(records)


def power_figure(curve: pd.DataFrame) -> go.Figure:
    """Power against accounts per world: measured points with Wilson intervals, the rule as dashed lines."""
    figure = go.Figure()
    for (hypothesis, design), group in curve.groupby(["hypothesis", "design"], sort=True):
        name = f"{HYPOTHESIS_NAMES.get(hypothesis, hypothesis)}, {design}"
        rule = group[group["source"] == "sqrt_rule"].sort_values("accounts")
        measured = group[group["source"] == "measured"].sort_values("accounts")
        figure.add_trace(go.Scatter(x=rule["accounts"], y=rule["power"], mode="lines", line={"dash": "dash"},
                                    name=f"{name}: 2.8 x SE rule", legendgroup=name))
        figure.add_trace(go.Scatter(
            x=measured["accounts"], y=measured["power"], mode="markers", name=f"{name}: measured",
            legendgroup=name, marker={"size": 10},
            error_y={"type": "data", "symmetric": False, "array": measured["power_ci_high"] - measured["power"],
                     "arrayminus": measured["power"] - measured["power_ci_low"]},
            customdata=measured["worlds"], hovertemplate="%{y:.0%} of %{customdata} worlds<extra></extra>"))
    figure.add_hline(y=0.8, line={"dash": "dot", "color": "#777"}, annotation_text="80% power")
    figure.update_layout(title="Power at the planted effects by accounts per world (default world)",
                         xaxis={"title": "generated accounts per world", "type": "log"},
                         yaxis={"title": "share of planted worlds with p < 0.05", "tickformat": ".0%",
                                "range": [0, 1.05]},
                         height=420, legend={"orientation": "h", "y": -0.3})
    return figure


def draw_power_section(page: Page, worlds: TableRead) -> None:
    """The power-curve section of the Evidence page."""
    page.add("<h3>Power by number of accounts</h3>")
    page.add("<p>How often the study's tests find the planted effects (alignment +0.30, -0.08 per "
             "trust-eroding event, on the log scale) in worlds of different sizes, beside the rule of thumb "
             "that a test finds with 80% power an effect of 2.8 standard errors, the standard error "
             "shrinking with the square root of the number of accounts. Where a size was measured, the dot "
             "tests the rule's line.</p>")
    if isinstance(worlds, Unavailable):
        page.add(f'<p class="muted">Not available: {esc(worlds.reason)}.</p>')
        return
    curve = power_curve(worlds) if len(worlds) else pd.DataFrame()
    if curve.empty:
        page.add('<p class="muted">Nothing to show: the study has no planted worlds of the default world.</p>')
        return
    page.figure(power_figure(curve))
    page.add(table_html(power_table(curve), text_columns=3, table_id="power-table"))
