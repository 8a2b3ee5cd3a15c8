"""Hypothesis tests: does early strategic alignment (H1) raise, and do trust-eroding
negotiation events (H2) lower, an account's later value?

Two questions per hypothesis, answered on the same uncensored accounts:

* adjusted effect: double machine learning with cross-fitting on account-grouped folds
  (Chernozhukov et al. 2018). For revenue (default) a proportional effect in levels, zeros
  included: the multiplicative partially linear model E[Y | D, X] = exp(theta D) h(X),
  solved from a Neyman-orthogonal moment (`ProportionalEffect`). For the other outcomes
  Robinson's partialling-out: outcome and treatment residualised on the controls, OLS
  slope of residual on residual, HC1 standard error (`PartiallingOutEffect`).
  `supported` comes from this test.
* predictive value: out-of-fold R^2 of baseline vs baseline + the hypothesis's block
  on identical grouped folds (repeated), tested with the Nadeau-Bengio corrected
  resampled t-test (one-sided: the block adds R^2).

Per trust-eroding event type the adjusted effect is estimated too, with Holm's
correction across the types. See docs/statistics.md for estimands and units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits  # a scikit-learn dependency
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import PoissonRegressor, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from models.features import (
    ACTIVITY_COLUMNS,
    ALIGNMENT_COLUMNS,
    CATEGORICAL_CONTROLS,
    NUMERIC_CONTROLS,
    OTHER_EVENT_COLUMNS,
    TRUST_ERODING_TOTAL,
    TRUST_ERODING_TYPE_PREFIX,
    OUTCOME_COLUMNS,
    FeatureBlocks,
    Outcome,
    build_feature_blocks,
)
from models.permutation import basis_matrix, block_permutation_test, subsample
from models.strata import permutation_within_strata, stratum_codes
from models.verdicts import add_verdicts

LearnerKind = Literal["spline_ridge", "hgb"]
MISSING_CATEGORY = "(missing)"
# Money columns enter models on a signed-log scale (monotone, so trees are unaffected;
# it keeps a linear learner from being dominated by a few huge accounts).
SIGNED_LOG_COLUMNS: tuple[str, ...] = ("value_won", "early_revenue", "early_gross_margin")
OTHER_TRUST_ERODING = "n_other_trust_eroding_events"
MIN_ACCOUNTS_PER_FOLD = 4
OUTCOME_UNITS: dict[str, str] = {
    "revenue": ("log of expected outcome-window revenue (a proportional effect, zeros included; "
                "100*(exp(x)-1) = % change)"),
    "gross_margin": "sign(m)*log(1 + |m|) of outcome-window gross margin m",
    "any_revenue": "probability of any outcome-window revenue",
}

RESULT_COLUMNS: tuple[str, ...] = (
    "hypothesis", "test", "feature_block", "treatment", "direction", "estimate", "ci_low", "ci_high",
    "bootstrap_ci_low", "bootstrap_ci_high", "p_value", "p_value_holm", "n_accounts", "n_excluded_censored", "n_excluded_not_customer", "n_excluded_other",
    "method", "unit",
    "supported", "naive_estimate", "treatment_residual_share", "outcome", "outcome_months", "n_permutations",
    "random_state", "note",
    # models.diagnostics: sizes, robustness to a hidden confounder, the strongest control as benchmark
    "treatment_sd", "estimate_per_sd", "ci_low_per_sd", "ci_high_per_sd", "mde_80", "mde_80_per_sd",
    "robustness_value", "robustness_value_alpha", "e_value", "e_value_ci", "benchmark_control",
    "benchmark_r2_treatment", "benchmark_r2_outcome", "benchmark_adjusted_estimate",
    "benchmark_adjusted_ci_low", "benchmark_adjusted_ci_high", "observation_months",
    "conclusion", "verdict",
)
PERMUTATION_NULL_COLUMNS: tuple[str, ...] = ("hypothesis", "permutation", "statistic", "observed")
DEFAULT_PERMUTATIONS = 199
# The block permutation test refits the full model n_permutations x n_splits times: above this many
# accounts it runs on a seeded random subsample (its n_accounts says how many).
PERMUTATION_MAX_ACCOUNTS = 20_000
# Repeated cross-fitting (median over fold shuffles) guards against one unlucky split, which matters
# in small samples; above this many analysed accounts one shuffle is used (half the fits: the
# statistical stage at 100,000 accounts, docs/statistics.md section 6).
DEFAULT_REPEATS = 2
SINGLE_REPEAT_ABOVE_ACCOUNTS = 20_000


# --------------------------------------------------------------------------- learners


def make_learner(
    categorical: list[str], numeric: list[str], kind: LearnerKind = "spline_ridge", random_state: int = 0
) -> Pipeline:
    """A regressor over the named columns; imputation and encoding are fitted per fold.

    spline_ridge (default): one-hot categories + each number standardised and as a cubic
    B-spline basis, ridge with the penalty chosen by efficient leave-one-out CV. Flexible in
    each control, fast (a few hundredths of a second a fit), deterministic.
    hgb: histogram gradient boosting, which also learns interactions but costs ~10-20x more
    per fit; a sensitivity option.
    """
    numeric_steps = [SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)]
    if kind == "spline_ridge":
        # the standardised linear term carries the main trend at little penalty; the
        # spline basis bends it where the data ask
        numeric_steps.append(make_union(StandardScaler(), SplineTransformer(n_knots=5, degree=3, knots="uniform")))
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("numeric", make_pipeline(*numeric_steps), numeric),
        ],
        verbose_feature_names_out=False,
    )
    if kind == "hgb":
        # Small, regularised boosting: a few thousand rows, a handful of controls.
        model = HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, early_stopping=False, random_state=random_state,
        )
    elif kind == "spline_ridge":
        model = RidgeCV(alphas=np.logspace(-3, 3, 13), gcv_mode="svd")
    else:
        raise ValueError(f"unknown learner kind {kind!r}")
    return Pipeline([("preprocess", preprocess), ("model", model)])


def design_frame(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> pd.DataFrame:
    """The model input: categories as text with an explicit missing level, numbers as float."""
    categories = frame[categorical].astype(object).where(frame[categorical].notna(), MISSING_CATEGORY).astype(str)
    numbers = frame[numeric].astype(float)
    for column in set(numeric) & set(SIGNED_LOG_COLUMNS):
        numbers[column] = np.sign(numbers[column]) * np.log1p(np.abs(numbers[column]))
    return pd.concat([categories, numbers], axis=1)


def grouped_folds(groups: np.ndarray, n_splits: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Account-grouped folds: no account is ever on both sides of a split."""
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    placeholder = np.zeros((len(groups), 1))
    # integer codes: on text ids GroupKFold's shuffled split (np.isin on objects) took ~80% of the
    # stage's time at 30,000 accounts; on codes it is instant. Same groups, so the same partition.
    codes = pd.factorize(np.asarray(groups))[0]
    return list(splitter.split(placeholder, groups=codes))


