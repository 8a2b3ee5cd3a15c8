"""Permutation test of a hypothesis's feature block.

Question: does the block (alignment; trust-eroding events) improve out-of-fold prediction of later
revenue beyond the baseline? Permuting y would only show "better than chance"; here only the
block's rows are shuffled, within segment x cohort-year strata, so a shuffled block keeps its
distribution and its relation to the strata but loses any link to the outcome beyond them.

Statistic: out-of-fold R^2 (on log(1 + revenue)) of ridge(baseline + block) minus ridge(baseline),
one account-grouped K-fold split, the same folds for every permutation.
p-value = (1 + #{null >= observed}) / (1 + n_permutations) (Phipson & Smyth 2010).

Speed: the design basis (one-hot categories, standardised numbers and a cubic B-spline basis per
number) is built once, unsupervised (no y involved, so no leakage), and the ridge penalty of each
fold is chosen on the baseline only (it does not change under permutation, so the statistic is
the same function of the data in every permutation). Per permutation and fold only the block's
cross-products change: the baseline's Gram matrix is computed once per fold. Above
`max_accounts` a seeded random subsample is used (reported in the row's n_accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from models.ridge import RIDGE_ALPHAS, GramRidgeCV
from models.strata import permutation_within_strata


@dataclass(frozen=True)
class BlockPermutationResult:
    observed: float  # out-of-fold R^2 gain of the block on the real data
    null: np.ndarray  # the same statistic with the block permuted, one per permutation
    p_value: float
    n_accounts: int


def basis_matrix(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> np.ndarray:
    """One-hot + standardised + B-spline basis of the named columns (fitted on all rows, X only)."""
    numeric_steps = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        make_union(StandardScaler(), SplineTransformer(n_knots=5, degree=3, knots="uniform")),
    )
    transformers = [("numeric", numeric_steps, numeric)]
    if categorical:
        transformers.insert(0, ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                categorical))
    return np.asarray(ColumnTransformer(transformers).fit_transform(frame), dtype=float)


def _ridge_fold(base_train: np.ndarray, y_train: np.ndarray) -> float:
    """The ridge penalty chosen (efficient leave-one-out) on the baseline design of one training fold."""
    return float(GramRidgeCV(alphas=RIDGE_ALPHAS).fit(base_train, y_train).alpha_)


@dataclass(frozen=True)
class _FoldCache:
    train: np.ndarray
    test: np.ndarray
    alpha: float
    base_mean: np.ndarray  # of the training rows
    y_mean: float  # of the training rows
    base_gram: np.ndarray  # Xb'Xb of the centred training rows
    base_cross_y: np.ndarray  # Xb'y, centred
    base_test_centred: np.ndarray  # test rows of the baseline design, minus the training mean
    y_test: np.ndarray


def _fold_caches(base: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> list[_FoldCache]:
    """What every permutation shares per fold: the baseline's penalty, centring and Gram matrix."""
    # _oof_predictions takes the training rows' sums as all rows' minus the test rows', and all
    # rows' as the sum over the test folds: K-fold splits only
    tested = np.concatenate([test for _, test in folds])
    if (len(tested) != len(y) or len(np.unique(tested)) != len(y)
            or any(len(train) + len(test) != len(y) or len(np.union1d(train, test)) != len(y) for train, test in folds)):
        raise ValueError("the folds must be a K-fold split: test rows split all rows, training rows are the rest")
    caches = []
    for train, test in folds:
        base_train, y_train = base[train], y[train]
        base_mean, y_mean = base_train.mean(axis=0), y_train.mean()
        base_centred = base_train - base_mean
        y_centred = y_train - y_mean
        caches.append(_FoldCache(train, test, _ridge_fold(base_train, y_train), base_mean, float(y_mean),
                                 base_centred.T @ base_centred, base_centred.T @ y_centred,
                                 base[test] - base_mean, y[test]))
    return caches


