"""Evidence (evidence.html): does it hold up?

The page builder, its figures (hypothesis forest, permutation null, calibration, model
comparison, feature importance, forecast) and its sentences.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.charts import (
    BOTTOM_LEGEND, BOTTOM_LEGEND_MARGIN, COLOR_ADEQUATE, COLOR_REFERENCE, QUALITATIVE, SIDE_OFFSET,
    TEMPLATE, TOP_RIGHT_LEGEND, as_flags, height_for, interval_trace,
)
from dashboards.components import (
    PageBuilder, esc, interval_cell, interval_text, page_html, table_html, unavailable_html,
)
from dashboards.data import SiteData
from dashboards.pages.evidence_power import draw_power_section
from dashboards.pages.evidence_stress import draw_stress_section
from dashboards.formatting import (
    NOT_AVAILABLE, SIGNIFICANCE_LEVEL, format_count, format_date, format_frame, format_number,
    format_p_value, format_pct, format_signed, format_signed_number, is_missing, readable,
)
from dashboards.reads import TableRead, Unavailable
from dashboards.verdicts import hypothesis_label, verdict_items
from models.diagnostics import study_size


NOMINAL_FALSE_ALARM = 0.05
NOMINAL_COVERAGE = 0.95


def _rate_with_interval(row: Mapping[str, Any], measure: str) -> str:
    low, high = row.get(f"{measure}_ci_low"), row.get(f"{measure}_ci_high")
    interval = ("" if is_missing(low) or is_missing(high)
                else f" (95% interval {format_pct(low)} to {format_pct(high)})")
    return f"{format_pct(row.get(measure))}{interval}"


def _worlds(row: Mapping[str, Any]) -> str:
    return f"{format_count(row.get('worlds'))} worlds"


def calibration_study_sentence(summary: pd.DataFrame) -> str:
    """How many worlds of which size, and the command that produced them."""
    per_kind = summary.groupby("world", sort=True)["worlds"].max()
    kinds = {"null": "no-effect", "planted": "planted-effect"}
    counts = " and ".join(f"{format_count(n)} {kinds.get(str(world), str(world))}"
                          for world, n in per_kind.items())
    accounts = summary["accounts_per_world"].dropna().unique()
    size = (f" of {format_count(accounts[0])} accounts each" if len(accounts) == 1
            else f" of {', '.join(format_count(a) for a in sorted(accounts))} accounts"
            if len(accounts) else "")
    sentence = (f"The study generated {counts} worlds{size}: synthetic exports where the true "
                "effect is known (zero, or planted), each run through the same loader, dbt models "
                "and hypothesis tests as the real data.")
    commands = summary["study_command"].dropna().astype(str).unique()
    when = summary["studied_at"].dropna()
    if len(commands):
        sentence += f" Produced by: {'; '.join(commands)}"
        sentence += f" (run {format_date(when.max())})." if len(when) else "."
    return sentence


def calibration_findings(summary: pd.DataFrame) -> list[str]:
    """One plain sentence per promise and hypothesis (false alarms, power, coverage), built
    from the summary's numbers; 'consistent' means the Wilson interval reaches the promise."""
    rows = summary.to_dict("records")
    null = [row for row in rows if str(row.get("world")) == "null"]
    planted = [row for row in rows if str(row.get("world")) != "null"]
    sentences = []
    def false_alarms(row: Mapping[str, Any], measure: str) -> str:
        low = row.get(f"{measure}_ci_low")
        kept = ("consistent with the promised 5% at most"
                if is_missing(low) or float(low) <= NOMINAL_FALSE_ALARM
                else f"more often than the promised {NOMINAL_FALSE_ALARM:.0%}")
        return f"{_rate_with_interval(row, measure)}: {kept}"

    for row in null:
        two_sided = ("" if is_missing(row.get("two_sided_rejection_rate")) else
                     " The two-sided test (p < 0.05) fired in "
                     f"{false_alarms(row, 'two_sided_rejection_rate')}.")
        sentences.append(
            f"False alarms, {readable(row.get('hypothesis'))}: in {_worlds(row)} with no real effect, "
            f"the verdict 'supported' came out in {false_alarms(row, 'supported_rate')}.{two_sided}")
    for row in planted:
        sentences.append(
            f"Power, {readable(row.get('hypothesis'))}: with a planted effect of "
            f"{format_signed_number(row.get('truth'))}, the verdict was 'supported' in "
            f"{_rate_with_interval(row, 'supported_rate')} of {_worlds(row)}.")
    for row in null + planted:
        high, low = row.get("coverage_ci_high"), row.get("coverage_ci_low")
        if not is_missing(high) and float(high) < NOMINAL_COVERAGE:
            kept = "below the promise: the intervals look too narrow"
        elif not is_missing(low) and float(low) > NOMINAL_COVERAGE:
            kept = "above the promise: the intervals are wider than they need to be"
        else:
            kept = "consistent with the promise"
        world = "no-effect" if str(row.get("world")) == "null" else "planted-effect"
        sentences.append(
            f"Coverage, {readable(row.get('hypothesis'))}, {world} worlds: the 95% interval "
            f"contained the true effect in {_rate_with_interval(row, 'coverage')} of {_worlds(row)}. "
            f"Promised: {NOMINAL_COVERAGE:.0%}; {kept}.")
    return sentences