# --------------------------------------------------------------------------- adjusted effect


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


BOOTSTRAP_DRAWS = 999


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


def residual_on_residual_ols(outcome_residuals: np.ndarray, treatment_residuals: np.ndarray,
                             alpha: float = 0.05) -> EffectEstimate:
    """Final DML stage: slope through the origin with an HC1 robust standard error."""
    n = len(outcome_residuals)
    treatment_ss = float(np.sum(treatment_residuals ** 2))
    slope = float(np.sum(treatment_residuals * outcome_residuals) / treatment_ss)
    errors = outcome_residuals - slope * treatment_residuals
    variance = n / (n - 1) * float(np.sum(treatment_residuals ** 2 * errors ** 2)) / treatment_ss ** 2
    std_error = float(np.sqrt(variance))
    z = stats.norm.ppf(1 - alpha / 2)
    p_value = float(2 * stats.norm.sf(abs(slope) / std_error)) if std_error > 0 else float("nan")
    return EffectEstimate(slope, std_error, slope - z * std_error, slope + z * std_error, p_value)


class CrossFittedEffect(BaseEstimator):
    """What both DML estimators are configured with: the two nuisance learners, account-grouped
    folds (`n_splits`), how many differently shuffled repeats, the seed and the interval level."""

    def __init__(self, outcome_learner: Pipeline, treatment_learner: Pipeline, n_splits: int = 5,
                 random_state: int = 0, alpha: float = 0.05, n_repeats: int = 1,
                 n_bootstrap: int = BOOTSTRAP_DRAWS) -> None:
        self.outcome_learner = outcome_learner
        self.treatment_learner = treatment_learner
        self.n_splits = n_splits
        self.random_state = random_state
        self.alpha = alpha
        self.n_repeats = n_repeats
        self.n_bootstrap = n_bootstrap

    def _aggregate(self, effects: list[EffectEstimate], parts: list, groups: np.ndarray) -> EffectEstimate:
        """The median over repeats (`median_aggregate`) with the account-bootstrap percentile interval.

        Bootstrap: accounts resampled with replacement (`account_bootstrap_weights`); on each resample
        every repeat's estimating equation is re-solved (`_solve_resampled`) with its cross-fitted
        nuisances held fixed (orthogonality makes their re-estimation a second-order effect), and
        the median over repeats taken, as for the estimate itself."""
        draws = []
        for weights in account_bootstrap_weights(groups, self.n_bootstrap, self.random_state):
            draws.append(np.median(np.stack([self._solve_resampled(weights, part) for part in parts]), axis=0))
        self.bootstrap_draws_ = np.concatenate(draws) if draws else np.array([])
        low, high = percentile_interval(self.bootstrap_draws_, self.alpha)
        return replace(median_aggregate(effects, self.alpha), bootstrap_ci_low=low, bootstrap_ci_high=high)

    def _solve_resampled(self, weights: np.ndarray, part) -> np.ndarray:
        """One repeat's estimate on each resample (rows of `weights`: how often each row was drawn)."""
        raise NotImplementedError