def _oof_predictions(base: np.ndarray, block: np.ndarray | None, caches: list[_FoldCache]) -> np.ndarray:
    """Out-of-fold ridge predictions of (baseline [+ block]) with each fold's fixed penalty.

    The block's training cross-products are the whole sample's minus the fold's test rows', and
    the whole sample's are the sum over the test folds (they split the rows): only test rows are
    ever multiplied, once each, instead of every fold's training rows (four fifths of them, five
    times, at five folds). The normal equations are those of the centred training rows.
    """
    predictions = np.empty(base.shape[0])
    if block is None:
        for cache in caches:
            coefficients = np.linalg.solve(cache.base_gram + cache.alpha * np.eye(cache.base_gram.shape[0]),
                                           cache.base_cross_y)
            predictions[cache.test] = cache.y_mean + cache.base_test_centred @ coefficients
        return predictions
    tests = []
    for cache in caches:
        block_test = block[cache.test]
        block_test_sum = block_test.sum(axis=0)
        # X_S'B_S with X_S = (X_S - m) + m
        base_block = cache.base_test_centred.T @ block_test + np.outer(cache.base_mean, block_test_sum)
        tests.append((block_test, block_test_sum, base_block, block_test.T @ block_test, block_test.T @ cache.y_test))
    totals = [sum(parts) for parts in zip(*(test[1:] for test in tests))]
    block_sum, base_block, block_gram, block_y = totals
    for cache, (block_test, block_test_sum, base_block_test, block_gram_test, block_y_test) in zip(caches, tests):
        n_train = len(cache.train)
        block_mean = (block_sum - block_test_sum) / n_train
        # training sums = all rows' - test rows'; centring subtracts n_T * (mean x mean')
        off_diagonal = (base_block - base_block_test) - n_train * np.outer(cache.base_mean, block_mean)
        block_block = (block_gram - block_gram_test) - n_train * np.outer(block_mean, block_mean)
        block_cross = (block_y - block_y_test) - cache.y_mean * n_train * block_mean
        gram = np.block([[cache.base_gram, off_diagonal], [off_diagonal.T, block_block]])
        cross = np.concatenate([cache.base_cross_y, block_cross])
        coefficients = np.linalg.solve(gram + cache.alpha * np.eye(gram.shape[0]), cross)
        n_base = cache.base_gram.shape[0]
        predictions[cache.test] = (cache.y_mean + cache.base_test_centred @ coefficients[:n_base]
                                   + (block_test - block_mean) @ coefficients[n_base:])
    return predictions


def _r2(y: np.ndarray, predictions: np.ndarray) -> float:
    return 1.0 - float(np.sum((y - predictions) ** 2) / np.sum((y - y.mean()) ** 2))


def block_permutation_test(base: np.ndarray, block: np.ndarray, y: np.ndarray, strata: np.ndarray,
                           folds: list[tuple[np.ndarray, np.ndarray]], n_permutations: int,
                           random_state: int) -> BlockPermutationResult:
    """Observed out-of-fold R^2 gain of `block` over `base`, and its null with the block's rows
    permuted within `strata` (same folds, same penalties), seeded by random_state."""
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng(random_state)
    with threadpool_limits(limits=1):  # many small products: threaded BLAS only adds contention
        caches = _fold_caches(base, y, folds)
        baseline_r2 = _r2(y, _oof_predictions(base, None, caches))

        def gain(rows: np.ndarray) -> float:
            return _r2(y, _oof_predictions(base, block[rows], caches)) - baseline_r2

        observed = gain(np.arange(len(y)))
        null = np.array([gain(permutation_within_strata(strata, rng)) for _ in range(n_permutations)])
    p_value = float((1 + np.sum(null >= observed)) / (1 + n_permutations))
    return BlockPermutationResult(observed, null, p_value, len(y))


def subsample(n_rows: int, max_rows: int, random_state: int) -> np.ndarray:
    """Sorted row positions: all rows, or a seeded random max_rows of them."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(random_state).choice(n_rows, size=max_rows, replace=False))
