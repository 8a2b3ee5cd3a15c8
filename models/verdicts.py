"""Plain-language verdicts: one sentence per `hypothesis_tests` row, generated from its numbers.

Nothing here is a hand-written claim: the direction, size, interval, p-value and conclusion of
every sentence come from the row, so a negative, null or failed result reads as such.
`verdict_sentence` is pure (a mapping in, a string out); `add_verdicts` applies it to a frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

ALPHA = 0.05

# What each primary hypothesis's treatment is, in words (subject of the sentence, the unit "per ...").
TREATMENT_PHRASES: dict[str, tuple[str, str]] = {
    "H1_strategic_alignment": ("Accounts whose early deals fit the strategy better",
                               "per one-point rise in alignment score, e.g. from neutral to fully aligned deals"),
    "H2_trust_eroding_events": ("Accounts with trust-eroding negotiation events early in the relationship",
                                "per trust-eroding event"),
}
BLOCK_PHRASES: dict[str, str] = {
    "alignment": "the strategic alignment of the early deals",
    "trust": "the trust-eroding event counts (total, severity and by type)",
}
CONTROLS: tuple[str, ...] = ("segment", "industry", "region", "size", "cohort", "number of deals",
                             "time to the first win")


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def format_p(p_value: float) -> str:
    """'p < 0.001', 'p = 0.006', 'p = 0.34'."""
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.3f}" if p_value < 0.1 else f"p = {p_value:.2f}"


def percent_change(log_ratio: float) -> float:
    """A proportional effect theta as the percent change in expected value, 100 (exp(theta) - 1).

    A tiny export can give an interval end beyond exp's range: that end is infinite, not an error."""
    try:
        return 100.0 * math.expm1(log_ratio)
    except OverflowError:
        return math.inf


def _percent(value: float) -> str:
    magnitude = abs(value)
    if math.isinf(magnitude):
        return "∞%"
    return f"{magnitude:.0f}%" if magnitude >= 10 else f"{magnitude:.1f}%"


def change_phrase(percent: float) -> str:
    """'47% more', '8.0% less' (the sign spelled out)."""
    return f"{_percent(percent)} {'more' if percent >= 0 else 'less'}"


def interval_phrase(low_percent: float, high_percent: float) -> str:
    """'12% to 95% more' when both ends have one sign, else '20% less to 5.0% more'."""
    if low_percent >= 0 or high_percent < 0:
        low, high = sorted((low_percent, high_percent), key=abs)
        return f"{_percent(low)} to {change_phrase(high)}"
    return f"{change_phrase(low_percent)} to {change_phrase(high_percent)}"


def _base_hypothesis(row: Mapping[str, Any]) -> str:
    return str(row.get("hypothesis", "")).split(":")[0]


def _event_type(row: Mapping[str, Any]) -> str | None:
    """The event type of a per-type row ('H2_trust_eroding_events:<event_type>', test adjusted_effect)."""
    parts = str(row.get("hypothesis", "")).split(":")
    return parts[1] if len(parts) > 1 and row.get("test") == "adjusted_effect" else None


def _subject_and_unit(row: Mapping[str, Any]) -> tuple[str, str]:
    event_type = _event_type(row)
    if event_type is not None:
        readable = event_type.replace("_", " ")
        return (f"Accounts with '{readable}' events early in the relationship",
                f"per '{readable}' event, other trust-eroding events held fixed")
    base = _base_hypothesis(row)
    return TREATMENT_PHRASES.get(base, (f"Accounts with more {row.get('treatment', 'treatment')}",
                                        f"per unit of {row.get('treatment', 'treatment')}"))


def _horizon(row: Mapping[str, Any]) -> str:
    months = _number(row.get("outcome_months"))
    return f"in the following {months:.0f} months" if math.isfinite(months) else "in the outcome window"


def _controls(row: Mapping[str, Any]) -> str:
    controls = CONTROLS + (("other negotiation events",) if row.get("feature_block") == "trust" else ())
    return f"after adjusting for {', '.join(controls[:-1])} and {controls[-1]}"


def _is_significant(row: Mapping[str, Any]) -> tuple[bool, float, str]:
    """(significant, the p-value that decides, its label); per-type rows are decided by Holm."""
    holm = _number(row.get("p_value_holm"))
    if _event_type(row) is not None and math.isfinite(holm):
        return holm < ALPHA, holm, f"Holm-adjusted {format_p(holm)}"
    p_value = _number(row.get("p_value"))
    return p_value < ALPHA, p_value, format_p(p_value)


