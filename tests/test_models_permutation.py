"""Strata shuffles and the block permutation test (models/strata.py, models/permutation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.design import grouped_folds
from models.permutation import block_permutation_test, subsample
from models.strata import permutation_within_strata, stratum_codes


def test_permutation_within_strata_shuffles_only_inside_each_stratum() -> None:
    strata = np.array([0, 1, 0, 2, 1, 0, 2, 0, 1, 1])
    permutation = permutation_within_strata(strata, np.random.default_rng(0))
    assert sorted(permutation) == list(range(len(strata)))  # a permutation: every row used once
    np.testing.assert_array_equal(strata[permutation], strata)  # each row draws from its own stratum
    shuffles = {tuple(permutation_within_strata(strata, np.random.default_rng(seed))) for seed in range(20)}
    assert len(shuffles) > 1  # random, and seeded:
    np.testing.assert_array_equal(permutation, permutation_within_strata(strata, np.random.default_rng(0)))


def test_stratum_codes_treat_missing_as_a_level() -> None:
    frame = pd.DataFrame({"segment": ["smb", None, "smb", None], "cohort_year": [2020, 2020, 2021, 2020]})
    codes = stratum_codes(frame)
    assert codes[1] == codes[3] and len(set(codes)) == 3


def _world(n: int, block_effect: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 3))
    block = rng.normal(size=(n, 2))
    y = base @ np.array([1.0, -0.5, 0.3]) + block_effect * block[:, 0] + rng.normal(size=n)
    return base, block, y, rng.integers(0, 4, n)


def test_block_with_signal_beats_every_permutation() -> None:
    base, block, y, strata = _world(400, 0.5, seed=1)
    folds = grouped_folds(np.arange(400), 5, 0)
    result = block_permutation_test(base, block, y, strata, folds, n_permutations=49, random_state=0)
    assert result.observed > 0.05 and result.observed > result.null.max()
    assert result.p_value == 1 / 50 and len(result.null) == 49


def test_null_block_p_values_are_not_small_too_often() -> None:
    """Under no effect the p-value is uniform on {1/20, ..., 1}: P(p <= 0.05) = 0.05 per world,
    so 3 or more of 12 worlds is a ~2% event."""
    p_values = []
    for seed in range(12):
        base, block, y, strata = _world(200, 0.0, seed=100 + seed)
        result = block_permutation_test(base, block, y, strata, grouped_folds(np.arange(200), 5, seed),
                                        n_permutations=19, random_state=seed)
        assert 1 / 20 <= result.p_value <= 1
        p_values.append(result.p_value)
    assert np.sum(np.array(p_values) <= 0.05) <= 2


def test_subsample_is_seeded_and_capped() -> None:
    np.testing.assert_array_equal(subsample(5, 10, 0), np.arange(5))
    rows = subsample(1000, 100, 3)
    assert len(rows) == 100 and len(set(rows)) == 100
    np.testing.assert_array_equal(rows, subsample(1000, 100, 3))


def test_permuted_block_predictions_are_per_fold_ridge_refits() -> None:
    """The cross-products taken as all rows' minus the test rows' give exactly the ridge that a
    refit on each fold's training rows gives (same penalty), for the real and a permuted block."""
    import pytest
    from sklearn.linear_model import Ridge

    from models.permutation import _fold_caches, _oof_predictions

    rng = np.random.default_rng(3)
    n = 300
    base = np.hstack([rng.normal(5, 3, size=(n, 4)), rng.integers(0, 2, size=(n, 2))])
    block = rng.poisson(0.7, size=(n, 2)).astype(float)
    y = base[:, 0] * 0.2 + block[:, 0] + rng.normal(size=n)
    folds = grouped_folds(np.arange(n), 5, 0)
    caches = _fold_caches(base, y, folds)
    for rows in (np.arange(n), rng.permutation(n)):
        design = np.hstack([base, block[rows]])
        expected = np.empty(n)
        for cache in caches:
            model = Ridge(alpha=cache.alpha).fit(design[cache.train], y[cache.train])
            expected[cache.test] = model.predict(design[cache.test])
        np.testing.assert_allclose(_oof_predictions(base, block[rows], caches), expected, rtol=1e-9, atol=1e-9)
    baseline = np.empty(n)
    for cache in caches:
        baseline[cache.test] = Ridge(alpha=cache.alpha).fit(base[cache.train], y[cache.train]).predict(base[cache.test])
    np.testing.assert_allclose(_oof_predictions(base, None, caches), baseline, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="K-fold"):
        _fold_caches(base, y, folds[:4] + [(folds[4][0], folds[4][1][:-1])])