class PartiallingOutEffect(CrossFittedEffect):
    """Partialling-out DML for one continuous or count treatment.

    fit(X, y, treatment, groups): X holds the controls; outcome and treatment are
    residualised on X with out-of-fold predictions (cross-fitting on folds grouped by
    `groups`), then regressed on each other. With n_repeats > 1 the cross-fitting is
    repeated on differently shuffled folds and the estimates are aggregated by the median,
    with variance median(se_s^2 + (theta_s - theta)^2) (Chernozhukov et al. 2018, sec. 3.4),
    so the result depends less on one random split.

    Fitted attributes: `effect_` (an EffectEstimate), `repeat_effects_` (one per repeat),
    `outcome_residuals_` / `treatment_residuals_` (first repeat), and
    `treatment_residual_share_` (median over repeats of residual / raw treatment variance:
    how much of the treatment the controls leave to identify the effect).
    """

    def fit(self, X: pd.DataFrame, y: np.ndarray, treatment: np.ndarray,
            groups: np.ndarray | None = None) -> "PartiallingOutEffect":
        y = np.asarray(y, dtype=float)
        treatment = np.asarray(treatment, dtype=float)
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        residuals = []
        with threadpool_limits(limits=1):  # small matrices: threaded BLAS only adds contention
            for repeat in range(self.n_repeats):
                residuals.append(self._cross_fit(X, y, treatment, groups, self.random_state + repeat))
        self.outcome_residuals_, self.treatment_residuals_ = residuals[0]
        self.repeat_effects_ = [residual_on_residual_ols(u, v, self.alpha) for u, v in residuals]
        self.treatment_residual_share_ = float(np.median([np.var(v) for _, v in residuals]) / np.var(treatment))
        self.effect_ = self._aggregate(self.repeat_effects_, residuals, groups)
        return self

    def _solve_resampled(self, weights: np.ndarray, part: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The residual-on-residual slope on each resample."""
        outcome_residuals, treatment_residuals = part
        return (weights @ (outcome_residuals * treatment_residuals)) / (weights @ treatment_residuals ** 2)

    def _cross_fit(self, X: pd.DataFrame, y: np.ndarray, treatment: np.ndarray, groups: np.ndarray,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold residuals of the outcome and of the treatment."""
        outcome_residuals = np.empty_like(y)
        treatment_residuals = np.empty_like(treatment)
        for train, test in grouped_folds(groups, self.n_splits, seed):
            outcome_model = clone(self.outcome_learner).fit(X.iloc[train], y[train])
            treatment_model = clone(self.treatment_learner).fit(X.iloc[train], treatment[train])
            outcome_residuals[test] = y[test] - outcome_model.predict(X.iloc[test])
            treatment_residuals[test] = treatment[test] - treatment_model.predict(X.iloc[test])
        return outcome_residuals, treatment_residuals


def make_level_learner(categorical: list[str], numeric: list[str]) -> Pipeline:
    """E[Y | X] for a non-negative outcome in levels: log link (Poisson quasi-likelihood) over the same
    one-hot + standardised + B-spline basis as `make_learner`, lightly penalised. Multiplicative in the
    controls, as revenue is; zeros are fine."""
    numeric_steps = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        make_union(StandardScaler(), SplineTransformer(n_knots=5, degree=3, knots="uniform")),
    )
    preprocess = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
         ("numeric", numeric_steps, numeric)],
        verbose_feature_names_out=False,
    )
    model = PoissonRegressor(alpha=1e-3, solver="newton-cholesky", max_iter=100)  # ~6 Newton steps
    return Pipeline([("preprocess", preprocess), ("model", model)])