def _effect_clause(row: Mapping[str, Any]) -> str:
    """'earned 47% more revenue in the following 12 months per ... (95% CI 12% to 95% more)'."""
    estimate, low, high = (_number(row.get(k)) for k in ("estimate", "ci_low", "ci_high"))
    _, unit = _subject_and_unit(row)
    if row.get("outcome", "revenue") == "revenue":
        return (f"earned {change_phrase(percent_change(estimate))} revenue {_horizon(row)} {unit} "
                f"(95% CI {interval_phrase(percent_change(low), percent_change(high))})")
    return (f"had a change of {estimate:+.3g} in {row.get('unit', 'the outcome')} {unit} "
            f"(95% CI {low:+.3g} to {high:+.3g})")


def adjusted_effect_verdict(row: Mapping[str, Any]) -> str:
    subject, _ = _subject_and_unit(row)
    significant, _, p_text = _is_significant(row)
    direction = 1 if row.get("direction") == "positive" else -1
    right_sign = math.copysign(1.0, _number(row.get("estimate"))) == direction
    if significant and right_sign:
        conclusion = "The data support the hypothesis at the 5% level."
    elif significant:
        conclusion = ("This is significant but in the opposite direction to the hypothesis, "
                      "which is therefore not supported.")
    else:
        conclusion = "This cannot be told apart from no effect at the 5% level, so the hypothesis is not supported."
    return f"{subject} {_effect_clause(row)}, {_controls(row)}; {p_text}. {conclusion}"


def predictive_value_verdict(row: Mapping[str, Any]) -> str:
    estimate, low, high, p_value = (_number(row.get(k)) for k in ("estimate", "ci_low", "ci_high", "p_value"))
    block = BLOCK_PHRASES.get(str(row.get("feature_block")), str(row.get("feature_block")))
    moved = "raised" if estimate >= 0 else "lowered"
    conclusion = ("It adds predictive value." if p_value < ALPHA
                  else "No reliable gain in prediction: the block does not add predictive value at the 5% level.")
    return (f"Adding {block} to what is known after the first year (controls and early activity) {moved} "
            f"the out-of-sample R\u00b2 for later revenue (log scale) by {abs(estimate):.3f} "
            f"(95% CI {low:+.3f} to {high:+.3f}); one-sided {format_p(p_value)}. {conclusion}")


def placebo_verdict(row: Mapping[str, Any]) -> str:
    p_value = _number(row.get("p_value"))
    base = {**row, "hypothesis": _base_hypothesis(row), "test": "adjusted_effect"}
    if p_value < ALPHA:
        conclusion = ("Warning: the estimator finds an 'effect' of a treatment that cannot have one; "
                      "treat the adjusted estimate of this hypothesis with caution.")
    else:
        conclusion = "As it should, the check finds no effect: the estimator does not invent one here."
    return (f"Placebo check: with the real treatment shuffled at random among accounts of the same segment "
            f"and cohort year, the fake treatment's accounts {_effect_clause(base)}; {format_p(p_value)}. {conclusion}")


def block_permutation_verdict(row: Mapping[str, Any]) -> str:
    estimate, p_value = _number(row.get("estimate")), _number(row.get("p_value"))
    n_permutations = int(_number(row.get("n_permutations")))
    reached = round(p_value * (n_permutations + 1) - 1)
    block = BLOCK_PHRASES.get(str(row.get("feature_block")), str(row.get("feature_block")))
    conclusion = ("The block predicts later revenue better than its shuffled copies do." if p_value < ALPHA
                  else "Not better than its shuffled copies: no evidence that the block adds predictive value.")
    return (f"Permutation test: with {block} shuffled within segment and cohort year {n_permutations} times, "
            f"the observed out-of-sample R\u00b2 gain ({estimate:+.4f}) was reached or beaten by {reached} of "
            f"the {n_permutations} shuffles; {format_p(p_value)}. {conclusion}")


VERDICTS_BY_TEST = {
    "adjusted_effect": adjusted_effect_verdict,
    "predictive_value": predictive_value_verdict,
    "placebo": placebo_verdict,
    "block_permutation": block_permutation_verdict,
}


def verdict_sentence(row: Mapping[str, Any]) -> str:
    """One sentence (or two) for a hypothesis_tests row, from its numbers only."""
    if not math.isfinite(_number(row.get("estimate"))) or not math.isfinite(_number(row.get("p_value"))):
        note = row.get("note")
        reason = f" ({note})" if isinstance(note, str) and note else ""
        return f"{row.get('hypothesis')} ({row.get('test')}): no result{reason}."
    generate = VERDICTS_BY_TEST.get(str(row.get("test")))
    if generate is None:
        return (f"{row.get('hypothesis')} ({row.get('test')}): estimate {_number(row.get('estimate')):+.3g}, "
                f"{format_p(_number(row.get('p_value')))}.")
    return generate(row)


def add_verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """The frame with a `verdict` column (one sentence per row)."""
    return results.assign(verdict=[verdict_sentence(row) for row in results.to_dict("records")])
