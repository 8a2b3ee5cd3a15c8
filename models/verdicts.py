"""Plain-language verdicts: one sentence per `hypothesis_tests` row, generated from its numbers.

Nothing here is a hand-written claim: the direction, size, interval, p-value and conclusion of
every sentence come from the row, so a negative, null or failed result reads as such. An effect
reads "associated with ... after adjusting for ..."; "the data support the hypothesis" only when the
design compares each account with itself, its negative controls passed and a hidden factor as strong
as the strongest recorded control would not explain it (`effect_conclusion`). A result that is not
significant says whether the data could have found an effect that matters (`RELEVANT_CHANGE_PER_SD`).
`verdict_sentence` and `conclusion_of` are pure (a row and its hypothesis's other rows in, a string
out); `add_verdicts` applies them to a frame.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from models.sensitivity import ALPHA, RELEVANT_CHANGE_PER_SD

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
    if base.startswith("H2") and design_of(row) == "within_account":
        return "Accounts with one trust-eroding negotiation event", ""
    return TREATMENT_PHRASES.get(base, (f"Accounts with more {row.get('treatment', 'treatment')}",
                                        f"per unit of {row.get('treatment', 'treatment')}"))


def _horizon(row: Mapping[str, Any]) -> str:
    """What the outcome window is: revenue in months X-Y of the customer relationship (month 1 = the month
    of the first won deal), from the row's observation and outcome window lengths (dbt vars)."""
    months = _number(row.get("outcome_months"))
    before = _number(row.get("observation_months"))
    if math.isfinite(months) and math.isfinite(before):
        return f"in months {before + 1:.0f}-{before + months:.0f} of the customer relationship"
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


def _effect_clause(row: Mapping[str, Any], verb: str = "earned") -> str:
    """'earned 47% more revenue in months 13-24 of the customer relationship per ... (95% CI 12% to 95% more)'."""
    estimate, low, high = (_number(row.get(k)) for k in ("estimate", "ci_low", "ci_high"))
    _, unit = _subject_and_unit(row)
    horizon = _within_account_windows(row)[0] if design_of(row) == "within_account" else _horizon(row)
    if row.get("outcome", "revenue") == "revenue":
        return (f"{verb} {change_phrase(percent_change(estimate))} revenue {' '.join(filter(None, [horizon, unit]))} "
                f"(95% CI {interval_phrase(percent_change(low), percent_change(high))})")
    return (f"{'had' if verb == 'earned' else verb} a change of {estimate:+.3g} in {row.get('unit', 'the outcome')} "
            f"{unit} (95% CI {low:+.3g} to {high:+.3g})")


# --------------------------------------------------------------------------- design, checks, sensitivity

# A row's design is read from its `test` and `method`: a comparison of each account with itself over time
# (the primary design, when present) or a comparison between accounts (the cross-sectional DML).
WITHIN_ACCOUNT_MARKERS: tuple[str, ...] = ("within_account", "within-account", "within account", "fixed effect",
                                           "panel")
# Rows that check a hypothesis's design: '<hypothesis>:<check>'; a failure makes its effects untrustworthy.
NEGATIVE_CONTROLS: dict[str, str] = {
    "pre_trend": "pre-trend (revenue before the treatment must not move with it)",
    "future_treatment": "future-treatment (a treatment measured after the outcome cannot cause it)",
}
PLACEBO = "placebo"
PREDICTIVE_TESTS: frozenset[str] = frozenset({"predictive_value", "block_permutation"})
EFFECT_TESTS: frozenset[str] = frozenset({"adjusted_effect", "cross_sectional"})
SD_UNITS: dict[str, str] = {"alignment": "points of alignment score", "trust": "events"}


def design_of(row: Mapping[str, Any]) -> str:
    """'within_account' or 'cross_sectional'."""
    text = f"{row.get('test', '')} {row.get('method', '')}".lower()
    return "within_account" if any(marker in text for marker in WITHIN_ACCOUNT_MARKERS) else "cross_sectional"


# The design each effect sentence names: what the estimate compares.
DESIGN_PHRASES: dict[str, str] = {
    "within_account": "within-account before/after vs comparable accounts over the same months",
    "cross_sectional": "cross-sectional: a comparison between accounts",
    "cross_sectional_secondary": "cross-sectional, secondary: a comparison between accounts",
}


