"""Plain-language verdicts (models/verdicts.py): each sentence follows the row's numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.verdicts import add_verdicts, change_phrase, format_p, interval_phrase, verdict_sentence


def effect_row(**overrides) -> dict:
    row = {"hypothesis": "H1_strategic_alignment", "test": "adjusted_effect", "feature_block": "alignment",
           "treatment": "mean_alignment", "direction": "positive", "estimate": math.log(1.47),
           "ci_low": math.log(1.12), "ci_high": math.log(1.95), "p_value": 0.006, "p_value_holm": math.nan,
           "supported": True, "outcome": "revenue", "outcome_months": 12.0, "n_permutations": math.nan,
           "note": None}
    return {**row, **overrides}


def test_supported_positive_effect_reads_as_the_numbers() -> None:
    sentence = verdict_sentence(effect_row())
    assert sentence.startswith("Accounts whose early deals fit the strategy better earned 47% more revenue "
                               "in the following 12 months per one-point rise in alignment score")
    assert "(95% CI 12% to 95% more)" in sentence
    assert "after adjusting for segment, industry, region, size, cohort" in sentence
    assert "p = 0.006" in sentence and "support the hypothesis" in sentence


def test_non_significant_negative_effect_is_not_supported() -> None:
    sentence = verdict_sentence(effect_row(
        hypothesis="H2_trust_eroding_events", feature_block="trust", direction="negative",
        estimate=math.log(0.95), ci_low=math.log(0.80), ci_high=math.log(1.10), p_value=0.42, supported=False))
    assert "5.0% less revenue" in sentence and "per trust-eroding event" in sentence
    assert "(95% CI 20% less to 10% more)" in sentence
    assert "other negotiation events" in sentence
    assert "p = 0.42" in sentence and "not supported" in sentence and "support the hypothesis" not in sentence


def test_significant_effect_of_the_wrong_sign_is_not_supported() -> None:
    sentence = verdict_sentence(effect_row(estimate=math.log(0.7), ci_low=math.log(0.6), ci_high=math.log(0.8),
                                           p_value=0.0004, supported=False))
    assert "30% less" in sentence and "opposite direction" in sentence and "p < 0.001" in sentence


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


def test_an_interval_end_beyond_exp_range_reads_as_unbounded() -> None:
    # A tiny export (a few hundred accounts) can give a log-ratio interval end of several thousand.
    sentence = verdict_sentence(effect_row(estimate=-2.0, ci_low=-30.0, ci_high=5000.0, p_value=0.5, supported=False))
    assert "(95% CI 100% less to ∞% more)" in sentence
