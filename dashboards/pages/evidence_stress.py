"""Evidence page: the calibration study per stress world (docs/statistics.md, section 5b).

One table and one figure from main.calibration_summary (the dbt model): for every stress world of the
generator and each hypothesis, the primary (within-account) test's false positives in worlds with no
effect, how many of them a check flags, the rest against the promise (at most 7%, or flagged), and
power, coverage and bias where an effect is planted; the cross-sectional design's false positives
beside them ("before"). Pure functions of the summary frame; `draw_stress_section` adds them to a page.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd
import plotly.graph_objects as go

from dashboards.components import esc, table_html
from dashboards import formatting
from dashboards.formatting import is_missing
from dashboards.reads import TableRead, Unavailable
from models.diagnostics import study_size

PRIMARY_TEST = "adjusted_effect"
BEFORE_TEST = "cross_sectional"
# the dbt var promised_false_positive_rate (dbt_project.yml), which decides promise_status; drawn as a line
PROMISED_FALSE_POSITIVE_RATE = 0.07
DEFAULT_WORLD = "none"
PROMISE_WORDS = {
    "kept": "kept",
    "kept_at_point_estimate": "kept at the estimate; too few worlds to show it",
    "above_at_point_estimate": "above at the estimate; too few worlds to tell",
    "broken": "BROKEN: false positives no check flags",
}
PROMISE_COLUMN = f"promise (at most {PROMISED_FALSE_POSITIVE_RATE:.0%} or flagged)"
HYPOTHESIS_NAMES = {"H1_strategic_alignment": "H1 alignment", "H2_trust_eroding_events": "H2 trust-eroding events"}


class Page(Protocol):
    def add(self, html: str) -> None: ...

    def figure(self, figure: go.Figure) -> None: ...


def _base(hypothesis: object) -> str:
    return str(hypothesis).split(":")[0]


def _stress_order(stresses: pd.Series) -> list[str]:
    names = sorted(set(stresses.astype(str)))
    return ([DEFAULT_WORLD] if DEFAULT_WORLD in names else []) + [n for n in names if n != DEFAULT_WORLD]


def rate_with_interval(value: object, low: object, high: object) -> str:
    """A rate with its 95% interval: '12.0% (3.0% to 25.0%)', or n/a."""
    if is_missing(value):
        return formatting.NOT_AVAILABLE
    return f"{formatting.format_pct(value)} ({formatting.format_pct(low)} to {formatting.format_pct(high)})"


def at_study_size(summary: pd.DataFrame) -> pd.DataFrame:
    """Per stress world, the rows of its main world size: the one with the most worlds (the larger on a
    tie), as in the calibration section. Other sizes (the power curve's) stay in the warehouse table."""
    # a summary written before the stress worlds has no stress: its rows are the default world's
    summary = summary.assign(stress=summary["stress"].fillna(DEFAULT_WORLD).astype(str))
    if "accounts_per_world" not in summary or summary["accounts_per_world"].isna().all():
        return summary
    worlds = summary.groupby(["stress", "accounts_per_world"])["worlds"].sum()
    chosen = pd.DataFrame([(stress, study_size(sizes.droplevel("stress")))
                           for stress, sizes in worlds.groupby(level="stress")], columns=["stress", "accounts_per_world"])
    return summary.merge(chosen, on=["stress", "accounts_per_world"])


def _rows(summary: pd.DataFrame, test: str, world: str) -> pd.DataFrame:
    """One row per (stress, base hypothesis) of `test` in `world` worlds, at the stress world's main size."""
    rows = at_study_size(summary)
    rows = rows[(rows["test"].astype(str) == test) & (rows["world"].astype(str) == world)]
    rows = rows.assign(base=rows["hypothesis"].map(_base))
    return rows.set_index(["stress", "base"])


def stress_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per stress world and hypothesis: the primary test's false positives, flags and promise in the
    no-effect worlds, its power, coverage and bias in the planted ones, and the cross-sectional
    design's false positives for comparison."""
    null, planted = _rows(summary, PRIMARY_TEST, "null"), _rows(summary, PRIMARY_TEST, "planted")
    before = _rows(summary, BEFORE_TEST, "null")
    order = _stress_order(pd.Series([key[0] for key in [*null.index, *planted.index]], dtype="object"))
    keys = sorted(set(null.index) | set(planted.index), key=lambda key: (order.index(key[0]), key[1]))
    records = []
    for key in keys:
        n = null.loc[key] if key in null.index else None
        p = planted.loc[key] if key in planted.index else None
        b = before.loc[key] if key in before.index else None

        def cell(row: pd.Series | None, column: str) -> str:
            if row is None:
                return formatting.NOT_AVAILABLE
            return rate_with_interval(row[column], row[f"{column}_ci_low"], row[f"{column}_ci_high"])

        records.append({
            "stress world": key[0],
            "hypothesis": HYPOTHESIS_NAMES.get(key[1], formatting.readable(key[1])),
            "worlds (no effect / planted)": (f"{formatting.format_count(n['worlds']) if n is not None else 0} / "
                                             f"{formatting.format_count(p['worlds']) if p is not None else 0}"),
            "false positives, p < 0.05 (95% CI)": cell(n, "false_positive_rate"),
            "flagged by a check": formatting.format_pct(n["flagged_rate"]) if n is not None else formatting.NOT_AVAILABLE,
            "false positives no check flags (95% CI)": cell(n, "unflagged_false_positive_rate"),
            PROMISE_COLUMN: (
                PROMISE_WORDS.get(str(n["promise_status"]), formatting.NOT_AVAILABLE) if n is not None
                else formatting.NOT_AVAILABLE),
            "power (95% CI)": cell(p, "power"),
            "coverage, planted (95% CI)": cell(p, "coverage"),
            "bias, planted": formatting.format_signed_number(p["bias_adjusted"]) if p is not None else formatting.NOT_AVAILABLE,
            "before: cross-sectional false positives (95% CI)": cell(b, "false_positive_rate"),
        })
    return pd.DataFrame(records)


def stress_figure(summary: pd.DataFrame) -> go.Figure:
    """False positives of the primary test per stress world (no-effect worlds), all and those no check
    flags, with 95% Wilson intervals, against the promised 7% and the nominal 5%."""
    null = _rows(summary, PRIMARY_TEST, "null").reset_index()
    order = _stress_order(null["stress"]) if len(null) else []
    figure = go.Figure()
    offsets = {"H1_strategic_alignment": 0.18, "H2_trust_eroding_events": -0.18}
    for base, group in null.groupby("base"):
        y = [len(order) - 1 - order.index(s) + offsets.get(str(base), 0.0) for s in group["stress"]]
        name = HYPOTHESIS_NAMES.get(str(base), formatting.readable(base))
        for column, symbol, label in (("false_positive_rate", "circle-open", "all false positives"),
                                      ("unflagged_false_positive_rate", "circle", "not flagged by a check")):
            rates = group[column].astype(float)
            figure.add_trace(go.Scatter(
                x=rates, y=y, mode="markers", name=f"{name}: {label}", marker={"symbol": symbol, "size": 10},
                error_x={"type": "data", "symmetric": False,
                         "array": group[f"{column}_ci_high"].astype(float) - rates,
                         "arrayminus": rates - group[f"{column}_ci_low"].astype(float)},
                customdata=group["worlds"], hovertemplate="%{x:.1%} of %{customdata} worlds<extra></extra>"))
    figure.add_vline(x=PROMISED_FALSE_POSITIVE_RATE, line={"dash": "dash", "color": "#b22222"},
                     annotation_text=f"promise: {PROMISED_FALSE_POSITIVE_RATE:.0%}", annotation_position="top right")
    figure.add_vline(x=0.05, line={"dash": "dot", "color": "#777"}, annotation_text="nominal 5%",
                     annotation_position="bottom right")
    figure.update_layout(
        title="Primary (within-account) test in worlds with no effect: false positives per stress world",
        xaxis={"title": "share of worlds with p < 0.05 (95% Wilson interval)", "tickformat": ".0%",
               "rangemode": "tozero"},
        yaxis={"tickvals": list(range(len(order))), "ticktext": list(reversed(order)), "title": "stress world"},
        height=max(320, 60 * len(order) + 160), legend={"orientation": "h", "y": -0.25})
    return figure


def draw_stress_section(page: Page, summary: TableRead) -> None:
    """The stress-world section of the Evidence page."""
    page.add("<h2>Stress worlds: do the verdicts survive data unlike the generator's?</h2>")
    page.add("<p>The calibration study run again on simulated worlds that break one assumption each (an "
             "unrecorded account-health trait, account-executive skill, effects that differ by segment, a "
             "size-by-industry interaction, controls missing more often for small accounts, half or triple "
             "the event rates, an effect that starts at each deal). The promise: in every stress world the "
             f"primary test's false-positive rate stays at most {PROMISED_FALSE_POSITIVE_RATE:.0%}, or a check "
             "the product reports (the pre-trend control) flags the world and the verdict calls the result "
             "untrustworthy. A false positive counts against the promise only when no check flags it. "
             "'Before' is the cross-sectional comparison that decided the verdicts until the within-account "
             "design replaced it.</p>")
    if isinstance(summary, Unavailable):  # the calibration section above has said what is missing
        page.add(f'<p class="muted">Not available: {esc(summary.reason)}.</p>')
        return
    if summary.empty or "stress" not in summary or not (summary["test"].astype(str) == PRIMARY_TEST).any():
        page.add('<p class="muted">Nothing to show: the calibration summary has no primary-test rows.</p>')
        return
    table = stress_table(summary)
    broken = table[table[PROMISE_COLUMN] == PROMISE_WORDS["broken"]]
    if len(broken):
        page.add('<p id="stress-promise-broken"><strong>Promise broken</strong> (false positives above '
                 f"{PROMISED_FALSE_POSITIVE_RATE:.0%} that no check flags) in: "
                 + esc(", ".join(f"{s} ({h})" for s, h in zip(broken["stress world"], broken["hypothesis"])))
                 + ".</p>")
    primary_null = summary[(summary["test"].astype(str) == PRIMARY_TEST) & (summary["world"].astype(str) == "null")]
    if primary_null["false_positive_rate"].notna().any():
        page.figure(stress_figure(summary))
    else:  # an empty chart says nothing: the table below says what is there
        page.add('<p class="muted">No null-world false-positive rates to draw yet.</p>')
    page.add(table_html(table, text_columns=2, table_id="stress-table"))
    page.add('<p class="muted">Worlds per row are what the study has finished; with fewer than about 100 '
             "worlds no rate can be shown to be at most 7% (the upper end of the interval stays above it), "
             "hence 'kept at the estimate'. Knobs that act only through the planted effects (effects by "
             "segment, an effect that starts at each deal) were run in planted worlds only: their no-effect "
             "worlds are the default world's, by construction. docs/statistics.md, section 5b.</p>")
