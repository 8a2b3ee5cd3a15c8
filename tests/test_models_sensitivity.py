"""Sensitivity formulas (models/sensitivity.py) against published values and hand computations, and the
diagnostics stage (models/diagnostics.py) on simulated worlds whose confounding is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models import sensitivity as sens
from models.diagnostics import (
    SENSITIVITY_COLUMNS,
    add_sizes_and_verdicts,
    assess_adjusted_effects,
    calibration_power_curve,
    cochran_q,
    effect_sizes,
)
from models.features import build_feature_blocks
from models.design import analysis_sample
from models.hypotheses import hypothesis_specs, run_statistics
from tests.test_models_hypotheses import simulate_features

# Cinelli & Hazlett (2020), Darfur example (sensemakr's `darfur`): the effect of being directly harmed on
# peace attitudes, estimate 0.09731582, standard error 0.02325654, 783 residual degrees of freedom;
# published: partial R2 of the treatment with the outcome 2.19%, RV 13.9%, RV at alpha 0.05 7.6%.
DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF = 0.09731582, 0.02325654, 783


def test_robustness_values_match_the_published_darfur_numbers() -> None:
    t = DARFUR_ESTIMATE / DARFUR_SE
    assert sens.partial_r2(t, DARFUR_DOF) == pytest.approx(0.0219, abs=5e-4)
    assert sens.robustness_value(t, DARFUR_DOF) == pytest.approx(0.139, abs=1e-3)
    assert sens.robustness_value(t, DARFUR_DOF, alpha=0.05) == pytest.approx(0.076, abs=1e-3)


def test_robustness_value_by_hand() -> None:
    # f = t / sqrt(dof) = 3 / sqrt(100) = 0.3; RV = (sqrt(f^4 + 4 f^2) - f^2) / 2
    f = 0.3
    assert sens.robustness_value(3.0, 100) == pytest.approx(0.5 * (math.sqrt(f ** 4 + 4 * f ** 2) - f ** 2))
    # RV_alpha: f minus the critical f of a t test with dof - 1 degrees of freedom
    f_alpha = f - stats.t.ppf(0.975, 99) / math.sqrt(99)
    assert sens.robustness_value(3.0, 100, alpha=0.05) == pytest.approx(
        0.5 * (math.sqrt(f_alpha ** 4 + 4 * f_alpha ** 2) - f_alpha ** 2))
    # not significant: no confounding needed; the sign of t does not matter
    assert sens.robustness_value(1.5, 100, alpha=0.05) == 0.0
    assert sens.robustness_value(-3.0, 100) == sens.robustness_value(3.0, 100)
    # at the RV, a confounder with that partial R2 with both treatment and outcome removes the estimate
    rv = sens.robustness_value(3.0, 100)
    assert sens.bias_bound(1.0, 100, rv, rv) == pytest.approx(3.0)


def test_bias_of_a_benchmark_confounder_matches_the_darfur_female_bound() -> None:
    # sensemakr's "1x female" bound: R2dz.x 0.0092, R2yz.dx 0.1246 -> adjusted estimate 0.0752
    adjusted, low, high = sens.adjusted_for_confounder(DARFUR_ESTIMATE, DARFUR_SE, DARFUR_DOF, 0.0092, 0.1246)
    assert adjusted == pytest.approx(0.0752, abs=2e-4)
    assert high - low == pytest.approx(2 * 1.959964 * DARFUR_SE)
    # towards zero for a negative estimate too, and past zero when the confounder is strong enough
    assert sens.adjusted_for_confounder(-0.1, 0.02, 783, 0.0092, 0.1246)[0] == pytest.approx(-(0.1 - 0.02 * math.sqrt(
        783) * math.sqrt(0.1246 * 0.0092 / (1 - 0.0092))))
    assert sens.adjusted_for_confounder(0.05, 0.02, 783, 0.2, 0.5)[0] < 0


def test_e_values_match_vanderweele_and_ding() -> None:
    # VanderWeele & Ding (2017): RR 3.9 (95% CI 1.8 to 8.7) -> E-value 7.26, for the CI 3.0
    assert sens.e_value(3.9) == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))
    assert sens.e_value(3.9) == pytest.approx(7.26, abs=0.01)
    assert sens.e_value_of_interval(1.8, 8.7) == pytest.approx(3.0, abs=0.01)
    assert sens.e_value(1 / 3.9) == pytest.approx(sens.e_value(3.9))  # protective ratios are inverted
    assert sens.e_value_of_interval(1 / 8.7, 1 / 1.8) == pytest.approx(3.0, abs=0.01)
    assert sens.e_value_of_interval(0.8, 1.3) == 1.0
    assert sens.e_value(1.0) == 1.0


def test_minimum_detectable_effect_and_power() -> None:
    assert sens.minimum_detectable_effect(1.0) == pytest.approx(2.8016, abs=1e-4)
    assert sens.power_at(sens.minimum_detectable_effect(0.1), 0.1) == pytest.approx(0.80, abs=1e-3)
    assert sens.power_at(0.0, 0.1) == pytest.approx(0.05)
    assert sens.scaled_std_error(0.2, 1000, 4000) == pytest.approx(0.1)
    assert sens.std_error_from_interval(-1.959964, 1.959964) == pytest.approx(1.0)


def test_cochran_q_by_hand() -> None:
    q, dof, p_value, i2 = cochran_q(np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    assert (q, dof) == (pytest.approx(0.5), 1)  # pooled 0.5; 0.25 + 0.25
    assert p_value == pytest.approx(stats.chi2.sf(0.5, 1)) and i2 == 0.0
    q, dof, _, i2 = cochran_q(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.1, 0.1]))
    assert q == pytest.approx(20.0) and i2 == pytest.approx(0.9)


def test_effect_sizes_per_sd_from_a_row() -> None:
    row = {"estimate": 0.3, "ci_low": 0.3 - 1.959964 * 0.1, "ci_high": 0.3 + 1.959964 * 0.1,
           "n_accounts": 1001, "outcome": "revenue"}
    sizes = effect_sizes(row, 0.2)
    assert sizes["estimate_per_sd"] == pytest.approx(0.06)
    assert sizes["mde_80"] == pytest.approx(0.28016, abs=1e-4)
    assert sizes["mde_80_per_sd"] == pytest.approx(0.2 * 0.28016, abs=1e-4)
    assert sizes["robustness_value"] == pytest.approx(sens.robustness_value(3.0, 1000), rel=1e-5)
    assert sizes["e_value"] == pytest.approx(sens.e_value(math.exp(0.06)))
    assert sizes["e_value_ci"] == pytest.approx(sens.e_value(math.exp(0.2 * (0.3 - 1.959964 * 0.1))))
    assert math.isnan(effect_sizes({**row, "outcome": "gross_margin"}, 0.2)["e_value"])


@pytest.fixture(scope="module")
def confounded_world() -> tuple:
    """A world where size (observed) confounds both treatments and there is no true effect of either."""
    features = simulate_features(1500, alignment_effect=0.0, eroding_effect=0.0, seed=3)
    return run_statistics(features, test_event_types=False, placebo=False, n_permutations=0, n_repeats=1)


def test_primary_rows_get_sizes_robustness_and_a_size_benchmark(confounded_world) -> None:
    tests = confounded_world.tests.set_index("hypothesis")
    for hypothesis in ("H1_strategic_alignment", "H2_trust_eroding_events"):
        row = tests.loc[hypothesis]
        assert row["treatment_sd"] > 0 and row["mde_80_per_sd"] > 0
        assert row["estimate_per_sd"] == pytest.approx(row["estimate"] * row["treatment_sd"])
        assert 0 <= row["robustness_value_alpha"] <= row["robustness_value"] <= 1
        assert row["e_value"] >= 1 and 1 <= row["e_value_ci"] <= row["e_value"]
        # size drives revenue and both treatments: it is the strongest control
        assert row["benchmark_control"] == "log_employee_count"
        assert row["benchmark_r2_outcome"] > 0.1
        assert isinstance(row["conclusion"], str) and row["verdict"]
    # predictive rows get no effect sizes
    assert tests["treatment_sd"].isna().sum() >= 2


def test_diagnostics_table_has_overlap_segments_heterogeneity_benchmarks_and_the_mde_curve(confounded_world):
    diagnostics = confounded_world.diagnostics
    h1 = diagnostics[diagnostics["hypothesis"] == "H1_strategic_alignment"]
    kinds = set(h1["diagnostic"])
    assert {"treatment_residual_share", "effect_by_segment", "heterogeneity_q", "heterogeneity_p_value",
            "benchmark_r2_treatment", "benchmark_r2_outcome", "benchmark_adjusted_estimate", "mde_80_per_sd",
            "power_at_relevant_change"} <= kinds
    overlap = h1[h1["diagnostic"] == "treatment_residual_share"].set_index("group_name")
    assert {"all", "segment=enterprise", "segment=smb"} <= set(overlap.index)
    assert (overlap["value"].dropna().between(0, 1.5)).all()
    segments = h1[h1["diagnostic"] == "effect_by_segment"]
    assert (segments["ci_low"] < segments["value"]).all() and (segments["value"] < segments["ci_high"]).all()
    # no true effect anywhere: the segments do not differ beyond chance
    assert h1.loc[h1["diagnostic"] == "heterogeneity_p_value", "value"].iloc[0] > 0.001
    curve = h1[h1["diagnostic"] == "mde_80_per_sd"].set_index("n_accounts")["value"]
    assert curve[1000] == pytest.approx(curve[4000] * 2)  # the square-root rule
    assert not diagnostics.duplicated(["hypothesis", "diagnostic", "group_name"]).any()


def test_heterogeneity_is_found_when_the_effect_differs_by_segment() -> None:
    features = simulate_features(2000, alignment_effect=0.0, eroding_effect=0.0, seed=5)
    # a planted effect of eroding events only in enterprise accounts: -0.3 log revenue per event
    enterprise = (features["segment"] == "enterprise").to_numpy()
    features.loc[enterprise, "outcome_revenue"] *= np.exp(-0.3 * features.loc[enterprise, "n_trust_eroding_events"])
    result = run_statistics(features, test_event_types=False, placebo=False, n_permutations=0, n_repeats=1,
                            sensitivity=False)
    diagnostics = result.diagnostics
    h2 = diagnostics[diagnostics["hypothesis"] == "H2_trust_eroding_events"].set_index(["diagnostic", "group_name"])
    assert h2.loc[("heterogeneity_p_value", "segment"), "value"] < 0.01
    assert h2.loc[("effect_by_segment", "segment=enterprise"), "ci_high"] < -0.1
    assert not (diagnostics["diagnostic"].str.startswith("benchmark")).any()  # sensitivity=False
    assert result.tests["benchmark_control"].isna().all()


def test_power_curve_from_the_committed_calibration_study() -> None:
    runs = pd.read_csv(Path(__file__).parents[1] / "data" / "calibration" / "stress_none.csv",
                       keep_default_na=False, na_values=[""])
    curve = calibration_power_curve(runs).set_index(["hypothesis", "source", "accounts"]).sort_index()
    measured = curve.loc[("H1_strategic_alignment", "measured", 2000)]
    planted = runs[(runs["world"] == "planted") & (runs["hypothesis"] == "H1_strategic_alignment")]
    for size, group in planted.groupby("accounts_per_world"):  # every studied size is measured
        row = curve.loc[("H1_strategic_alignment", "measured", size)]
        assert row["power"] == pytest.approx((group["p_value"] < 0.05).mean()) and row["worlds"] == len(group)
    # the within-account H1 may find the effect in every planted world: power 1 is its own upper limit
    assert measured["power_ci_low"] < measured["power_ci_high"]
    assert measured["power_ci_low"] <= measured["power"] <= measured["power_ci_high"]
    # the square-root rule at 1,000 / 2,000 / 4,000 accounts from the size with the most planted worlds
    rule = curve.xs(("H1_strategic_alignment", "sqrt_rule"))
    assert list(rule.index) == [1000, 2000, 4000]
    assert rule.loc[1000, "mde_80"] == pytest.approx(rule.loc[4000, "mde_80"] * 2)
    assert rule.loc[2000, "mde_80"] == pytest.approx(measured["mde_80"])
    assert rule["power"].is_monotonic_increasing


def test_power_curve_is_measured_when_the_study_has_several_sizes() -> None:
    rng = np.random.default_rng(0)
    rows = [{"world": "planted", "hypothesis": "H1_strategic_alignment", "test": "adjusted_effect", "truth": 0.3,
             "estimate": 0.3, "ci_low": 0.0, "ci_high": 0.6, "p_value": p, "accounts_per_world": size}
            for size in (1000, 4000) for p in rng.uniform(0, 0.2 if size == 4000 else 1.0, 40)]
    rows += rows[-5:]  # 4,000 accounts has the most worlds: the rule's reference
    curve = calibration_power_curve(pd.DataFrame(rows))
    measured = curve[curve["source"] == "measured"].set_index("accounts")
    assert list(measured.index) == [1000, 4000] and list(measured["worlds"]) == [40, 45]
    assert measured.loc[4000, "power"] > measured.loc[1000, "power"]
    assert measured.loc[1000, "power_ci_low"] < measured.loc[1000, "power"] < measured.loc[1000, "power_ci_high"]
    # beside the measurements, the rule from the reference size: equal to it there, sqrt(n) elsewhere
    rule = curve[curve["source"] == "sqrt_rule"].set_index("accounts")
    assert list(rule.index) == [1000, 2000, 4000] and rule["power_ci_low"].isna().all()
    assert rule.loc[4000, "mde_80"] == pytest.approx(measured.loc[4000, "mde_80"])
    assert rule.loc[1000, "mde_80"] == pytest.approx(2 * rule.loc[4000, "mde_80"])
    assert rule["power"].is_monotonic_increasing


def test_after_a_within_account_row_becomes_primary_the_cross_sectional_row_keeps_its_benchmarks() -> None:
    """The layout once the within-account design is merged: '<hypothesis>' is the within-account row,
    the DML row is '<hypothesis>:cross_sectional'. The benchmarks follow the DML row; the within-account
    row gets its sizes from its own numbers, keeps its own SD, and gets no DML benchmark."""
    features = simulate_features(800, alignment_effect=0.0, eroding_effect=0.0, seed=4)
    tests = run_statistics(features, test_event_types=False, placebo=False, n_permutations=0, n_repeats=1,
                           sensitivity=False).tests
    h1 = tests[tests["hypothesis"] == "H1_strategic_alignment"].iloc[0]
    cross_sectional = {**h1.to_dict(), "hypothesis": "H1_strategic_alignment:cross_sectional",
                       "test": "cross_sectional"}
    within = {**h1.to_dict(), "test": "within_account", "method": "within-account panel, account fixed effects",
              "estimate": 0.05, "ci_low": 0.01, "ci_high": 0.09, "treatment_sd": 0.1}
    layout = pd.DataFrame([within, cross_sectional]).drop(
        columns=[c for c in SENSITIVITY_COLUMNS if c != "treatment_sd"])
    blocks = build_feature_blocks(features)
    spec = next(s for s in hypothesis_specs(blocks, "log ratio") if s.hypothesis == "H1_strategic_alignment")
    frame, y, _ = analysis_sample(spec, blocks)
    results, diagnostics = assess_adjusted_effects(layout, blocks, {spec.hypothesis: (spec, frame, y)})
    rows = results.set_index("hypothesis")
    assert rows.loc["H1_strategic_alignment:cross_sectional", "benchmark_control"] == "log_employee_count"
    assert pd.isna(rows.loc["H1_strategic_alignment", "benchmark_control"])
    assert rows.loc["H1_strategic_alignment", "treatment_sd"] == 0.1
    assert rows.loc["H1_strategic_alignment", "estimate_per_sd"] == pytest.approx(0.005)
    assert rows.loc["H1_strategic_alignment", "robustness_value"] > 0
    assert set(diagnostics["hypothesis"]) == {"H1_strategic_alignment:cross_sectional"}


def test_rows_added_after_run_statistics_get_sizes_and_verdicts_from_one_place() -> None:
    """A design applied after run_statistics (the within-account rows) re-keys the DML row and adds its own
    rows; add_sizes_and_verdicts gives them sizes and words every row by the same rules."""
    features = simulate_features(600, alignment_effect=0.0, eroding_effect=0.0, seed=6)
    tests = run_statistics(features, test_event_types=False, placebo=False, n_permutations=0, n_repeats=1,
                           sensitivity=False).tests
    h1 = tests[tests["hypothesis"] == "H1_strategic_alignment"].iloc[0].to_dict()
    tests.loc[tests["hypothesis"] == "H1_strategic_alignment", ["hypothesis", "test"]] = [
        "H1_strategic_alignment:cross_sectional", "cross_sectional"]
    shared = {k: h1[k] for k in ("feature_block", "treatment", "direction", "outcome", "outcome_months", "n_accounts")}
    within = {**shared, "hypothesis": "H1_strategic_alignment", "test": "adjusted_effect",
              "method": "within-account: months 13-24 against months 7-12", "estimate": 0.2, "ci_low": 0.1,
              "ci_high": 0.3, "p_value": 0.0001, "verdict": "worded elsewhere"}
    pre_trend = {**shared, "hypothesis": "H1_strategic_alignment:pre_trend", "test": "pre_trend",
                 "method": "within-account: months 7-12 against months 1-6", "estimate": 0.01, "ci_low": -0.1,
                 "ci_high": 0.12, "p_value": 0.9, "verdict": "worded elsewhere"}
    layout = pd.concat([tests, pd.DataFrame([within, pre_trend])], ignore_index=True)
    out = add_sizes_and_verdicts(layout, features).set_index("hypothesis")
    primary = out.loc["H1_strategic_alignment"]
    assert primary["conclusion"] == "supported" and "The data support the hypothesis" in primary["verdict"]
    assert primary["robustness_value"] > 0 and np.isfinite(primary["estimate_per_sd"])
    assert out.loc["H1_strategic_alignment:cross_sectional", "conclusion"] != "supported"
    assert out.loc["H1_strategic_alignment:pre_trend", "conclusion"] == "check_passed"
    assert not out["verdict"].eq("worded elsewhere").any()
