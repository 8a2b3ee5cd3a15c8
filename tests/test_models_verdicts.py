"""Plain-language verdicts (models/verdicts.py): each sentence follows the row's numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.diagnostics import effect_sizes
from models.verdicts import (
    add_verdicts,
    change_phrase,
    conclusion_of,
    format_p,
    interval_phrase,
    verdict_sentence,
)


def effect_row(**overrides) -> dict:
    row = {"hypothesis": "H1_strategic_alignment", "test": "adjusted_effect", "feature_block": "alignment",
           "treatment": "mean_alignment", "direction": "positive", "estimate": math.log(1.47),
           "ci_low": math.log(1.12), "ci_high": math.log(1.95), "p_value": 0.006, "p_value_holm": math.nan,
           "supported": True, "outcome": "revenue", "outcome_months": 12.0, "n_permutations": math.nan,
           "note": None, "method": "proportional (Poisson-type partially linear) DML in levels",
           "n_accounts": 1100}
    return {**row, **overrides}


def sized(**overrides) -> dict:
    """An effect row with the sizes and robustness columns of models.diagnostics filled."""
    row = effect_row(observation_months=12.0, treatment_sd=0.2, estimate_per_sd=0.2 * math.log(1.47),
                     ci_low_per_sd=0.2 * math.log(1.12), ci_high_per_sd=0.2 * math.log(1.95),
                     mde_80_per_sd=0.05, robustness_value=0.08, robustness_value_alpha=0.03, e_value=1.4,
                     e_value_ci=1.12, benchmark_control="log_employee_count", benchmark_r2_treatment=0.004,
                     benchmark_r2_outcome=0.3, benchmark_adjusted_estimate=0.3, benchmark_adjusted_ci_low=0.05,
                     benchmark_adjusted_ci_high=0.55)
    return {**row, **overrides}


WITHIN = {"test": "within_account", "method": "within-account panel regression with account fixed effects"}


def check_row(test: str, p_value: float, design: dict | None = None) -> dict:
    """A check row; it tests the design its method names (default: the cross-sectional estimator)."""
    return effect_row(hypothesis=f"H1_strategic_alignment:{test}", test=test, estimate=0.01, ci_low=-0.02,
                      ci_high=0.04, p_value=p_value, supported=False,
                      method=(design or {}).get("method", "negative control, cross-sectional DML"))


def test_a_significant_effect_reads_as_an_association_with_its_numbers() -> None:
    sentence = verdict_sentence(sized())
    assert sentence.startswith("Accounts whose early deals fit the strategy better were associated with 47% more "
                               "revenue in months 13-24 of the customer relationship per one-point rise in alignment")
    assert "(95% CI 12% to 95% more)" in sentence
    assert "after adjusting for segment, industry, region, size, cohort" in sentence
    assert "p = 0.006" in sentence
    assert "Per standard deviation of the treatment (0.2 points of alignment score): 8.0% more" in sentence


def test_cross_sectional_design_never_says_supported() -> None:
    row = sized()
    sentence, conclusion = verdict_sentence(row), conclusion_of(row)
    assert conclusion == "associated"
    assert "support the hypothesis" not in sentence and "not shown to be an effect" in sentence
    assert "3.0% of the variation left after the controls" in sentence and "(8.0% to remove it" in sentence
    assert "company size (employees), explains 0.4% of the treatment's and 30% of revenue's" in sentence
    assert "E-value 1.40 per standard deviation (1.12 for the confidence limit)" in sentence


def test_a_hidden_factor_as_strong_as_a_control_could_explain_it() -> None:
    row = sized(benchmark_adjusted_estimate=0.1, benchmark_adjusted_ci_low=-0.15, benchmark_adjusted_ci_high=0.35)
    assert conclusion_of(row) == "could_be_hidden_factor"
    sentence = verdict_sentence(row)
    assert "could be explained by a hidden factor as strong as company size (employees)" in sentence
    assert "11% more (95% CI 14% less to 42% more)" in sentence and "not supported" in sentence
    within = {**row, **WITHIN}
    assert conclusion_of(within, {"pre_trend": check_row("pre_trend", 0.6, WITHIN)}) == "could_be_hidden_factor"


def test_within_account_design_with_passed_negative_controls_is_supported() -> None:
    row = sized(**WITHIN)
    related = {"pre_trend": check_row("pre_trend", 0.6, WITHIN),
               "future_treatment": check_row("future_treatment", 0.4, WITHIN)}
    assert conclusion_of(row, related) == "supported"
    sentence = verdict_sentence(row, related)
    assert "The data support the hypothesis at the 5% level" in sentence
    assert "pre-trend and future-treatment checks passed" in sentence
    assert "(within-account before/after vs comparable accounts over the same months)" in sentence


def test_within_account_design_without_negative_controls_is_not_yet_supported() -> None:
    row = sized(**WITHIN)
    assert conclusion_of(row, {}) == "associated"
    assert "no negative control was available" in verdict_sentence(row, {})


@pytest.mark.parametrize("design", [{}, WITHIN])
@pytest.mark.parametrize("failed", ["pre_trend", "future_treatment"])
def test_a_failed_negative_control_makes_the_result_untrustworthy(design: dict, failed: str) -> None:
    row = sized(**design)
    related = {"pre_trend": check_row("pre_trend", 0.6, design), "future_treatment": check_row(
        "future_treatment", 0.4, design), failed: check_row(failed, 0.002, design)}
    assert conclusion_of(row, related) == "untrustworthy"
    sentence = verdict_sentence(row, related)
    assert "untrustworthy" in sentence and "support the hypothesis" not in sentence
    # also when the effect itself is not significant: the design is broken either way
    quiet = {**row, "p_value": 0.4, "ci_low": -0.1, "ci_high": 0.5}
    assert conclusion_of(quiet, related) == "untrustworthy"


def test_a_failed_placebo_makes_the_cross_sectional_row_untrustworthy() -> None:
    related = {"placebo": check_row("placebo", 0.01)}
    assert conclusion_of(sized(), related) == "untrustworthy"
    # the placebo checks the cross-sectional estimator, not the within-account design
    passed = {**related, "pre_trend": check_row("pre_trend", 0.5, WITHIN)}
    assert conclusion_of(sized(**WITHIN), passed) == "supported"


def test_a_check_judges_only_the_design_it_tests() -> None:
    """A failed future-treatment control of the cross-sectional design makes the cross-sectional row
    untrustworthy, not the within-account row whose own pre-trend passed (and vice versa)."""
    related = {"pre_trend": check_row("pre_trend", 0.5, WITHIN), "future_treatment": check_row("future_treatment", 0.01)}
    assert conclusion_of(sized(**WITHIN), related) == "supported"
    assert conclusion_of(sized(), related) == "untrustworthy"
    related = {"pre_trend": check_row("pre_trend", 0.01, WITHIN), "future_treatment": check_row("future_treatment", 0.5)}
    assert conclusion_of(sized(**WITHIN), related) == "untrustworthy"
    assert conclusion_of(sized(), related) == "associated"


def test_not_significant_with_a_large_detectable_effect_is_too_few_accounts() -> None:
    row = sized(estimate=0.05, ci_low=-0.2, ci_high=0.3, p_value=0.6, supported=False, mde_80_per_sd=0.2)
    assert conclusion_of(row) == "too_few_accounts"
    sentence = verdict_sentence(row)
    assert "too few accounts to tell" in sentence and "not evidence of no effect" in sentence
    assert "only a change of 22% or more per standard deviation" in sentence and "1,100 accounts" in sentence
    # a treatment without an SD (a binary event of a within-account design) is judged per unit
    binary = {**row, "hypothesis": "H2_trust_eroding_events", "feature_block": "trust", "direction": "negative",
              "mde_80_per_sd": math.nan, "mde_80": 0.05}
    assert conclusion_of(binary) == "no_relevant_effect"
    assert "a change of 10% per trust-eroding event would have been found" in verdict_sentence(binary)


def test_not_significant_with_enough_power_rules_out_a_relevant_effect() -> None:
    row = sized(estimate=0.01, ci_low=-0.03, ci_high=0.05, p_value=0.6, supported=False, mde_80_per_sd=0.05)
    assert conclusion_of(row) == "no_relevant_effect"
    sentence = verdict_sentence(row)
    assert "a change of 10% per standard deviation of the treatment would have been found with 80% power" in sentence
    assert "smallest detectable: 5.1%" in sentence and "not supported" in sentence


def test_non_significant_negative_effect_is_not_supported() -> None:
    sentence = verdict_sentence(effect_row(
        hypothesis="H2_trust_eroding_events", feature_block="trust", direction="negative",
        estimate=math.log(0.95), ci_low=math.log(0.80), ci_high=math.log(1.10), p_value=0.42, supported=False))
    assert "5.0% less revenue" in sentence and "per trust-eroding event" in sentence
    assert "(95% CI 20% less to 10% more)" in sentence
    assert "other negotiation events" in sentence
    assert "p = 0.42" in sentence and "not supported" in sentence and "support the hypothesis" not in sentence


def test_significant_effect_of_the_wrong_sign_is_not_supported() -> None:
    row = sized(estimate=math.log(0.7), ci_low=math.log(0.6), ci_high=math.log(0.8), p_value=0.0004,
                supported=False, **WITHIN)
    sentence = verdict_sentence(row, {"pre_trend": check_row("pre_trend", 0.5, WITHIN)})
    assert "30% less" in sentence and "opposite direction" in sentence and "p < 0.001" in sentence
    assert conclusion_of(row) == "opposite_direction"


def test_negative_control_rows_say_passed_or_failed() -> None:
    passed = verdict_sentence(check_row("pre_trend", 0.6))
    assert passed.startswith("Negative control, pre-trend") and "The check passed" in passed
    failed = check_row("future_treatment", 0.001)
    assert "FAILED" in verdict_sentence(failed) and conclusion_of(failed) == "check_failed"


def test_add_verdicts_reads_each_hypothesis_with_its_own_checks() -> None:
    rows = pd.DataFrame([sized(**WITHIN), check_row("pre_trend", 0.003, WITHIN),
                         sized(hypothesis="H2_trust_eroding_events", feature_block="trust", direction="negative",
                               estimate=-0.1, ci_low=-0.15, ci_high=-0.05, p_value=0.001,
                               benchmark_adjusted_estimate=-0.08, benchmark_adjusted_ci_low=-0.12,
                               benchmark_adjusted_ci_high=-0.04, **WITHIN),
                         {**check_row("pre_trend", 0.5, WITHIN), "hypothesis": "H2_trust_eroding_events:pre_trend"}])
    out = add_verdicts(rows).set_index("hypothesis")["conclusion"]
    assert out["H1_strategic_alignment"] == "untrustworthy"
    assert out["H2_trust_eroding_events"] == "supported"
    assert out["H1_strategic_alignment:pre_trend"] == "check_failed"


def test_supported_is_true_only_where_the_verdict_says_the_data_support_it() -> None:
    """Every input row says supported=True; each effect row keeps it only when its conclusion is 'supported'
    (a significant cross-sectional association, one a hidden factor could explain, one whose check failed and
    one of the wrong sign all lose it); a check row and a predictive row keep what their test gave them."""
    cross = {"test": "cross_sectional", "method": "cross-sectional (secondary): DML"}
    rows = pd.DataFrame([
        sized(supported=True, **WITHIN),
        {**check_row("pre_trend", 0.5, WITHIN), "supported": True},
        sized(hypothesis="H1_strategic_alignment:cross_sectional", supported=True, **cross),
        sized(hypothesis="H2_trust_eroding_events", feature_block="trust", direction="negative", supported=True,
              estimate=-0.1, ci_low=-0.15, ci_high=-0.05, p_value=0.001, **WITHIN),
        {**check_row("pre_trend", 0.003, WITHIN), "hypothesis": "H2_trust_eroding_events:pre_trend"},
        sized(hypothesis="H2_trust_eroding_events:cross_sectional", feature_block="trust", direction="negative",
              estimate=0.1, ci_low=0.05, ci_high=0.15, p_value=0.001, supported=True, **cross),
        effect_row(hypothesis="H1_strategic_alignment:predictive_value", test="predictive_value", estimate=0.01,
                   ci_low=0.001, ci_high=0.02, p_value=0.01, supported=True),
    ])
    out = add_verdicts(rows).set_index("hypothesis")
    assert out["supported"].to_dict() == {
        "H1_strategic_alignment": True, "H1_strategic_alignment:pre_trend": True,
        "H1_strategic_alignment:cross_sectional": False, "H2_trust_eroding_events": False,
        "H2_trust_eroding_events:pre_trend": False, "H2_trust_eroding_events:cross_sectional": False,
        "H1_strategic_alignment:predictive_value": True}
    assert out.loc["H1_strategic_alignment", "conclusion"] == "supported"
    assert out.loc["H1_strategic_alignment:cross_sectional", "conclusion"] == "associated"
    assert out.loc["H2_trust_eroding_events", "conclusion"] == "untrustworthy"
    assert out.loc["H2_trust_eroding_events:cross_sectional", "conclusion"] == "opposite_direction"


def test_event_type_rows_are_decided_by_the_holm_p_value() -> None:
    sentence = verdict_sentence(effect_row(
        hypothesis="H2_trust_eroding_events:second_source_added", feature_block="trust", direction="negative",
        estimate=-0.1, ci_low=-0.19, ci_high=-0.01, p_value=0.03, p_value_holm=0.09, supported=False))
    assert "'second source added' event" in sentence
    assert "Holm-adjusted p = 0.090" in sentence and "not supported" in sentence


def test_placebo_and_permutation_rows() -> None:
    passed = verdict_sentence(effect_row(hypothesis="H1_strategic_alignment:placebo", test="placebo",
                                         estimate=0.02, ci_low=-0.1, ci_high=0.14, p_value=0.7, supported=False))
    assert passed.startswith("Placebo check") and "finds no effect" in passed
    failed = verdict_sentence(effect_row(hypothesis="H1_strategic_alignment:placebo", test="placebo",
                                         p_value=0.001, supported=False))
    assert "Warning" in failed
    permutation = verdict_sentence(effect_row(hypothesis="H1_strategic_alignment:block_permutation",
                                              test="block_permutation", estimate=0.004, ci_low=None, ci_high=None,
                                              p_value=3 / 200, n_permutations=199))
    assert "reached or beaten by 2 of the 199 shuffles" in permutation and "p = 0.015" in permutation


def test_predictive_value_row_and_missing_results() -> None:
    predictive = verdict_sentence(effect_row(hypothesis="H1_strategic_alignment:predictive_value",
                                             test="predictive_value", estimate=-0.002, ci_low=-0.01,
                                             ci_high=0.006, p_value=0.7, supported=False))
    assert "lowered" in predictive and "0.002" in predictive and "does not add predictive value" in predictive
    missing = verdict_sentence(effect_row(estimate=math.nan, p_value=math.nan, note="too few accounts (12)"))
    assert "no result" in missing and "too few accounts (12)" in missing


def test_formatting_helpers_and_frame() -> None:
    assert format_p(0.0004) == "p < 0.001" and format_p(0.0461) == "p = 0.046" and format_p(0.5) == "p = 0.50"
    assert change_phrase(-8.04) == "8.0% less" and change_phrase(47.2) == "47% more"
    assert interval_phrase(-30.0, -10.0) == "10% to 30% less"
    frame = add_verdicts(pd.DataFrame([effect_row(), effect_row(estimate=math.nan)]))
    assert frame["verdict"].str.len().gt(20).all()
    assert frame["verdict"].iloc[0] != frame["verdict"].iloc[1]


@pytest.mark.parametrize("estimate", [-0.3, 0.0, 0.3])
def test_direction_word_follows_the_sign(estimate: float) -> None:
    sentence = verdict_sentence(effect_row(estimate=estimate, ci_low=estimate - 0.1, ci_high=estimate + 0.1))
    assert ("less revenue" in sentence) == (estimate < 0)


def test_a_check_is_recognised_by_its_key_even_with_a_within_account_method() -> None:
    row = {**check_row("pre_trend", 0.01), "test": "negative_control", **{"method": WITHIN["method"]}}
    assert conclusion_of(row) == "check_failed"
    assert verdict_sentence(row).startswith("Negative control, pre-trend")


def test_an_interval_end_beyond_exp_range_reads_as_unbounded() -> None:
    # A tiny export (a few hundred accounts) can give a log-ratio interval end of several thousand.
    sentence = verdict_sentence(effect_row(estimate=-2.0, ci_low=-30.0, ci_high=5000.0, p_value=0.5, supported=False))
    assert "(95% CI 100% less to ∞% more)" in sentence
    # with the sizes of models.diagnostics too: the per-SD E-values and MDE do not overflow either
    row = effect_row(estimate=-2.0, ci_low=-30.0, ci_high=5000.0, p_value=0.5, supported=False, n_accounts=40)
    sized_row = {**row, **effect_sizes(row, 0.5)}
    assert math.isinf(sized_row["mde_80_per_sd"]) is False and sized_row["e_value_ci"] == 1.0
    assert "too few accounts to tell" in verdict_sentence(sized_row)


def test_each_effect_sentence_names_its_design_and_one_not_significant_wording() -> None:
    from models.verdicts import DESIGN_PHRASES, add_verdicts

    within = {"hypothesis": "H2_trust_eroding_events", "test": "adjusted_effect", "outcome": "revenue",
              "direction": "negative", "feature_block": "trust", "mde_80_per_sd": float("nan"),
              "unit": "log of the ratio of revenue in the 6 months after to the 6 months before, for one event",
              "method": "within-account stacked event study: one isolated trust-eroding event"}
    rows = pd.DataFrame([
        {**within, "estimate": 0.155, "ci_low": -0.4, "ci_high": 0.8, "p_value": 0.6, "mde_80": 1.13, "n_accounts": 66},
        {**within, "hypothesis": "H2_trust_eroding_events:cross_sectional", "test": "cross_sectional",
         "method": "cross-sectional (secondary; removes recorded confounding only): proportional DML",
         "estimate": 0.01, "ci_low": -0.02, "ci_high": 0.04, "p_value": 0.5, "mde_80": 0.05, "n_accounts": 4000,
         "outcome_months": 12.0, "observation_months": 12.0},
        {**within, "hypothesis": "H2_trust_eroding_events:pre_trend", "test": "pre_trend",
         "method": "within-account stacked event study (must show no effect)",
         "estimate": -0.01, "ci_low": -0.03, "ci_high": 0.01, "p_value": 0.4, "n_accounts": 66},
    ])
    worded = add_verdicts(rows).set_index("hypothesis")
    primary = worded.loc["H2_trust_eroding_events"]
    assert DESIGN_PHRASES["within_account"] in primary["verdict"]
    assert "were associated with 17% more revenue in the 6 months after it" in primary["verdict"]
    assert "after adjusting for their own revenue in the 6 months before it" in primary["verdict"]
    assert primary["conclusion"] == "too_few_accounts" and "With 66 accounts" in primary["verdict"]
    assert "210%" in primary["verdict"]
    secondary = worded.loc["H2_trust_eroding_events:cross_sectional"]
    assert DESIGN_PHRASES["cross_sectional_secondary"] in secondary["verdict"]
    assert secondary["conclusion"] == "no_relevant_effect" and "4,000 accounts" in secondary["verdict"]
    # both not-significant sentences open with the one wording
    for sentence in (primary["verdict"], secondary["verdict"]):
        assert "This cannot be told apart from no effect at the 5% level" in sentence
    assert DESIGN_PHRASES["within_account"] in worded.loc["H2_trust_eroding_events:pre_trend", "verdict"]