BLOCK_FEATURE_SETS = (("strategic alignment", "baseline+alignment"), ("trust events", "baseline+trust"))


# main.model_comparison's `split`: account-grouped folds, or trained on earlier cohorts and tested on
# later ones (calendar time). A table without the column (an older warehouse) is all account folds.
ACCOUNT_FOLDS, LATER_COHORTS = "account_folds", "later_cohorts"


def comparison_split(comparison: pd.DataFrame, split: str) -> pd.DataFrame:
    """The rows of one split of main.model_comparison (no `split` column or NULL: account folds)."""
    if "split" not in comparison:
        return comparison if split == ACCOUNT_FOLDS else comparison.iloc[0:0]
    splits = comparison["split"].astype("object").where(comparison["split"].notna(), ACCOUNT_FOLDS)
    return comparison[splits.astype(str) == split]


def _gain_verdict(row: Mapping[str, Any]) -> tuple[str, str]:
    """(verdict, detail) for one learner's gain over the baseline: the interval decides when
    there is one, else the p-value at the contract's level."""
    gain, low, high = row.get("gain_vs_baseline"), row.get("gain_ci_low"), row.get("gain_ci_high")
    p = row.get("gain_p_value")
    if is_missing(gain):
        return "has no reported gain", "no gain reported"
    if not (is_missing(low) or is_missing(high)):
        clear_up, clear_down = float(low) > 0, float(high) < 0
        detail = (f"{format_signed_number(gain)} R², 95% CI {format_signed_number(low)} to "
                  f"{format_signed_number(high)}")
    else:
        significant = not is_missing(p) and float(p) < SIGNIFICANCE_LEVEL
        clear_up, clear_down = significant and float(gain) > 0, significant and float(gain) < 0
        detail = f"{format_signed_number(gain)} R², {format_p_value(p)}"
    verdict = ("improves prediction" if clear_up else "makes prediction worse" if clear_down
               else "does not clearly change prediction")
    return verdict, detail


def model_comparison_sentence(comparison: pd.DataFrame) -> str:
    """One sentence: does adding alignment / trust to the baseline features improve out-of-fold
    prediction, per learner, with the gain and its interval (account-grouped folds only)."""
    comparison = comparison_split(comparison, ACCOUNT_FOLDS)
    parts = []
    for block, feature_set in BLOCK_FEATURE_SETS:
        rows = comparison[comparison["feature_set"].astype(str) == feature_set]
        if rows.empty:
            continue
        verdicts = [(learner, *_gain_verdict(row))
                    for learner, row in zip(rows["learner"].astype(str), rows.to_dict("records"))]
        if len({verdict for _, verdict, _ in verdicts}) == 1:
            either = "either model" if len(verdicts) == 2 else (
                f"the {verdicts[0][0]} model" if len(verdicts) == 1 else "any model")
            details = "; ".join(f"{learner}: {detail}" for learner, _, detail in verdicts)
            parts.append(f"adding {block} {verdicts[0][1]} for {either} ({details})")
        else:
            parts.append(f"adding {block} " + " but ".join(
                f"{verdict} for the {learner} model ({detail})" for learner, verdict, detail in verdicts))
    if not parts:
        return "The comparison holds no feature set with alignment or trust added to the baseline."
    sentence = "; ".join(parts) + "."
    # "improves prediction for both models", but "does not clearly change it for either model".
    sentence = sentence.replace("for either model", "for both models").replace(
        "does not clearly change prediction for both models",
        "does not clearly change prediction for either model")
    return sentence[:1].upper() + sentence[1:]