class ProportionalEffect(CrossFittedEffect):
    """Cross-fitted DML for a multiplicative (Poisson-type) partially linear model in levels:

        E[Y | D, X] = exp(theta * D) * h(X),   Y >= 0, zeros allowed,

    so exp(theta) is the ratio of expected outcomes per unit of treatment (a proportional effect,
    free of the currency unit; Chen & Roth 2024 recommend it for outcomes with zeros). Estimating
    equation (Neyman-orthogonal in both nuisances h and m = E[D | X], and scale-free: each account
    contributes its relative deviation):

        mean[(Y exp(-theta D) / h(X) - 1) (D - m(X))] = 0,  h(X) = E[Y exp(-theta D) | X].

    Any h(X) that differs from the true one by a factor depending on X only leaves the equation
    unbiased (E[D - m(X) | X] = 0). So h is first fitted as E[Y | X] (a log-link learner), giving a
    consistent theta_1; then refitted once on Y exp(-theta_1 D), which brings the factor close to 1
    (less variance), and theta re-solved. No further iteration is needed for consistency.
    Cross-fitting on `groups` folds, repeated `n_repeats` times (median), and a sandwich
    standard error, as `PartiallingOutEffect`.
    """

    def fit(self, X: pd.DataFrame, y: np.ndarray, treatment: np.ndarray,
            groups: np.ndarray | None = None) -> "ProportionalEffect":
        y = np.asarray(y, dtype=float)
        if np.any(y < 0):
            raise ValueError("a proportional effect needs a non-negative outcome")
        y = y / y.mean()  # scale-free; keeps the solver well conditioned
        treatment = np.asarray(treatment, dtype=float)
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        effects, shares, parts = [], [], []
        with threadpool_limits(limits=1):
            for repeat in range(self.n_repeats):
                effect, treatment_residuals, outcome_hat = self._fit_once(X, y, treatment, groups,
                                                                          self.random_state + repeat)
                effects.append(effect)
                shares.append(np.var(treatment_residuals))
                parts.append((effect.estimate, y / outcome_hat, treatment, treatment_residuals))
        self.repeat_effects_ = effects
        self.treatment_residual_share_ = float(np.median(shares) / np.var(treatment))
        self.effect_ = self._aggregate(effects, parts, groups)
        return self

    def _solve_resampled(self, weights: np.ndarray, part: tuple[float, np.ndarray, np.ndarray, np.ndarray],
                         newton_steps: int = 4) -> np.ndarray:
        """theta on each resample: Newton steps on the moment from the full-sample estimate."""
        estimate, scaled_y, treatment, residuals = part
        theta = np.full(len(weights), estimate)
        for _ in range(newton_steps):
            ratio = scaled_y * np.exp(-np.outer(theta, treatment))  # draws x rows
            value = (weights * (ratio - 1.0) * residuals).sum(axis=1)
            slope = -(weights * ratio * treatment * residuals).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                theta = theta - np.clip(value / slope, -1.0, 1.0)
        return theta

    def _fit_once(self, X: pd.DataFrame, y: np.ndarray, treatment: np.ndarray, groups: np.ndarray,
                  seed: int) -> tuple[EffectEstimate, np.ndarray]:
        folds = grouped_folds(groups, self.n_splits, seed)
        treatment_residuals = treatment - self._cross_fit(self.treatment_learner, X, treatment, folds)
        theta = 0.0
        for _ in range(2):  # h = E[Y | X], then h = E[Y exp(-theta_1 D) | X]
            outcome_hat = np.maximum(self._cross_fit(self.outcome_learner, X, y * np.exp(-theta * treatment),
                                                     folds), 1e-8)
            theta = solve_proportional_moment(y, treatment, treatment_residuals, outcome_hat, theta)
        ratio = y * np.exp(-theta * treatment) / outcome_hat
        scores = (ratio - 1.0) * treatment_residuals
        jacobian = float(np.mean(-treatment * treatment_residuals * ratio))
        n = len(y)
        std_error = float(np.sqrt(np.mean(scores ** 2) / (n * jacobian ** 2) * n / (n - 1)))
        z = stats.norm.ppf(1 - self.alpha / 2)
        p_value = float(2 * stats.norm.sf(abs(theta) / std_error)) if std_error > 0 else float("nan")
        return EffectEstimate(theta, std_error, theta - z * std_error, theta + z * std_error, p_value), \
            treatment_residuals, outcome_hat

    @staticmethod
    def _cross_fit(learner: Pipeline, X: pd.DataFrame, target: np.ndarray,
                   folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Out-of-fold predictions of target from X."""
        predictions = np.empty_like(target)
        for train, test in folds:
            predictions[test] = clone(learner).fit(X.iloc[train], target[train]).predict(X.iloc[test])
        return predictions


def solve_proportional_moment(y: np.ndarray, treatment: np.ndarray, treatment_residuals: np.ndarray,
                              outcome_hat: np.ndarray, start: float, steps: int = 50) -> float:
    """theta with mean[(y exp(-theta D) / h - 1)(D - m)] = 0 for fixed h, by damped Newton steps."""
    theta = start
    for _ in range(steps):
        ratio = y * np.exp(-theta * treatment) / outcome_hat
        value = np.mean((ratio - 1.0) * treatment_residuals)
        slope = np.mean(-treatment * treatment_residuals * ratio)
        if slope == 0 or not np.isfinite(slope):
            break
        step = float(np.clip(value / slope, -1.0, 1.0))
        theta -= step
        if abs(step) < 1e-10:
            break
    return float(theta)


def naive_proportional_slope(y: np.ndarray, treatment: np.ndarray) -> float:
    """Unadjusted log-link slope of the outcome on the treatment alone (what a dashboard would show)."""
    y = np.asarray(y, dtype=float)
    model = PoissonRegressor(alpha=0.0, max_iter=500).fit(np.asarray(treatment, dtype=float)[:, None], y / y.mean())
    return float(model.coef_[0])


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


def naive_slope(y: np.ndarray, treatment: np.ndarray) -> float:
    """Unadjusted OLS slope of y on the treatment: what a dashboard would show."""
    treatment = np.asarray(treatment, dtype=float)
    centred = treatment - treatment.mean()
    return float(np.sum(centred * (np.asarray(y) - np.mean(y))) / np.sum(centred ** 2))


# --------------------------------------------------------------------------- predictive value


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


def nested_r2_differences(frame: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                          baseline: tuple[list[str], list[str]], block: list[str],
                          kind: LearnerKind, n_splits: int, n_repeats: int,
                          random_state: int) -> tuple[np.ndarray, float, float]:
    """Per-split out-of-fold R^2 of (baseline + block) minus baseline, on identical folds.

    Returns the differences and the mean train and test sizes (for the correction).
    """
    categorical, numeric = baseline
    base_x = design_frame(frame, categorical, numeric)
    full_x = design_frame(frame, categorical, numeric + block)
    differences, train_sizes, test_sizes = [], [], []
    splits = [split for repeat in range(n_repeats) for split in grouped_folds(groups, n_splits, random_state + repeat)]
    with threadpool_limits(limits=1):  # small matrices: threaded BLAS only adds contention
        for train, test in splits:
            scores = []
            for x, columns in ((base_x, numeric), (full_x, numeric + block)):
                model = make_learner(categorical, columns, kind, random_state).fit(x.iloc[train], y[train])
                scores.append(r2_score(y[test], model.predict(x.iloc[test])))
            differences.append(scores[1] - scores[0])
            train_sizes.append(len(train))
            test_sizes.append(len(test))
    return np.array(differences), float(np.mean(train_sizes)), float(np.mean(test_sizes))


# --------------------------------------------------------------------------- hypotheses


@dataclass(frozen=True)
class HypothesisSpec:
    hypothesis: str
    feature_block: str
    treatment: str
    direction: int  # +1: hypothesised to raise the outcome, -1: to lower it
    extra_controls: tuple[str, ...]
    predictive_block: tuple[str, ...]  # empty: no predictive-value test
    requires_treatment: bool  # drop accounts whose treatment is missing (counted)
    unit: str


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


def hypothesis_specs(blocks: FeatureBlocks, outcome_unit: str) -> list[HypothesisSpec]:
    trust_block = tuple(blocks.trust_columns)
    specs = [
        HypothesisSpec(
            "H1_strategic_alignment", "alignment", ALIGNMENT_COLUMNS[0], +1, (), ALIGNMENT_COLUMNS, True,
            f"change in {outcome_unit} per 1.0 of mean alignment score (scale -1..1) of the observation window's deals",
        ),
        HypothesisSpec(
            "H2_trust_eroding_events", "trust", TRUST_ERODING_TOTAL, -1, OTHER_EVENT_COLUMNS, trust_block, False,
            f"change in {outcome_unit} per trust-eroding event in the observation window",
        ),
    ]
    for column in blocks.trust_eroding_type_columns:
        event_type = column.removeprefix(TRUST_ERODING_TYPE_PREFIX)
        specs.append(HypothesisSpec(
            f"H2_trust_eroding_events:{event_type}", "trust", column, -1,
            OTHER_EVENT_COLUMNS + (OTHER_TRUST_ERODING,), (), False,
            f"change in {outcome_unit} per '{event_type}' event in the observation window",
        ))
    return specs


def _empty_row(spec: HypothesisSpec, test: str, method: str, note: str) -> dict:
    return {
        "hypothesis": spec.hypothesis, "test": test, "feature_block": spec.feature_block,
        "treatment": spec.treatment, "direction": "positive" if spec.direction > 0 else "negative",
        "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "bootstrap_ci_low": np.nan,
        "bootstrap_ci_high": np.nan, "p_value": np.nan, "p_value_holm": np.nan,
        "n_accounts": 0, "n_excluded_other": 0, "method": method, "unit": spec.unit, "supported": False,
        "naive_estimate": np.nan, "treatment_residual_share": np.nan, "n_permutations": np.nan, "note": note,
    }


def _adjusted_effect_row(spec: HypothesisSpec, frame: pd.DataFrame, y: np.ndarray, n_excluded: int,
                         kind: LearnerKind, n_splits: int, n_repeats: int, random_state: int,
                         alpha: float, level_outcome: np.ndarray | None = None) -> dict:
    if level_outcome is not None:
        method = (f"proportional (Poisson-type partially linear) DML in levels, zeros included, {n_splits}-fold "
                  f"account-grouped cross-fitting repeated {n_repeats}x (median), log-link spline outcome and "
                  f"{kind} treatment nuisances, sandwich SE; {BOOTSTRAP_DRAWS}-draw account bootstrap interval")
    else:
        method = (f"partialling-out DML, {n_splits}-fold account-grouped cross-fitting repeated {n_repeats}x "
                  f"(median), {kind} nuisances, HC1 SE; {BOOTSTRAP_DRAWS}-draw account bootstrap interval")
    categorical = list(CATEGORICAL_CONTROLS)
    numeric = list(NUMERIC_CONTROLS + spec.extra_controls)
    # A confounder that is not recorded for an account cannot be adjusted for: imputing it (even with a
    # missingness indicator) leaves that account's confounding in the estimate (docs/statistics.md, 7).
    known = frame[categorical + numeric].notna().all(axis=1).to_numpy()
    missing_control = int((~known).sum())
    if missing_control:
        frame = frame.loc[known].reset_index(drop=True)
        y = y[known]
        level_outcome = None if level_outcome is None else level_outcome[known]
    row = _empty_row(spec, "adjusted_effect", method, "")
    row.update(n_accounts=len(frame), n_excluded_other=n_excluded + missing_control)
    missing_note = (f"{missing_control} accounts without a recorded control excluded from the adjustment"
                    if missing_control else "")
    treatment = frame[spec.treatment].to_numpy(dtype=float)
    if len(frame) < n_splits * MIN_ACCOUNTS_PER_FOLD:
        return {**row, "note": "; ".join(filter(None, [
            f"too few accounts ({len(frame)}) for {n_splits}-fold cross-fitting", missing_note]))}
    if np.var(treatment) == 0:
        return {**row, "note": "; ".join(filter(None, [
            "treatment does not vary: no effect can be estimated", missing_note]))}
    x = design_frame(frame, categorical, numeric)
    learner = make_learner(categorical, numeric, kind, random_state)
    groups = frame["account_id"].to_numpy()
    if level_outcome is not None:
        fitted = ProportionalEffect(make_level_learner(categorical, numeric), learner, n_splits, random_state,
                                    alpha, n_repeats).fit(x, level_outcome, treatment, groups=groups)
        naive = naive_proportional_slope(level_outcome, treatment)
    else:
        fitted = PartiallingOutEffect(learner, learner, n_splits, random_state, alpha, n_repeats).fit(
            x, y, treatment, groups=groups)
        naive = naive_slope(y, treatment)
    effect = fitted.effect_
    significant = bool(effect.p_value < alpha) if np.isfinite(effect.p_value) else False
    return {
        **row, "estimate": effect.estimate, "ci_low": effect.ci_low, "ci_high": effect.ci_high,
        "bootstrap_ci_low": effect.bootstrap_ci_low, "bootstrap_ci_high": effect.bootstrap_ci_high,
        "p_value": effect.p_value, "naive_estimate": naive,
        "treatment_residual_share": fitted.treatment_residual_share_,
        "supported": significant and np.sign(effect.estimate) == spec.direction, "note": missing_note,
    }


def _predictive_value_row(spec: HypothesisSpec, frame: pd.DataFrame, y: np.ndarray, n_excluded: int,
                          kind: LearnerKind, n_splits: int, n_repeats: int, random_state: int,
                          alpha: float) -> dict:
    method = (f"out-of-fold R2 gain of baseline+block over baseline, {n_repeats}x{n_splits} account-grouped "
              f"folds, {kind}, Nadeau-Bengio corrected resampled t-test (one-sided)")
    row = _empty_row(spec, "predictive_value", method, "")
    row.update(n_accounts=len(frame), n_excluded_other=n_excluded,
               unit="out-of-fold R2 (on the transformed outcome) added by the block over the baseline")
    if len(frame) < n_splits * MIN_ACCOUNTS_PER_FOLD:
        return {**row, "note": f"too few accounts ({len(frame)}) for {n_splits}-fold cross-validation"}
    block = [c for c in spec.predictive_block if frame[c].nunique(dropna=True) > 1]
    if not block:
        return {**row, "note": "the block does not vary: no predictive value can be estimated"}
    baseline_numeric = list(NUMERIC_CONTROLS + ACTIVITY_COLUMNS + spec.extra_controls)
    differences, n_train, n_test = nested_r2_differences(
        frame, y, frame["account_id"].to_numpy(), (list(CATEGORICAL_CONTROLS), baseline_numeric), block,
        kind, n_splits, n_repeats, random_state)
    result = corrected_resampled_ttest(differences, n_train, n_test, alpha)
    return {
        **row, "estimate": result.mean_difference, "ci_low": result.ci_low, "ci_high": result.ci_high,
        "p_value": result.p_value_greater, "supported": bool(result.p_value_greater < alpha),
    }


def _analysis_sample(spec: HypothesisSpec, blocks: FeatureBlocks) -> tuple[pd.DataFrame, np.ndarray, int]:
    frame = blocks.frame
    if OTHER_TRUST_ERODING in spec.extra_controls:
        frame = frame.assign(**{OTHER_TRUST_ERODING: frame[TRUST_ERODING_TOTAL] - frame[spec.treatment]})
    if not spec.requires_treatment:
        return frame, blocks.y, 0
    keep = frame[spec.treatment].notna().to_numpy()
    return frame.loc[keep].reset_index(drop=True), blocks.y[keep], int((~keep).sum())


@dataclass(frozen=True)
class StatisticsResults:
    tests: pd.DataFrame  # one row per hypothesis key (RESULT_COLUMNS), the rows of main.hypothesis_tests
    permutation_null: pd.DataFrame  # PERMUTATION_NULL_COLUMNS: the block permutation null distributions
    diagnostics: pd.DataFrame  # models.diagnostics.DIAGNOSTIC_COLUMNS: the rows of main.hypothesis_diagnostics


def run_statistics(
    features: pd.DataFrame,
    random_state: int = 0,
    n_splits: int = 5,
    *,
    n_repeats: int | None = None,
    outcome: Outcome = "revenue",
    learner: LearnerKind = "spline_ridge",
    alpha: float = 0.05,
    test_event_types: bool = True,
    placebo: bool = True,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    permutation_max_accounts: int = PERMUTATION_MAX_ACCOUNTS,
    sensitivity: bool = True,
    not_run: Mapping[str, str] | None = None,
) -> StatisticsResults:
    """Test H1 and H2 on the rows of analytics.ml_account_features.

    Per primary hypothesis (H1_strategic_alignment, H2_trust_eroding_events) the rows are, by `test`:
    'adjusted_effect' (DML; decides `supported`: two-sided p < alpha with the hypothesised sign),
    'predictive_value' (R^2 gain, corrected resampled t-test), 'placebo' (the same estimator on the
    treatment permuted within segment x cohort-year strata: must find nothing; `supported` is
    always false) and 'block_permutation' (the R^2 gain against its null with the block permuted
    within strata; n_permutations = 0 skips it). Per event type an 'adjusted_effect' row with
    Holm-adjusted p-values (`supported` uses them).
    The `hypothesis` column is unique: the adjusted effect keeps the hypothesis's name, every
    other row is '<hypothesis>:<test>' (per-type rows: 'H2_trust_eroding_events:<event_type>').
    n_repeats: how many differently shuffled fold sets the DML and the t-test use; None = 2, or 1 above
    SINGLE_REPEAT_ABOVE_ACCOUNTS analysed accounts.
    Censored accounts are dropped and counted in `n_excluded_censored`. Each row carries a
    generated plain-language `verdict` and its `conclusion`.
    Every effect row gets its sizes and robustness values (`models.diagnostics`); sensitivity=False skips
    the observed-control benchmarks (the costly part) and leaves `benchmark_*` empty.
    not_run: {primary hypothesis: reason} of hypotheses whose input is missing (dealscope.coverage):
    none of their tests runs; each keeps one 'adjusted_effect' row with NULL estimates, method
    'not run' and the reason as note (the contract promises a row per hypothesis).
    """
    blocks = build_feature_blocks(features, outcome)
    if n_repeats is None:
        n_repeats = DEFAULT_REPEATS if len(blocks.frame) <= SINGLE_REPEAT_ABOVE_ACCOUNTS else 1
    specs = hypothesis_specs(blocks, OUTCOME_UNITS[outcome])
    if not test_event_types:
        specs = [s for s in specs if ":" not in s.hypothesis]
    specs, not_run_rows = split_not_run(specs, not_run or {})
    rows = _run_specs(specs, blocks, learner, n_splits, n_repeats, random_state, alpha) + not_run_rows
    results = _apply_holm_to_event_types(pd.DataFrame(rows), alpha)
    extra_rows, null_frames = [], []
    for spec in specs:
        if ":" in spec.hypothesis:
            continue
        frame, y, n_excluded = _analysis_sample(spec, blocks)
        if placebo:
            extra_rows.append(_placebo_row(spec, frame, y, n_excluded, blocks.outcome, learner, n_splits, n_repeats,
                                           random_state, alpha))
        if n_permutations > 0 and spec.predictive_block:
            row, null = _block_permutation_row(spec, frame, y, n_excluded, n_splits, n_permutations,
                                               permutation_max_accounts, random_state, alpha)
            extra_rows.append(row)
            null_frames.append(null)
    if extra_rows:
        results = pd.concat([results, pd.DataFrame(extra_rows)], ignore_index=True)
    results["hypothesis"] = unique_hypothesis_keys(results["hypothesis"], results["test"])
    results["n_excluded_censored"] = blocks.n_excluded_censored
    results["n_excluded_not_customer"] = blocks.n_excluded_not_customer
    results["outcome"] = outcome
    results["outcome_months"] = outcome_window_months(blocks.frame)
    results["random_state"] = random_state
    results["observation_months"] = observation_window_months(blocks.frame)
    if "n_permutations" not in results:
        results["n_permutations"] = np.nan
    # Sensitivity, honest sizes and diagnostics of the effects: one separate stage (models.diagnostics),
    # imported here because it builds on this module's learners.
    from models.diagnostics import assess_adjusted_effects
    samples = {spec.hypothesis: (spec, *_analysis_sample(spec, blocks)[:2]) for spec in specs if ":" not in spec.hypothesis}
    results, diagnostics = assess_adjusted_effects(results, blocks, samples, learner=learner, n_splits=n_splits,
                                                   random_state=random_state, alpha=alpha, benchmark=sensitivity)
    results = add_verdicts(results)
    null_frame = (pd.concat(null_frames, ignore_index=True) if null_frames
                  else pd.DataFrame({c: pd.Series(dtype=float) for c in PERMUTATION_NULL_COLUMNS}))
    return StatisticsResults(results.loc[:, list(RESULT_COLUMNS)], null_frame.loc[:, list(PERMUTATION_NULL_COLUMNS)],
                             diagnostics)


def split_not_run(specs: list[HypothesisSpec], not_run: Mapping[str, str]
                  ) -> tuple[list[HypothesisSpec], list[dict]]:
    """(specs to run, one 'not run' row per skipped primary hypothesis); a skipped hypothesis's
    per-event-type specs are dropped with it."""
    to_run = [s for s in specs if s.hypothesis.split(":")[0] not in not_run]
    rows = [_empty_row(s, "adjusted_effect", "not run", f"not run: {not_run[s.hypothesis]}")
            for s in specs if s.hypothesis in not_run]
    return to_run, rows


def run_hypothesis_tests(features: pd.DataFrame, random_state: int = 0, n_splits: int = 5, **options) -> pd.DataFrame:
    """The rows of main.hypothesis_tests (`run_statistics(...).tests`); options as run_statistics."""
    return run_statistics(features, random_state, n_splits, **options).tests


def unique_hypothesis_keys(hypotheses: pd.Series, tests: pd.Series) -> pd.Series:
    """The table's key: an adjusted effect keeps the hypothesis's name, any other test is '<name>:<test>'."""
    keys = hypotheses.where(tests == "adjusted_effect", hypotheses + ":" + tests)
    if keys.duplicated().any():
        raise ValueError(f"hypothesis keys repeat: {sorted(keys[keys.duplicated()])}")
    return keys


def outcome_window_months(frame: pd.DataFrame) -> float:
    """Length of the outcome window in months (the dbt var outcome_months), or NaN if the table does not say."""
    return _months_between(frame, "observation_end", "outcome_end")


def observation_window_months(frame: pd.DataFrame) -> float:
    """Months from becoming a customer to the outcome window (the dbt var observation_months), or NaN:
    the outcome window is months observation_months + 1 .. + outcome_months of the customer's tenure."""
    return _months_between(frame, "customer_since", "observation_end")


def _months_between(frame: pd.DataFrame, start_column: str, end_column: str) -> float:
    if not {start_column, end_column} <= set(frame.columns) or frame.empty:
        return float("nan")
    start, end = pd.to_datetime(frame[start_column]), pd.to_datetime(frame[end_column])
    months = (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)
    return float(months.median()) if months.notna().any() else float("nan")


def _placebo_row(spec: HypothesisSpec, frame: pd.DataFrame, y: np.ndarray, n_excluded: int, outcome: Outcome,
                 kind: LearnerKind, n_splits: int, n_repeats: int, random_state: int, alpha: float) -> dict:
    """The adjusted-effect estimator on a fake treatment: the real one shuffled within segment x cohort-year
    strata (seeded). The controls include segment and cohort year, so its true effect is 0 by construction."""
    rng = np.random.default_rng([random_state, 1])
    fake = f"placebo__{spec.treatment}"
    shuffled = frame[spec.treatment].to_numpy()[permutation_within_strata(stratum_codes(frame), rng)]
    placebo_spec = replace(spec, treatment=fake)
    level_outcome = frame[OUTCOME_COLUMNS["revenue"]].to_numpy(dtype=float) if outcome == "revenue" else None
    row = _adjusted_effect_row(placebo_spec, frame.assign(**{fake: shuffled}), y, n_excluded, kind, n_splits,
                               n_repeats, random_state, alpha, level_outcome)
    found_effect = bool(np.isfinite(row["p_value"]) and row["p_value"] < alpha)
    verdict = ("placebo FAILED: an effect was found where none exists" if found_effect
               else "placebo passed: no effect found, as expected")
    note = row["note"] if not np.isfinite(row["p_value"]) else "; ".join(filter(None, [verdict, row["note"]]))
    return {**row, "test": "placebo", "supported": False, "note": note,
            "method": "placebo refuter (treatment permuted within segment x cohort-year strata, seeded), "
                      + row["method"]}


def _block_permutation_row(spec: HypothesisSpec, frame: pd.DataFrame, y: np.ndarray, n_excluded: int, n_splits: int,
                           n_permutations: int, max_accounts: int, random_state: int,
                           alpha: float) -> tuple[dict, pd.DataFrame]:
    key = f"{spec.hypothesis}:block_permutation"
    used = subsample(len(frame), max_accounts, random_state)
    subsampled = len(used) < len(frame)
    frame, y = frame.iloc[used].reset_index(drop=True), y[used]
    method = (f"block permutation test: out-of-fold R2 gain of ridge(baseline+block) over ridge(baseline), "
              f"{n_splits} account-grouped folds, block rows permuted {n_permutations}x within segment x "
              f"cohort-year strata, p = (1 + #null >= observed) / (1 + n)"
              + (f"; seeded random subsample of {max_accounts} accounts" if subsampled else ""))
    row = _empty_row(spec, "block_permutation", method, "")
    row.update(n_accounts=len(frame), n_excluded_other=n_excluded, n_permutations=n_permutations,
               unit="out-of-fold R2 (on log(1 + revenue)) added by the block over the baseline")
    empty_null = pd.DataFrame({c: pd.Series(dtype=float) for c in PERMUTATION_NULL_COLUMNS})
    block = [c for c in spec.predictive_block if frame[c].nunique(dropna=True) > 1]
    if len(frame) < n_splits * MIN_ACCOUNTS_PER_FOLD:
        return {**row, "note": f"too few accounts ({len(frame)}) for {n_splits}-fold cross-validation"}, empty_null
    if not block:
        return {**row, "note": "the block does not vary: no predictive value can be tested"}, empty_null
    categorical, numeric = list(CATEGORICAL_CONTROLS), list(NUMERIC_CONTROLS + ACTIVITY_COLUMNS + spec.extra_controls)
    base = basis_matrix(design_frame(frame, categorical, numeric), categorical, numeric)
    block_basis = basis_matrix(design_frame(frame, [], block), [], block)
    result = block_permutation_test(base, block_basis, y, stratum_codes(frame),
                                    grouped_folds(frame["account_id"].to_numpy(), n_splits, random_state),
                                    n_permutations, random_state)
    null = pd.DataFrame({"hypothesis": key, "permutation": np.arange(1, n_permutations + 1),
                         "statistic": result.null, "observed": result.observed})
    return {**row, "estimate": result.observed, "p_value": result.p_value,
            "supported": bool(result.p_value < alpha)}, null


def _run_specs(specs: list[HypothesisSpec], blocks: FeatureBlocks, learner: LearnerKind, n_splits: int,
               n_repeats: int, random_state: int, alpha: float) -> list[dict]:
    rows = []
    for spec in specs:
        frame, y, n_excluded = _analysis_sample(spec, blocks)
        # revenue: the adjusted effect is proportional, in levels (zeros included); the predictive
        # test keeps the log1p scale (an R^2 on levels would be dominated by the largest accounts)
        level_outcome = (frame[OUTCOME_COLUMNS["revenue"]].to_numpy(dtype=float)
                         if blocks.outcome == "revenue" else None)
        rows.append(_adjusted_effect_row(spec, frame, y, n_excluded, learner, n_splits, n_repeats, random_state,
                                         alpha, level_outcome))
        if spec.predictive_block:
            rows.append(_predictive_value_row(spec, frame, y, n_excluded, learner, n_splits, n_repeats,
                                              random_state, alpha))
    return rows


def _apply_holm_to_event_types(results: pd.DataFrame, alpha: float) -> pd.DataFrame:
    results = results.copy()
    is_type_row = (results["hypothesis"].str.contains(":", regex=False)
                   & (results["test"] == "adjusted_effect")).to_numpy()
    if not is_type_row.any():
        return results
    adjusted = holm_adjust(results.loc[is_type_row, "p_value"].to_numpy())
    expected_sign = np.where(results.loc[is_type_row, "direction"] == "positive", 1, -1)
    same_sign = np.sign(results.loc[is_type_row, "estimate"].to_numpy()) == expected_sign
    results.loc[is_type_row, "p_value_holm"] = adjusted
    results.loc[is_type_row, "supported"] = (np.nan_to_num(adjusted, nan=1.0) < alpha) & same_sign
    results.loc[is_type_row, "method"] = results.loc[is_type_row, "method"] + "; Holm across event types"
    return results
