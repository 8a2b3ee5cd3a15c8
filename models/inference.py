"""Inference helpers that need no model: the effect-estimate record and the median over repeated
cross-fits, the account bootstrap and its percentile interval, the Nadeau-Bengio corrected resampled
t-test, and Holm's step-down adjustment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class EffectEstimate:
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float  # two-sided, H0: effect = 0
    # percentile interval of the account bootstrap (`account_bootstrap_weights`); NaN when not run
    bootstrap_ci_low: float = float("nan")
    bootstrap_ci_high: float = float("nan")


def median_aggregate(effects: list[EffectEstimate], alpha: float = 0.05) -> EffectEstimate:
    """Median over repeated cross-fits, the spread between splits added to the variance."""
    if len(effects) == 1:
        return effects[0]
    estimates = np.array([e.estimate for e in effects])
    estimate = float(np.median(estimates))
    variances = np.array([e.std_error ** 2 for e in effects]) + (estimates - estimate) ** 2
    std_error = float(np.sqrt(np.median(variances)))
    z = stats.norm.ppf(1 - alpha / 2)
    p_value = float(2 * stats.norm.sf(abs(estimate) / std_error)) if std_error > 0 else float("nan")
    return EffectEstimate(estimate, std_error, estimate - z * std_error, estimate + z * std_error, p_value)


def account_bootstrap_weights(groups: np.ndarray, n_draws: int, random_state: int, chunk: int = 50):
    """Nonparametric bootstrap over accounts: yields (draws x rows) matrices of how often each row's
    account was drawn (accounts drawn with replacement, all rows of an account together), in chunks."""
    codes, uniques = pd.factorize(pd.Series(groups), sort=False)
    n_groups = len(uniques)
    rng = np.random.default_rng([random_state, 2])
    for start in range(0, n_draws, chunk):
        drawn = rng.integers(0, n_groups, size=(min(chunk, n_draws - start), n_groups))
        counts = np.stack([np.bincount(draw, minlength=n_groups) for draw in drawn])
        yield counts[:, codes].astype(float)


def percentile_interval(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


@dataclass(frozen=True)
class CorrectedTTest:
    mean_difference: float
    ci_low: float
    ci_high: float
    p_value_greater: float  # one-sided, H0: mean difference <= 0
    n_splits: int


def corrected_resampled_ttest(differences: np.ndarray, n_train: float, n_test: float,
                              alpha: float = 0.05) -> CorrectedTTest:
    """Nadeau & Bengio (2003): the variance of the mean of J correlated CV differences is
    inflated from s^2/J to (1/J + n_test/n_train) s^2; t with J - 1 degrees of freedom."""
    differences = np.asarray(differences, dtype=float)
    n_splits = len(differences)
    mean = float(differences.mean())
    corrected_se = float(np.sqrt((1 / n_splits + n_test / n_train) * differences.var(ddof=1)))
    if corrected_se == 0:
        p_value = 0.0 if mean > 0 else 1.0
        return CorrectedTTest(mean, mean, mean, p_value, n_splits)
    df = n_splits - 1
    half_width = stats.t.ppf(1 - alpha / 2, df) * corrected_se
    p_value = float(stats.t.sf(mean / corrected_se, df))
    return CorrectedTTest(mean, mean - half_width, mean + half_width, p_value, n_splits)


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are left out and stay NaN)."""
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p_values, np.nan)
    present = np.flatnonzero(~np.isnan(p_values))
    order = present[np.argsort(p_values[present])]
    m = len(order)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p_values[order])
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted

