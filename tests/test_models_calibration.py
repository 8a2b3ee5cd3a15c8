"""The calibration study (models/calibration.py): its summaries on hand-built runs, and one small
study through the real generator -> loader -> dbt -> hypothesis tests path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dealscope.sample import EffectSizes
from models.calibration import run_study, summarize, true_effects, wilson_interval


def test_wilson_interval_known_values() -> None:
    # 5 of 100: the textbook Wilson 95% interval is (0.0215, 0.1118)
    low, high = wilson_interval(5, 100)
    assert low == pytest.approx(0.02154, abs=1e-4) and high == pytest.approx(0.11175, abs=1e-4)
    low, high = wilson_interval(0, 20)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.15 < high < 0.17  # never a zero-width interval
    assert all(np.isnan(wilson_interval(0, 0)))


def test_truth_is_the_generators_planted_parameters() -> None:
    assert true_effects(EffectSizes()) == {"H1_strategic_alignment": 0.30, "H2_trust_eroding_events": -0.08}
    assert set(true_effects(EffectSizes.null()).values()) == {0.0}


def test_summarize_counts_rejections_coverage_and_bias() -> None:
    runs = pd.DataFrame({
        "world": ["null"] * 4,
        "seed": [1, 2, 3, 4],
        "hypothesis": ["H1_strategic_alignment"] * 4,
        "estimate": [0.1, -0.2, 0.5, np.nan],  # the NaN world (too few accounts) is left out
        "ci_low": [-0.1, -0.4, 0.2, np.nan],
        "ci_high": [0.3, 0.0, 0.8, np.nan],
        "p_value": [0.4, 0.06, 0.001, np.nan],
        "supported": [False, False, True, False],
        "naive_estimate": [2.0, 2.2, 2.4, np.nan],
        "n_accounts": [100] * 4,
        "truth": [0.0] * 4,
    })
    row = summarize(runs).iloc[0]
    assert row["worlds"] == 3
    assert row["supported_rate"] == pytest.approx(1 / 3)
    assert row["two_sided_rejection_rate"] == pytest.approx(1 / 3)
    assert row["coverage"] == pytest.approx(2 / 3)
    assert row["bias_adjusted"] == pytest.approx(0.4 / 3)
    assert row["bias_naive"] == pytest.approx(2.2)
    assert (row["supported_rate_ci_low"], row["supported_rate_ci_high"]) == pytest.approx(wilson_interval(1, 3))
    assert (row["coverage_ci_low"], row["coverage_ci_high"]) == pytest.approx(wilson_interval(2, 3))


@pytest.fixture(scope="module")
def small_study():
    # one null and one planted world of 500 accounts through the real pipeline path (~1.5 min on 2
    # shared cores, mostly dbt start-up)
    return run_study(n_worlds=1, n_accounts=500, first_seed=3)


def test_small_study_runs_every_world_through_the_pipeline(small_study) -> None:
    runs, summary = small_study.runs, small_study.summary
    assert sorted(runs["world"].unique()) == ["null", "planted"]
    assert len(runs) == 4 and (runs["n_accounts"] > 100).all()
    assert set(summary["hypothesis"]) == {"H1_strategic_alignment", "H2_trust_eroding_events"}
    planted = summary[summary["world"] == "planted"].set_index("hypothesis")["truth"]
    assert planted.to_dict() == true_effects(EffectSizes())


def test_naive_alignment_estimate_is_confounded_and_the_adjusted_one_much_less(small_study) -> None:
    null_h1 = small_study.summary.query("world == 'null' and hypothesis == 'H1_strategic_alignment'").iloc[0]
    assert null_h1["bias_naive"] > 1.0  # size drives alignment and revenue
    assert abs(null_h1["bias_adjusted"]) < null_h1["bias_naive"] / 2