def design_phrase(row: Mapping[str, Any]) -> str:
    """The design of the row in words; a cross-sectional row is 'secondary' where a within-account row decides."""
    design = design_of(row)
    if design == "cross_sectional" and row.get("test") == "cross_sectional":
        return DESIGN_PHRASES["cross_sectional_secondary"]
    return DESIGN_PHRASES[design]


def _within_account_windows(row: Mapping[str, Any]) -> tuple[str, str]:
    """(outcome window, the account's own earlier window) of a within-account row, as its method states them."""
    method = str(row.get("method", ""))
    if _base_hypothesis(row).startswith("H2"):
        match = re.search(r"in the (\d+) months after", str(row.get("unit", "")))
        months = match.group(1) if match else "k"
        return f"in the {months} months after it", f"their own revenue in the {months} months before it"
    match = re.search(r"months (\d+-\d+) of tenure \(the outcome window\) against months (\d+-\d+)", method)
    if match:
        return f"in months {match.group(1)} of the customer relationship", f"their own revenue in months {match.group(2)}"
    return "in the outcome window", "their own revenue before it"


def _within_account_controls(row: Mapping[str, Any]) -> str:
    _, before = _within_account_windows(row)
    comparison = ("accounts without one over the same months" if _base_hypothesis(row).startswith("H2")
                  else "comparable accounts at the same tenure over the same months, of similar size, revenue "
                       "level and earlier trust-eroding events")
    return f"after adjusting for {before} and for {comparison}"


def is_effect_row(row: Mapping[str, Any]) -> bool:
    """An estimate of the treatment's effect (not a check or a predictive test), of either design."""
    test = str(row.get("test"))
    if test in EFFECT_TESTS:
        return True
    return design_of(row) == "within_account" and _check_name(row) is None and test not in PREDICTIVE_TESTS


def _check_name(row: Mapping[str, Any]) -> str | None:
    """'placebo', 'pre_trend' or 'future_treatment' when the row is that check (by `test` or key suffix)."""
    suffix = str(row.get("hypothesis", "")).partition(":")[2]
    for name in (str(row.get("test")), suffix):
        if name in NEGATIVE_CONTROLS or name == PLACEBO:
            return name
    return None


def _check_failed(check: Mapping[str, Any] | None) -> bool | None:
    """True/False when the check row has a result, None when it is absent or empty."""
    if check is None:
        return None
    p_value = _number(check.get("p_value"))
    return None if not math.isfinite(p_value) else p_value < ALPHA


