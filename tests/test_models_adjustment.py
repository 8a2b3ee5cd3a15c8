"""The adjusted effect's sample and intervals: complete controls only, and the account bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.features import build_feature_blocks
from models.design import design_frame
from models.estimators import ProportionalEffect, make_learner, make_level_learner
from models.hypotheses import run_hypothesis_tests
from models.inference import account_bootstrap_weights
from tests.test_models_hypotheses import simulate_features

CATEGORICAL = ["segment", "industry", "region"]
NUMERIC = ["log_employee_count", "cohort_year", "deals_created", "months_to_first_win"]
TRUE_ALIGNMENT_EFFECT = 0.5


def _world_missing_size(seed: int) -> pd.DataFrame:
    """A world confounded by size, with the size (employee count) unrecorded for ~15% of accounts."""
    world = simulate_features(3000, TRUE_ALIGNMENT_EFFECT, -0.15, seed=seed, censored_share=0.0)
    world["industry"] = world["industry"].fillna("retail")  # only the size is missing here
    rng = np.random.default_rng(seed)
    world.loc[rng.random(len(world)) < 0.15, "log_employee_count"] = np.nan
    return world


def _imputed_estimate(world: pd.DataFrame) -> float:
    """What the estimator gives when the missing confounder is imputed (median + indicator) instead."""
    blocks = build_feature_blocks(world)
    frame = blocks.frame[blocks.frame["mean_alignment"].notna()].reset_index(drop=True)
    fitted = ProportionalEffect(make_level_learner(CATEGORICAL, NUMERIC), make_learner(CATEGORICAL, NUMERIC), 5, 0,
                                n_bootstrap=0).fit(design_frame(frame, CATEGORICAL, NUMERIC),
                                                   frame["outcome_revenue"].to_numpy(),
                                                   frame["mean_alignment"].to_numpy(),
                                                   groups=frame["account_id"].to_numpy())
    return fitted.effect_.estimate


def test_accounts_missing_a_confounder_are_left_out_not_imputed() -> None:
    """Imputing an unrecorded confounder leaves its confounding in the estimate (upward here, since
    size raises both alignment and value); leaving those accounts out removes it."""
    complete, imputed = [], []
    for seed in range(3):
        world = _world_missing_size(seed)
        results = run_hypothesis_tests(world, random_state=0, test_event_types=False, placebo=False,
                                       n_permutations=0, sensitivity=False)
        row = results[results["hypothesis"] == "H1_strategic_alignment"].iloc[0]
        n_missing = int((world["log_employee_count"].isna() & world["mean_alignment"].notna()).sum())
        assert row["n_excluded_other"] == int(world["mean_alignment"].isna().sum()) + n_missing
        assert row["note"].startswith(f"{n_missing} accounts without a recorded control")
        complete.append(row["estimate"])
        imputed.append(_imputed_estimate(world))
    assert np.all(np.array(imputed) - np.array(complete) > 0.1), (imputed, complete)
    assert abs(np.mean(complete) - TRUE_ALIGNMENT_EFFECT) < 0.1, complete


@pytest.fixture(scope="module")
def planted_rows() -> pd.DataFrame:
    world = simulate_features(1500, TRUE_ALIGNMENT_EFFECT, -0.15, seed=3)
    return run_hypothesis_tests(world, random_state=0, test_event_types=False, n_permutations=0)


@pytest.mark.parametrize("hypothesis", ["H1_strategic_alignment", "H2_trust_eroding_events"])
def test_bootstrap_interval_agrees_with_the_sandwich_interval(planted_rows: pd.DataFrame, hypothesis: str) -> None:
    row = planted_rows[planted_rows["hypothesis"] == hypothesis].iloc[0]
    width = row["ci_high"] - row["ci_low"]
    assert row["bootstrap_ci_low"] < row["estimate"] < row["bootstrap_ci_high"]
    assert abs(row["bootstrap_ci_low"] - row["ci_low"]) < 0.2 * width
    assert abs(row["bootstrap_ci_high"] - row["ci_high"]) < 0.2 * width
    assert "account bootstrap" in row["method"]


def test_bootstrap_intervals_only_on_effect_estimates(planted_rows: pd.DataFrame) -> None:
    effects = planted_rows["test"].isin(["adjusted_effect", "placebo"])
    assert planted_rows.loc[effects, ["bootstrap_ci_low", "bootstrap_ci_high"]].notna().all().all()
    assert planted_rows.loc[~effects, ["bootstrap_ci_low", "bootstrap_ci_high"]].isna().all().all()


def test_bootstrap_draws_whole_accounts() -> None:
    groups = np.array(["a", "a", "b", "c", "c", "c", "d"])
    draws = np.vstack(list(account_bootstrap_weights(groups, 200, random_state=0, chunk=64)))
    assert draws.shape == (200, len(groups))
    # every row of an account is drawn the same number of times; 4 accounts are drawn per resample
    assert (draws[:, 0] == draws[:, 1]).all() and (draws[:, 3] == draws[:, 4]).all() and (draws[:, 4] == draws[:, 5]).all()
    assert (draws[:, [0, 2, 3, 6]].sum(axis=1) == 4).all()
    again = np.vstack(list(account_bootstrap_weights(groups, 200, random_state=0, chunk=64)))
    assert (draws == again).all()


@pytest.mark.parametrize("count_mean", [0.3, 4.0])
def test_a_count_treatment_is_re_solved_per_value_with_the_per_row_answers(count_mean: float,
                                                                           monkeypatch) -> None:
    """The bootstrap of the proportional effect re-solves a treatment with few distinct values (event
    counts) per value instead of per row: the resampled estimates equal the per-row ones up to rounding."""
    import models.estimators as estimators

    rng = np.random.default_rng(5)
    n = 3000
    treatment = rng.poisson(count_mean, n).astype(float)
    assert 1 < len(np.unique(treatment)) <= estimators.FEW_TREATMENT_LEVELS
    scaled_y = rng.gamma(2.0, 0.5, n) * np.exp(-0.1 * treatment)
    residuals = treatment - treatment.mean() + rng.normal(0, 0.2, n)
    weights = next(account_bootstrap_weights(np.arange(n), 40, random_state=1))
    effect = ProportionalEffect(None, None)
    per_value = effect._solve_resampled(weights, estimators.resampling_part(-0.08, scaled_y, treatment, residuals))
    monkeypatch.setattr(estimators, "FEW_TREATMENT_LEVELS", 0)  # every treatment re-solved per row
    per_row_part = estimators.resampling_part(-0.08, scaled_y, treatment, residuals)
    assert per_row_part[-1] is None
    per_row = effect._solve_resampled(weights, per_row_part)
    np.testing.assert_allclose(per_value, per_row, rtol=1e-9, atol=0)
    assert np.std(per_row) > 0.001  # the resamples differ: the comparison is not of constants