COLOR_SUPPORTED = "#1b7f3b"
COLOR_NOT_SUPPORTED = "#8c8c8c"
WEBGL_THRESHOLD = 3000


def wrap(label: str, width: int = 90) -> str:
    """Long labels (hypothesis units are sentences) broken into Plotly's <br> lines."""
    return "<br>".join(textwrap.wrap(label, width)) or label


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
    tests["is_supported"] = as_flags(tests["supported"])
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
        height=height_for(len(tests), base=160 + 130 * len(units)),
        legend={**TOP_RIGHT_LEGEND, "y": 1.06},
        margin={"t": 110},
    )
    return figure


def null_distribution_figure(null: pd.DataFrame) -> go.Figure:
    """Histogram of the permutation null (main.permutation_null) with the observed statistic as a red
    line, one panel per hypothesis."""
    groups = sorted(null["hypothesis"].astype(str).unique())
    titles = [wrap(g.replace("_", " ").replace(":", ": ")) for g in groups]
    figure = make_subplots(rows=len(groups), cols=1, subplot_titles=titles,
                           vertical_spacing=0.3 / max(len(groups), 1))
    for panel, group in enumerate(groups, start=1):
        part = null[null["hypothesis"].astype(str) == group]
        figure.add_trace(
            go.Histogram(x=part["statistic"], nbinsx=40, marker={"color": COLOR_NOT_SUPPORTED},
                         name="permuted (no effect)", showlegend=panel == 1,
                         hovertemplate="%{x}<br>%{y} permutations<extra></extra>"),
            row=panel, col=1,
        )
        for value in part["observed"].dropna().unique():
            figure.add_vline(x=float(value), line={"color": COLOR_REFERENCE, "width": 3},
                             annotation_text="observed", annotation_font_color=COLOR_REFERENCE,
                             row=panel, col=1)
    figure.update_yaxes(title="shuffled copies")
    figure.update_xaxes(title="statistic", row=len(groups), col=1)
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
    return interval_trace(rows[measure], y, rows[f"{measure}_ci_low"], rows[f"{measure}_ci_high"],
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
            figure.add_trace(interval_trace(
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
    figure.update_layout(template=TEMPLATE, height=height_for(2 * len(sets), base=250),
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
            figure.add_trace(interval_trace(
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
    figure.update_layout(template=TEMPLATE, height=height_for(len(order), base=250),
                         title="Which feature groups the models lean on",
                         legend={**BOTTOM_LEGEND, "title": "block:"},
                         margin={"t": 100, "b": BOTTOM_LEGEND_MARGIN})
    return figure


def hypothesis_table(tests: pd.DataFrame) -> pd.DataFrame:
    """Text columns first (they wrap); hypotheses by their readable names."""
    # The unit is long: it is in each verdict sentence below the table, not in a column.
    kept = [c for c in ("hypothesis", "test", "estimate", "ci_low", "ci_high", "p_value",
                        "p_value_holm", "n_accounts", "supported") if tests[c].notna().any()]
    named = tests.assign(hypothesis=tests["hypothesis"].map(readable),
                            test=tests["test"].astype("string").str.replace("_", " "))
    return format_frame(named.loc[:, kept], {"estimate": "number", "ci_low": "number",
                                                     "ci_high": "number"})


def _log_ratio_percent(value: object) -> str:
    """A proportional effect (log ratio) as a signed percent change: '+8.3%'."""
    if is_missing(value):
        return NOT_AVAILABLE
    return "+∞%" if float(value) > 700 else f"{100 * math.expm1(float(value)):+.1f}%"


def _share(value: object) -> str:
    return NOT_AVAILABLE if is_missing(value) else f"{100 * float(value):.1f}%"


def effect_size_table(tests: pd.DataFrame) -> pd.DataFrame | None:
    """The effect rows' sizes per standard deviation of the treatment, the minimum detectable effect at
    80% power and the robustness to a hidden confounder (models.diagnostics); None when the table has
    none of them."""
    if "treatment_sd" not in tests or not tests["treatment_sd"].notna().any():
        return None
    rows = tests[tests["treatment_sd"].notna()]
    columns = {
        "hypothesis": rows["hypothesis"].map(readable),
        "conclusion": rows["conclusion"].fillna(NOT_AVAILABLE).astype(str).str.replace("_", " ")
        if "conclusion" in rows else NOT_AVAILABLE,
        "1 SD of the treatment": rows["treatment_sd"].map(format_number),
        "effect per SD (95% interval)": [
            f"{_log_ratio_percent(v)} ({_log_ratio_percent(lo)} to {_log_ratio_percent(hi)})"
            for v, lo, hi in zip(rows["estimate_per_sd"], rows["ci_low_per_sd"], rows["ci_high_per_sd"])],
        "detectable per SD (80% power)": rows["mde_80_per_sd"].map(
            lambda v: _log_ratio_percent(v).lstrip("+")),
        "robustness value (to insignificance)": [
            f"{_share(rv)} ({_share(rva)})" for rv, rva in zip(rows["robustness_value"],
                                                             rows["robustness_value_alpha"])],
        "E-value (CI limit)": [
            NOT_AVAILABLE if is_missing(e) else f"{float(e):.2f} ({float(eci):.2f})"
            for e, eci in zip(rows["e_value"], rows["e_value_ci"])],
        "strongest control: R² with treatment / revenue": [
            NOT_AVAILABLE if is_missing(name) else f"{name}: {_share(r2d)} / {_share(r2y)}"
            for name, r2d, r2y in zip(rows["benchmark_control"], rows["benchmark_r2_treatment"],
                                      rows["benchmark_r2_outcome"])],
        "effect per unit if a hidden factor were as strong (95% interval)": [
            NOT_AVAILABLE if is_missing(v) else
            f"{_log_ratio_percent(v)} ({_log_ratio_percent(lo)} to {_log_ratio_percent(hi)})"
            for v, lo, hi in zip(rows["benchmark_adjusted_estimate"], rows["benchmark_adjusted_ci_low"],
                                 rows["benchmark_adjusted_ci_high"])],
    }
    return pd.DataFrame(columns)


def calibration_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as read, one row per world kind and hypothesis, rates with their intervals."""
    rows = summary.sort_values(["world", "hypothesis"])
    count = rows["worlds"]
    columns = {
        "worlds": rows["world"].map(world_label),
        "hypothesis": rows["hypothesis"].map(readable),
        "simulated worlds": count.map(format_count),
        "true effect": rows["truth"].map(format_signed_number),
        "'supported' rate (95% interval)": interval_cell(
            rows["supported_rate"], rows["supported_rate_ci_low"], rows["supported_rate_ci_high"],
            pd.Series(float("inf"), index=rows.index), format_pct),
    }
    if rows["two_sided_rejection_rate"].notna().any():
        columns["two-sided p < 0.05 (95% interval)"] = interval_cell(
            rows["two_sided_rejection_rate"], rows["two_sided_rejection_rate_ci_low"],
            rows["two_sided_rejection_rate_ci_high"], pd.Series(float("inf"), index=rows.index),
            format_pct)
    columns["coverage (95% interval)"] = interval_cell(
        rows["coverage"], rows["coverage_ci_low"], rows["coverage_ci_high"],
        pd.Series(float("inf"), index=rows.index), format_pct)
    for column, label in (("mean_estimate", "mean estimate"), ("bias_adjusted", "bias, adjusted"),
                          ("bias_naive", "bias, naive")):
        if rows[column].notna().any():
            columns[label] = rows[column].map(format_number)
    return pd.DataFrame(columns)


def model_comparison_table(comparison: pd.DataFrame, r2_label: str = "out-of-fold R²",
                           folds_label: str = "folds", with_accounts: bool = True) -> pd.DataFrame:
    """Rows of main.model_comparison (one split): R² and the gain over the baseline, per model and
    feature set. The later-cohort table labels R² and the folds (test cohorts) its own way."""
    order = {name: position for position, name in enumerate(FEATURE_SET_ORDER)}
    rows = comparison.assign(order=comparison["feature_set"].map(order).fillna(len(order))) \
        .sort_values(["learner", "order"])
    signed = format_signed_number
    no_gain = rows["gain_vs_baseline"].isna().to_numpy()  # a gain is not defined for the baseline

    def interval(low: pd.Series, high: pd.Series, formatter: Callable[[object], str]) -> pd.Series:
        shown = interval_text(low, high, formatter)
        return shown.where(low.notna() & high.notna(), NOT_AVAILABLE)

    columns = {
        "model": rows["learner"].astype(str),
        "features": rows["feature_set"].map(feature_set_label),
        r2_label: rows["r2_mean"].map(format_number),
        "95% interval": interval(rows["r2_ci_low"], rows["r2_ci_high"], format_number),
        "gain over baseline": rows["gain_vs_baseline"].map(signed),
        "gain 95% interval": interval(rows["gain_ci_low"], rows["gain_ci_high"], signed),
        "gain p-value": rows["gain_p_value"].map(lambda v: NOT_AVAILABLE if is_missing(v)
                                                 else f"{float(v):.3f}"),
    }
    if with_accounts:
        columns["accounts"] = rows["n_accounts"].map(format_count)
    columns[folds_label] = rows["n_folds"].map(format_count)
    frame = pd.DataFrame(columns)
    frame.loc[no_gain, ["gain over baseline", "gain 95% interval", "gain p-value"]] = "-"
    return frame


def feature_importance_table(importance: pd.DataFrame) -> pd.DataFrame:
    rows = importance.sort_values(["learner", "importance_mean"], ascending=[True, False],
                                  na_position="last")
    table = pd.DataFrame({
        "model": rows["learner"].astype(str),
        "feature group": rows["feature_group"].map(feature_group_label),
        "block": rows["block"].map(lambda b: NOT_AVAILABLE if is_missing(b)
                                   else block_label(b)),
        "features": rows["features"].fillna(NOT_AVAILABLE).astype(str)
                                    .str.replace(r",\s*", ", ", regex=True),
        "importance": rows["importance_mean"].map(format_number),
        "95% interval": interval_text(rows["importance_ci_low"], rows["importance_ci_high"],
                                      format_number),
        "folds x repeats": [f"{format_count(f)} x {format_count(r)}"
                            for f, r in zip(rows["n_folds"], rows["n_repeats"])],
    })
    if rows["note"].notna().any():
        table["note"] = rows["note"].fillna("").astype(str).to_numpy()
    return table


def notes_html(frame: pd.DataFrame, per_row: bool = False) -> str:
    """The table's own method text (the `method` column) and, unless they are listed per row,
    its notes, once each."""
    texts = [("Method", frame["method"] if "method" in frame else pd.Series(dtype="object"))]
    if not per_row:
        texts.append(("Note", frame["note"] if "note" in frame else pd.Series(dtype="object")))
    return "".join(f'<p class="muted">{label}: {esc(value)}</p>'
                   for label, values in texts for value in values.dropna().astype(str).unique())


def learners_html(comparison: pd.DataFrame) -> str:
    """Which estimator each learner is, when the table says."""
    pairs = comparison[["learner", "estimator"]].dropna().drop_duplicates()
    if pairs.empty:
        return ""
    items = "".join(f"<li>{esc(learner)} model: {esc(estimator)}</li>"
                    for learner, estimator in pairs.itertuples(index=False))
    return f'<ul class="muted">{items}</ul>'


def evidence_page(data: SiteData) -> str:
    page = PageBuilder()
    tests = data.hypothesis_tests
    page.add("<h2>Hypothesis tests: effects with 95% intervals</h2>")
    for hypothesis in ("H1_strategic_alignment", "H2_trust_eroding_events"):
        not_run = data.skipped(hypothesis)
        if not_run is not None:
            page.add(unavailable_html(not_run, f"the {readable(hypothesis)} test"))
    if tests["estimate"].notna().any():
        page.add("<p>Each square is an estimate, its bar the 95% confidence interval; the dashed line "
                 "is 'no effect'. Adjusted effects (double machine learning, controls: segment, "
                 "industry, region, size, early revenue) decide the verdict; predictive value is "
                 "the out-of-fold R\u00b2 the block adds over the baseline.</p>")
        page.figure(hypothesis_forest_figure(tests))
        page.add(table_html(hypothesis_table(tests), text_columns=2, table_id="hypothesis-table"))
        page.add('<p class="muted">Units: see each verdict below.</p>')
        sizes = effect_size_table(tests)
        if sizes is not None:
            page.add("<h3>Sizes and robustness of the effects</h3>")
            page.add("<p>Effects per standard deviation (SD) of the treatment, the smallest effect these accounts "
                     "would find with 80% power (2.8 standard errors), and how strong a factor the data do not "
                     "record would have to be to explain an effect away: the robustness value is the share of "
                     "the treatment's and of revenue's variation left after the controls that such a factor "
                     "would have to explain (in brackets: to make the effect insignificant); the E-value is "
                     "the ratio by which it would have to change both. Compare them with the strongest "
                     "recorded control. Revenue is in months 13-24 of the customer relationship by default "
                     "(the dbt vars observation_months and outcome_months).</p>")
            page.add(table_html(sizes, text_columns=2, table_id="effect-size-table"))
    else:
        page.add(unavailable_html(Unavailable("main.hypothesis_tests",
                                              "main.hypothesis_tests holds no estimates"),
                                  "the hypothesis test estimates"))
    page.add("<h3>Verdicts</h3>")
    page.add(verdict_items(tests))

    def draw_null(null: pd.DataFrame) -> None:
        page.figure(null_distribution_figure(null))

    page.section("Permutation test: the null distribution and the observed statistic",
                 data.permutation_null, "the permutation null distribution", draw_null)

    draw_calibration_section(page, data.calibration_summary, data.calibration_worlds)
    draw_power_section(page, data.calibration_worlds)
    draw_stress_section(page, data.calibration_summary)

    def draw_model_comparison(table: pd.DataFrame) -> None:
        comparison = comparison_split(table, ACCOUNT_FOLDS)
        later = comparison_split(table, LATER_COHORTS)
        page.add("<p>How well each set of features predicts an account's later value on accounts "
                 "the model was not fitted on (out-of-fold R\u00b2: 0 is no better than the "
                 "average, 1 is perfect), for a linear and a nonlinear model. The baseline holds "
                 "the controls and the early activity; the other sets add strategic alignment, "
                 "trust-eroding events, or both. The right panel is each set's gain over the "
                 "baseline; an interval crossing 0 is no clear gain.</p>")
        page.add(f'<p id="model-comparison-verdict"><strong>'
                 f"{esc(model_comparison_sentence(comparison))}</strong></p>")
        page.figure(model_comparison_figure(comparison))
        page.add(learners_html(comparison))
        page.add(table_html(model_comparison_table(comparison), text_columns=2,
                            table_id="model-comparison-table"))
        page.add(notes_html(comparison))
        if not later.empty:
            page.add("<h3>Trained on earlier cohorts, tested on later ones</h3>")
            page.add("<p>The same models fitted only on customers of earlier years (cohorts) and scored "
                     "on the customers of a later year: does the prediction carry forward in time? "
                     "One score per later cohort, averaged; with few test cohorts the intervals are "
                     "wide and only approximate.</p>")
            later_table = model_comparison_table(later, "R² on later cohorts", "test cohorts", with_accounts=False)
            page.add(table_html(later_table, text_columns=2, table_id="later-cohorts-table"))
            page.add(notes_html(later))

    page.section("Does alignment or trust improve prediction?", data.model_comparison,
                 "the model comparison (out-of-fold R\u00b2 per feature set)", draw_model_comparison)

    def draw_importance(importance: pd.DataFrame) -> None:
        page.add("<p>How much the models' out-of-fold predictions suffer when a group of features "
                 "is scrambled: the larger, the more the model leans on it. Each dot has a 95% "
                 "interval over folds; colour gives the block (controls, early activity, strategic "
                 "alignment, trust-eroding events, other events). Hover for the features in a "
                 "group; the table lists every group.</p>")
        page.figure(feature_importance_figure(importance))
        page.add("<details><summary>The same numbers as a table</summary>"
                 + table_html(feature_importance_table(importance), text_columns=4,
                              table_id="feature-importance-table") + "</details>")
        page.add(notes_html(importance, per_row=True))

    page.section("Which features matter", data.feature_importance,
                 "the feature importance per model", draw_importance)

    def draw_forecast(forecast: pd.DataFrame) -> None:
        page.add(f'<p class="muted">From {esc(forecast.attrs.get("table", ""))}.</p>')
        deciles = data.forecast_deciles
        if isinstance(deciles, pd.DataFrame) and len(deciles):
            # Aggregated by the statistics stage: readable at any account count, constant size.
            page.add("<p>How well the model's predictions matched what accounts went on to be "
                     "worth, on a past cutoff: accounts are sorted by predicted value and cut into "
                     "ten groups; each dot is a group's mean predicted and mean actual value. On the "
                     "dashed diagonal the predictions are right on average.</p>")
            page.figure(forecast_deciles_figure(deciles))
            evaluation = data.forecast_evaluation
            if isinstance(evaluation, pd.DataFrame) and len(evaluation):
                page.add(table_html(forecast_evaluation_table(evaluation), text_columns=1,
                                    table_id="forecast-evaluation-table"))
            return
        if forecast["actual_value"].isna().all():
            page.add(unavailable_html(Unavailable(forecast.attrs.get("table", ""),
                                                  "it holds no actual value beside the predictions"),
                                      "predicted vs actual value"))
            return
        page.figure(predicted_vs_actual_figure(forecast[forecast["actual_value"].notna()], "predicted_value",
                                               "actual_value", "predicted_low", "predicted_high"))

    page.section("Forward-looking model: predicted vs actual value", data.forecast,
                 "predictions of the forward-looking model", draw_forecast)
    return page_html("evidence.html", "Evidence", page.html())


def forecast_evaluation_table(evaluation: pd.DataFrame) -> pd.DataFrame:
    """Metric by forecaster (the model vs the naive last-12-months forecast), as the table has them."""
    def formatted(metric: str, value: object) -> str:
        if metric.endswith("_pct"):
            return "n/a" if is_missing(value) else f"{float(value):+.1f}%"
        if metric in ("interval_coverage",):
            return format_pct(value)
        if metric.startswith("n_"):
            return format_count(value)
        return format_number(value)

    wide = evaluation.assign(shown=[formatted(str(m), v) for m, v in
                                    zip(evaluation["metric"], evaluation["value"])]) \
        .pivot_table(index="metric", columns="forecaster", values="shown", aggfunc="first", sort=False)
    wide = wide.fillna("-")
    wide.columns = [str(c).replace("naive_last_12_months", "naive (last 12 months)").replace("_", " ")
                    for c in wide.columns]
    wide.insert(0, "measure", [str(m).replace("_", " ") for m in wide.index])
    return wide.reset_index(drop=True).rename_axis(columns=None)


CALIBRATED_TEST = "adjusted_effect"  # the test whose verdict the hypotheses rest on


def calibration_selection(summary: TableRead, worlds: TableRead) -> tuple[TableRead, TableRead, str]:
    """The rows the section draws, and a sentence on what was left out.

    The study may cover several tests per hypothesis (`test`: adjusted effect, placebo, ...)
    and several world sizes (`accounts_per_world`): the section checks the adjusted effect's
    promises at the size with the most worlds (the larger on a tie); the rest stay in the
    warehouse tables."""
    notes = []
    size = None
    # the stress worlds have their own section (evidence_stress.py): this one is the default world
    if isinstance(summary, pd.DataFrame) and "stress" in summary:
        summary = summary[summary["stress"].fillna("none").astype(str) == "none"]
    if isinstance(worlds, pd.DataFrame) and "stress" in worlds:
        worlds = worlds[worlds["stress"].fillna("none").astype(str) == "none"]
    if isinstance(summary, pd.DataFrame) and len(summary):
        tests = summary["test"].dropna().astype(str)
        if CALIBRATED_TEST in set(tests):
            others = sorted(set(tests) - {CALIBRATED_TEST})
            summary = summary[summary["test"].astype(str) == CALIBRATED_TEST]
            if others:
                notes.append("The study also covers the " + ", ".join(o.replace("_", " ") for o in others)
                             + " test(s): see main.calibration_summary.")
        sizes = summary.dropna(subset=["accounts_per_world"]).groupby("accounts_per_world")["worlds"].sum()
        if len(sizes) > 1:
            size = study_size(sizes)
            others = ", ".join(f"{int(s):,}" for s in sorted(sizes.index) if s != size)
            summary = summary[summary["accounts_per_world"] == size]
            notes.append(f"Shown: worlds of {int(size):,} accounts; also studied: {others} accounts "
                         "per world (see main.calibration_summary).")
    if isinstance(worlds, pd.DataFrame) and len(worlds):
        if CALIBRATED_TEST in set(worlds["test"].dropna().astype(str)):
            worlds = worlds[worlds["test"].astype(str) == CALIBRATED_TEST]
        if size is not None and worlds["accounts_per_world"].notna().any():
            worlds = worlds[worlds["accounts_per_world"] == size]
    return summary, worlds, " ".join(notes)


def draw_calibration_section(page: PageBuilder, summary: TableRead, worlds: TableRead) -> None:
    """The calibration study: the promises checked (summary) and every world drawn (worlds)."""
    summary, worlds, selection_note = calibration_selection(summary, worlds)
    page.add("<h2>Calibration: do the tests keep their promises?</h2>")
    page.add("<p>A test makes two promises: when there is no effect, it says 'supported' at most "
             "5% of the time (false alarms), and its 95% interval contains the true effect 95% of "
             "the time (coverage). It should also find a real effect often (power; 80% is a common "
             "target). "
             "The calibration study checks them on simulated data where the truth is known. "
             "Each rate has a 95% interval: with few worlds it is wide, so a promise counts as "
             "kept when the interval reaches the promised line.</p>")
    if isinstance(summary, Unavailable):
        page.add(unavailable_html(summary, "the calibration study's summary"))
    elif summary.empty:
        page.add('<p class="muted">Nothing to show: the table holding the calibration study\'s '
                 "summary is empty.</p>")
    else:
        page.add(f'<p id="calibration-study">{esc(calibration_study_sentence(summary))}</p>')
        if selection_note:
            page.add(f'<p class="muted">{esc(selection_note)}</p>')
        page.figure(calibration_checks_figure(summary))
        page.add('<ul id="calibration-findings">' + "".join(
            f"<li>{esc(sentence)}</li>" for sentence in calibration_findings(summary)) + "</ul>")
    if isinstance(worlds, Unavailable):
        page.add(unavailable_html(worlds, "each simulated world's estimate"))
    elif worlds.empty:
        page.add('<p class="muted">Nothing to show: the table holding each simulated world\'s '
                 "estimate is empty.</p>")
    else:
        page.add("<h3>Every simulated world</h3>")
        page.add("<p>Each dot is one world's estimate, its bar the 95% interval, sorted from the "
                 "lowest estimate to the highest; the dashed line is the true effect. Blue intervals "
                 "contain it, red ones miss it: about 1 in 20 should be red.</p>")
        page.figure(calibration_worlds_figure(worlds))
    if isinstance(summary, pd.DataFrame) and not summary.empty:
        if summary["bias_adjusted"].notna().any() and summary["bias_naive"].notna().any():
            page.add("<h3>Bias: adjusted estimate vs naive slope</h3>")
            page.add("<p>The average error of each estimate (estimate minus the true effect), over "
                     "the simulated worlds. The naive slope compares accounts without the controls, "
                     "so other differences between accounts (such as their size) pull it away from "
                     "the truth; the test's adjusted estimate controls for them.</p>")
            page.figure(calibration_bias_figure(summary))
        page.add("<details><summary>The study's summary as a table</summary>"
                 + table_html(calibration_table(summary), text_columns=2, table_id="calibration-table")
                 + "</details>")