def _checks_of(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> dict[str, bool]:
    """The hypothesis's checks that test this row's design, by name -> failed. A check tests the design its
    own `test`/`method` names (a pre-trend of the within-account design, a future-treatment control or the
    placebo of the cross-sectional estimator); checks without a result are left out."""
    design = design_of(row)
    checks = {}
    for name in (*NEGATIVE_CONTROLS, PLACEBO):
        check = related.get(name)
        failed = _check_failed(check)
        if failed is not None and design_of(check) == design:
            checks[name] = failed
    return checks


def _failed_checks(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [name for name, failed in _checks_of(row, related).items() if failed]


def _passed_negative_controls(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [name for name, failed in _checks_of(row, related).items() if not failed and name in NEGATIVE_CONTROLS]


def _percent_points(share: float) -> str:
    return f"{100 * share:.1f}%" if share < 0.1 else f"{100 * share:.0f}%"


def _sd_clause(row: Mapping[str, Any]) -> str:
    """'Per standard deviation (0.15 points of alignment score): 5.0% more (95% CI 1.0% to 9.3% more).'"""
    sd, per_sd, low, high = (_number(row.get(k)) for k in ("treatment_sd", "estimate_per_sd", "ci_low_per_sd",
                                                           "ci_high_per_sd"))
    if not all(math.isfinite(v) for v in (sd, per_sd, low, high)) or row.get("outcome", "revenue") != "revenue":
        return ""
    unit = SD_UNITS.get(str(row.get("feature_block")), "units")
    return (f" Per standard deviation of the treatment ({sd:.2g} {unit}): {change_phrase(percent_change(per_sd))} "
            f"(95% CI {interval_phrase(percent_change(low), percent_change(high))}).")


def benchmark_explains_it(row: Mapping[str, Any]) -> bool:
    """True when removing the bias of a hidden confounder as strong as the strongest observed control
    leaves an interval that includes zero (or flips the sign)."""
    low, high = _number(row.get("benchmark_adjusted_ci_low")), _number(row.get("benchmark_adjusted_ci_high"))
    if not (math.isfinite(low) and math.isfinite(high)):
        return False
    return low <= 0 <= high or math.copysign(1.0, (low + high) / 2) != math.copysign(1.0, _number(row.get("estimate")))


def robustness_clause(row: Mapping[str, Any]) -> str:
    """The robustness value and E-value in words, with the strongest observed control for scale."""
    rv, rv_alpha = _number(row.get("robustness_value")), _number(row.get("robustness_value_alpha"))
    parts = []
    if math.isfinite(rv) and math.isfinite(rv_alpha):
        text = (f"a hidden factor would have to explain {_percent_points(rv_alpha)} of the variation left after the "
                f"controls in both the treatment and revenue to make it insignificant ({_percent_points(rv)} "
                f"to remove it: robustness value)")
        control = row.get("benchmark_control")
        r2_treatment, r2_outcome = _number(row.get("benchmark_r2_treatment")), _number(row.get("benchmark_r2_outcome"))
        if isinstance(control, str) and control and math.isfinite(r2_treatment) and math.isfinite(r2_outcome):
            text += (f"; the strongest recorded control, {readable_control(control)}, explains "
                     f"{_percent_points(r2_treatment)} of the treatment's and {_percent_points(r2_outcome)} of "
                     f"revenue's remaining variation")
        parts.append(text)
    e_value, e_value_ci = _number(row.get("e_value")), _number(row.get("e_value_ci"))
    if math.isfinite(e_value) and math.isfinite(e_value_ci):
        parts.append(f"E-value {e_value:.2f} per standard deviation ({e_value_ci:.2f} for the confidence limit)")
    return ("Robustness: " + "; ".join(parts) + ".") if parts else ""


def readable_control(name: str) -> str:
    return {"log_employee_count": "company size (employees)", "cohort_year": "cohort year",
            "deals_created": "number of deals", "months_to_first_win": "time to the first win",
            "n_trust_building_events": "trust-building events", "n_competitive_events": "competitive events",
            }.get(name, name.replace("_", " "))


# Conclusions of an effect row that is significant with the hypothesised sign and whose design passed its
# checks: only 'supported' says the data support the hypothesis; the others say what stops short of it.
ASSOCIATION_CONCLUSIONS = ("supported", "associated", "could_be_hidden_factor")


NOT_SIGNIFICANT = "This cannot be told apart from no effect at the 5% level, so the hypothesis is not supported."


def _mde_clause(row: Mapping[str, Any]) -> tuple[str | None, str]:
    """('too_few_accounts' | 'no_relevant_effect' | None, sentence) for a result that is not significant.
    Judged per standard deviation of the treatment; a row without an SD (a binary treatment of a design
    that brings none) is judged per unit of its treatment."""
    mde, per = _number(row.get("mde_80_per_sd")), "per standard deviation of the treatment"
    if not math.isfinite(mde):
        mde, per = _number(row.get("mde_80")), _subject_and_unit(row)[1].split(",")[0] or "for one event"
    if not math.isfinite(mde) or row.get("outcome", "revenue") != "revenue":
        return None, NOT_SIGNIFICANT
    n_accounts = _number(row.get("n_accounts"))
    accounts = f"{n_accounts:,.0f} accounts" if math.isfinite(n_accounts) else "these accounts"
    detectable = _percent(percent_change(mde))
    relevant = _percent(100 * RELEVANT_CHANGE_PER_SD)
    if mde > math.log1p(RELEVANT_CHANGE_PER_SD):
        return "too_few_accounts", (
            f"This cannot be told apart from no effect at the 5% level, but that is not evidence of no effect: "
            f"too few accounts to tell. With {accounts} only a change of {detectable} or more {per} "
            f"would be found with 80% power, more than the {relevant} that matters.")
    return "no_relevant_effect", (
        f"This cannot be told apart from no effect at the 5% level, and with {accounts} a change of {relevant} "
        f"{per} would have been found with 80% power (smallest detectable: {detectable}), "
        f"so an effect of that size is unlikely; the hypothesis is not supported.")


def effect_conclusion(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]] | None = None
                      ) -> tuple[str, str]:
    """(conclusion, its sentence) for an effect row, from the row, its design and its hypothesis's checks.

    Branches, in order: a failed check -> 'untrustworthy'; significant in the opposite direction ->
    'opposite_direction'; significant with the hypothesised sign -> 'could_be_hidden_factor' (a hidden
    confounder as strong as the strongest observed control would explain it), 'associated' (a
    cross-sectional comparison, or no negative control passed) or 'supported' (within-account design,
    negative controls passed, sensitivity allows it); not significant -> 'too_few_accounts' (the 80%-power
    detectable effect per SD exceeds RELEVANT_CHANGE_PER_SD), 'no_relevant_effect' or 'not_supported'."""
    related = related or {}
    failed = _failed_checks(row, related)
    if failed:
        names = " and ".join(NEGATIVE_CONTROLS.get(name, name) for name in failed)
        return "untrustworthy", (f"But the {names} check failed: the method finds an effect where none can "
                                 f"exist, so this result is untrustworthy whatever its p-value.")
    significant, _, _ = _is_significant(row)
    direction = 1 if row.get("direction") == "positive" else -1
    right_sign = math.copysign(1.0, _number(row.get("estimate"))) == direction
    if significant and not right_sign:
        return "opposite_direction", ("This is significant but in the opposite direction to the hypothesis, "
                                      "which is therefore not supported.")
    if not significant:
        conclusion, sentence = _mde_clause(row)
        return conclusion or "not_supported", sentence
    robustness = robustness_clause(row)
    robustness = f" {robustness}" if robustness else ""
    if benchmark_explains_it(row):
        control = readable_control(str(row.get("benchmark_control")))
        adjusted = _number(row.get("benchmark_adjusted_estimate"))
        low, high = _number(row.get("benchmark_adjusted_ci_low")), _number(row.get("benchmark_adjusted_ci_high"))
        moved = (f"{change_phrase(percent_change(adjusted))} (95% CI "
                 f"{interval_phrase(percent_change(low), percent_change(high))})"
                 if row.get("outcome", "revenue") == "revenue" else f"{adjusted:+.3g} [{low:+.3g}, {high:+.3g}]")
        return "could_be_hidden_factor", (
            f"This could be explained by a hidden factor as strong as {control}: removing the bias of such a "
            f"factor leaves {moved}, so the hypothesis is not supported.{robustness}")
    if design_of(row) == "cross_sectional":
        return "associated", (
            f"This is an association between accounts, not shown to be an effect: a difference between accounts "
            f"that the data do not record (e.g. account health) can produce it.{robustness}")
    passed = _passed_negative_controls(row, related)
    if not passed:
        return "associated", ("This compares each account with itself over time, but no negative control was "
                              f"available to check the design, so the hypothesis is not yet supported.{robustness}")
    checks = " and ".join(NEGATIVE_CONTROLS[name].split(" (")[0] for name in passed)
    return "supported", (f"The data support the hypothesis at the 5% level: each account is compared with itself "
                         f"over time and the {checks} check{'s' if len(passed) > 1 else ''} passed.{robustness}")


def adjusted_effect_verdict(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """'<subject> were associated with <effect>, after adjusting for <controls> (<design>); p. <conclusion>'."""
    subject, _ = _subject_and_unit(row)
    _, _, p_text = _is_significant(row)
    _, conclusion = effect_conclusion(row, related)
    controls = _within_account_controls(row) if design_of(row) == "within_account" else _controls(row)
    return (f"{subject} {_effect_clause(row, 'were associated with')}, {controls} ({design_phrase(row)}); "
            f"{p_text}.{_sd_clause(row)} {conclusion}")


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


def negative_control_verdict(row: Mapping[str, Any]) -> str:
    """A design check of a hypothesis ('<hypothesis>:pre_trend', ':future_treatment'): passed or failed, and
    which design's result a failure makes untrustworthy (a check judges the design its own method names)."""
    estimate, low, high, p_value = (_number(row.get(k)) for k in ("estimate", "ci_low", "ci_high", "p_value"))
    check = NEGATIVE_CONTROLS.get(_check_name(row) or "", str(row.get("test")))
    judged = design_phrase({**row, "test": "cross_sectional"} if design_of(row) == "cross_sectional" else row)
    if row.get("outcome", "revenue") == "revenue" and math.isfinite(low) and math.isfinite(high):
        found = (f"{change_phrase(percent_change(estimate))} revenue "
                 f"(95% CI {interval_phrase(percent_change(low), percent_change(high))})")
    else:
        interval = f" (95% CI {low:+.3g} to {high:+.3g})" if math.isfinite(low) and math.isfinite(high) else ""
        found = f"an estimate of {estimate:+.3g}{interval}"
    if p_value < ALPHA:
        conclusion = (f"The check FAILED: the design finds an 'effect' where none can exist, so the {judged} "
                      f"result of this hypothesis is untrustworthy.")
    else:
        conclusion = f"The check passed: no effect where none can exist ({judged} design)."
    return f"Negative control, {check}: {found}; {format_p(p_value)}. {conclusion}"


VERDICTS_BY_TEST = {
    "adjusted_effect": adjusted_effect_verdict,
    "cross_sectional": adjusted_effect_verdict,
    "predictive_value": predictive_value_verdict,
    "placebo": placebo_verdict,
    "block_permutation": block_permutation_verdict,
    **{check: negative_control_verdict for check in NEGATIVE_CONTROLS},
}


def _has_result(row: Mapping[str, Any]) -> bool:
    return math.isfinite(_number(row.get("estimate"))) and math.isfinite(_number(row.get("p_value")))


def verdict_sentence(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """One sentence (or a few) for a hypothesis_tests row, from its numbers and, for an effect, from the
    rows of the same hypothesis (`related`: test suffix -> row, e.g. 'placebo', 'pre_trend')."""
    if not _has_result(row):
        note = row.get("note")
        reason = f" ({note})" if isinstance(note, str) and note else ""
        return f"{row.get('hypothesis')} ({row.get('test')}): no result{reason}."
    if is_effect_row(row):
        return adjusted_effect_verdict(row, related)
    generate = VERDICTS_BY_TEST.get(_check_name(row) or str(row.get("test")))
    if generate is None:
        return (f"{row.get('hypothesis')} ({row.get('test')}): estimate {_number(row.get('estimate')):+.3g}, "
                f"{format_p(_number(row.get('p_value')))}.")
    return generate(row)


def conclusion_of(row: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A short machine-readable label of what the row concludes (column `conclusion`)."""
    if not _has_result(row):
        return "no_result"
    if is_effect_row(row):
        return effect_conclusion(row, related)[0]
    test = str(row.get("test"))
    failed = _number(row.get("p_value")) < ALPHA
    if _check_name(row) is not None:
        return "check_failed" if failed else "check_passed"
    if test in PREDICTIVE_TESTS:
        return "adds_predictive_value" if failed else "no_predictive_value"
    return "significant" if failed else "not_significant"


def related_rows(results: pd.DataFrame) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Per base hypothesis, its rows keyed by the suffix of their key ('' for '<hypothesis>')."""
    grouped: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in results.to_dict("records"):
        base, _, suffix = str(row.get("hypothesis", "")).partition(":")
        grouped.setdefault(base, {})[suffix] = row
    return grouped


def add_verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """The frame with `verdict` (one sentence or a few per row) and `conclusion` columns, and `supported`
    of every effect row decided here, from its conclusion: true only when the verdict says the data support
    the hypothesis. A row whose sentence says "untrustworthy", "could be explained by a hidden factor" or
    "an association between accounts" is not `supported`, whatever its p-value. The other rows (checks,
    predictive tests) keep the `supported` their test gave them."""
    grouped = related_rows(results)
    records = results.to_dict("records")
    contexts = [grouped.get(_base_hypothesis(row), {}) for row in records]
    conclusions = [conclusion_of(row, related) for row, related in zip(records, contexts)]
    # `== True`, not bool(): a missing flag (NaN after a concat) is false, and numpy's bool_ is not `True`
    supported = [conclusion == "supported" if is_effect_row(row) else row.get("supported") == True  # noqa: E712
                 for row, conclusion in zip(records, conclusions)]
    return results.assign(verdict=[verdict_sentence(row, related) for row, related in zip(records, contexts)],
                          conclusion=conclusions, supported=supported)
