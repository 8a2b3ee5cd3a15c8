"""The estimators: nuisance learners, the two cross-fitted double machine learning estimators of an
adjusted effect (`PartiallingOutEffect`, `ProportionalEffect`), naive slopes for comparison, and the
nested out-of-fold R^2 comparison of the predictive-value test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, Literal

import joblib  # a scikit-learn dependency
import numpy as np
import pandas as pd
from scipy import sparse, stats
from threadpoolctl import threadpool_limits  # a scikit-learn dependency
from sklearn import config_context
from sklearn import get_config as sklearn_config
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import PoissonRegressor
from sklearn.model_selection import cross_val_predict, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from models.design import design_matrix, grouped_folds
from models.inference import EffectEstimate, account_bootstrap_weights, median_aggregate, percentile_interval
from models.ridge import RIDGE_ALPHAS, GramRidgeCV

LearnerKind = Literal["spline_ridge", "hgb"]
BOOTSTRAP_DRAWS = 999
# The statistics stage runs in this many processes at once (models.pipeline_stage: the primary tests,
# and the model comparison with the within-account design beside them).
STATISTICS_PROCESSES = 2
# From this many rows a cross-fit's folds are fitted in parallel worker processes: a fit then takes
# seconds, far more than starting a worker and sending it the data; below it a fit takes hundredths of
# a second and the statistics stay in one process (and the calibration study's parallel worlds do not
# start workers of their own).
PARALLEL_FOLDS_MIN_ROWS = 20_000


def fold_jobs(n_rows: int, cores: int | None = None) -> int | None:
    """joblib's n_jobs for fitting the folds of a cross-fit of n_rows rows: from PARALLEL_FOLDS_MIN_ROWS,
    the statistics processes' share of the cores when that is two or more, else None (in this process).

    Each of the STATISTICS_PROCESSES processes gets its share: more workers than cores only adds
    copies of the data and contention. On two cores that is one each, so the folds stay in the process
    (measured at 100,000 accounts: 69.6-72.1 s and a 2.2 GB process tree, against 85.0-98.9 s and
    2.8-3.1 GB with two fold workers per process; docs/benchmarks.md). The predictions are the same
    either way: each fold's fit is deterministic and single-threaded in this process
    (`threadpool_limits`) and in a worker (joblib gives each of n workers cores / n BLAS threads)."""
    share = (joblib.cpu_count() if cores is None else cores) // STATISTICS_PROCESSES
    return share if n_rows >= PARALLEL_FOLDS_MIN_ROWS and share >= 2 else None


# --------------------------------------------------------------------------- learners


def _column_selectors(categorical: list[str], numeric: list[str], positional: bool) -> tuple[list, list]:
    """The ColumnTransformer's column selections: by name (a design frame), or by position in
    `models.design.design_matrix`'s layout (categorical columns first, then the numbers)."""
    if not positional:
        return categorical, numeric
    return list(range(len(categorical))), list(range(len(categorical), len(categorical) + len(numeric)))


def make_learner(
    categorical: list[str], numeric: list[str], kind: LearnerKind = "spline_ridge", random_state: int = 0,
    *, positional: bool = False,
) -> Pipeline:
    """A regressor over the named columns; imputation and encoding are fitted per fold.
    positional=True: it takes `models.design.design_matrix` arrays instead of `design_frame` frames
    (the same predictions, far less per-fit overhead).

    spline_ridge (default): one-hot categories + each number standardised and as a cubic
    B-spline basis, ridge with the penalty chosen by efficient leave-one-out CV. Flexible in
    each control, fast (a few hundredths of a second a fit), deterministic.
    hgb: histogram gradient boosting, which also learns interactions but costs ~10-20x more
    per fit; a sensitivity option. It stops adding trees when 10 more do not lower the loss on a
    seeded 10% of the rows it is fitted on (never the held-out fold): on the sample a fit then
    takes ~45 trees instead of 100, and the held-out R^2 rises (less overfitting).
    """
    numeric_steps = [SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)]
    if kind == "spline_ridge":
        # the standardised linear term carries the main trend at little penalty; the
        # spline basis bends it where the data ask
        numeric_steps.append(make_union(StandardScaler(), SplineTransformer(n_knots=5, degree=3, knots="uniform")))
    categorical_columns, numeric_columns = _column_selectors(categorical, numeric, positional)
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_columns),
            ("numeric", make_pipeline(*numeric_steps), numeric_columns),
        ],
        verbose_feature_names_out=False,
    )
    if kind == "hgb":
        # Small, regularised boosting: a few thousand rows, a handful of controls; early stopping on
        # an inner validation split of the training rows only, so no held-out row steers the fit.
        model = HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, early_stopping=True, validation_fraction=0.1, n_iter_no_change=10,
            random_state=random_state,
        )
    elif kind == "spline_ridge":
        model = GramRidgeCV(alphas=RIDGE_ALPHAS)
    else:
        raise ValueError(f"unknown learner kind {kind!r}")
    return Pipeline([("preprocess", preprocess), ("model", model)])


def checked_input() -> AbstractContextManager:
    """A context in which scikit-learn skips its finiteness checks, for learners fed
    `models.design.design_matrix` arrays: that checked them once (NaN, which the imputers fill, is
    allowed; infinity raised there), and the checks, repeated per fold and per step, cost more than
    the fits on a few thousand rows. The arithmetic is the same."""
    return config_context(assume_finite=True)


_REMEMBERED_OUT_OF_FOLD: ContextVar[dict[str, np.ndarray] | None] = ContextVar("remembered_out_of_fold",
                                                                               default=None)
# A cross-fit inside `reuse_out_of_fold` keeps each fold's preprocessed design for the next cross-fit on
# the same X and folds (a DML fits E[D | X] and twice E[Y | X] on them; the preprocessing -- imputation,
# spline basis, one-hot -- costs about as much as the ridge or Poisson fit after it) while all its folds'
# designs fit in this many bytes; only the last SHARED_PREPROCESSING_KEPT designs are kept, so the
# statistics hold at most 2 x 256 MiB more (at 100,000 accounts a per-type design is ~181 MiB).
SHARED_PREPROCESSING_MAX_BYTES = 256 * 2**20
SHARED_PREPROCESSING_KEPT = 2
_PREPROCESSED_FOLDS: ContextVar[dict[str, list] | None] = ContextVar("preprocessed_folds", default=None)


@contextmanager
def reuse_out_of_fold() -> Iterator[None]:
    """Within it (or a function decorated with it), `out_of_fold_predictions` fits each distinct
    (learner, X, target, folds) once, and consecutive cross-fits on the same (preprocessing, X, folds)
    share each fold's fitted preprocessing (while it fits in SHARED_PREPROCESSING_MAX_BYTES). The
    statistical stage asks for some nuisances more than once with identical inputs (the placebo's first
    E[Y | X] is the estimate's; the diagnostics' full-control cross-fit is the estimate's first fold
    shuffle); a fit with a fixed random_state is deterministic and the preprocessing does not look at
    the target, so the predictions are the ones a refit would give (tested bit for bit)."""
    token = _REMEMBERED_OUT_OF_FOLD.set({})
    preprocessed = _PREPROCESSED_FOLDS.set({})
    try:
        yield
    finally:
        _REMEMBERED_OUT_OF_FOLD.reset(token)
        _PREPROCESSED_FOLDS.reset(preprocessed)


def out_of_fold_predictions(learner: Pipeline, X: pd.DataFrame | np.ndarray, target: np.ndarray,
                            folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """`cross_val_predict(learner, X, target, cv=folds)` (folds in parallel on a large sample: `fold_jobs`),
    remembered inside `reuse_out_of_fold`."""
    remembered = _REMEMBERED_OUT_OF_FOLD.get()
    n_jobs = fold_jobs(len(target))
    if remembered is None:
        return cross_val_predict(learner, X, target, cv=folds, n_jobs=n_jobs)
    # the learner's parameters, the data and the folds (scikit-learn's configuration too: it can
    # change what a fit checks)
    key = joblib.hash((learner, X, np.asarray(target), folds, sklearn_config()))
    if key not in remembered:
        shareable = (n_jobs is None and isinstance(X, np.ndarray) and isinstance(learner, Pipeline)
                     and [name for name, _ in learner.steps] == ["preprocess", "model"])
        remembered[key] = (_on_shared_preprocessing(learner, X, np.asarray(target), folds) if shareable
                           else cross_val_predict(learner, X, target, cv=folds, n_jobs=n_jobs))
    return remembered[key].copy()


def _on_shared_preprocessing(learner: Pipeline, X: np.ndarray, target: np.ndarray,
                             folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """What `cross_val_predict(learner, X, target, cv=folds)` gives, each fold's preprocessing fitted
    once for every target (`reuse_out_of_fold`): Pipeline.fit is the preprocessing's fit_transform
    followed by the model's fit, and predict the preprocessing's transform followed by the model's."""
    kept = _PREPROCESSED_FOLDS.get()
    preprocess, model = learner.steps[0][1], learner.steps[-1][1]
    key = joblib.hash((preprocess, X, folds, sklearn_config()))
    designs = kept.get(key)
    keeping = [] if designs is None else None  # designs made here, while they stay within the budget
    predictions = np.empty(len(target))
    for index, (train, test) in enumerate(folds):
        if designs is not None:
            design_train, design_test = designs[index]
        else:  # one fold at a time, as cross_val_predict: a design past the budget is never all held
            fitted = clone(preprocess)
            design_train, design_test = fitted.fit_transform(X[train]), fitted.transform(X[test])
            if keeping is not None:
                keeping.append((design_train, design_test))
                held = sum(_nbytes(a) + _nbytes(b) for a, b in keeping)
                if held / len(keeping) * len(folds) > SHARED_PREPROCESSING_MAX_BYTES:
                    keeping = None
        predictions[test] = clone(model).fit(design_train, target[train]).predict(design_test)
    if keeping is not None:
        while len(kept) >= SHARED_PREPROCESSING_KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = keeping
    return predictions


def _nbytes(design: Any) -> int:
    """Memory of a dense or a scipy sparse (CSR/CSC) design."""
    if sparse.issparse(design):
        return sum(part.nbytes for part in (design.data, design.indices, design.indptr))
    return np.asarray(design).nbytes


# --------------------------------------------------------------------------- adjusted effect


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
        # one BLAS thread: the re-solves are matrix-vector products, where a second thread mostly spins
        with threadpool_limits(limits=1):
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

    def fit(self, X: pd.DataFrame | np.ndarray, y: np.ndarray, treatment: np.ndarray,
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

    def _cross_fit(self, X: pd.DataFrame | np.ndarray, y: np.ndarray, treatment: np.ndarray, groups: np.ndarray,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold residuals of the outcome and of the treatment (both on the same folds)."""
        folds = grouped_folds(groups, self.n_splits, seed)
        return (y - out_of_fold_predictions(self.outcome_learner, X, y, folds),
                treatment - out_of_fold_predictions(self.treatment_learner, X, treatment, folds))


def make_level_learner(categorical: list[str], numeric: list[str], *, positional: bool = False) -> Pipeline:
    """E[Y | X] for a non-negative outcome in levels: log link (Poisson quasi-likelihood) over the same
    one-hot + standardised + B-spline basis as `make_learner`, lightly penalised. Multiplicative in the
    controls, as revenue is; zeros are fine. positional: as `make_learner`."""
    numeric_steps = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        make_union(StandardScaler(), SplineTransformer(n_knots=5, degree=3, knots="uniform")),
    )
    categorical_columns, numeric_columns = _column_selectors(categorical, numeric, positional)
    preprocess = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_columns),
         ("numeric", numeric_steps, numeric_columns)],
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

    def fit(self, X: pd.DataFrame | np.ndarray, y: np.ndarray, treatment: np.ndarray,
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
                parts.append(resampling_part(effect.estimate, y / outcome_hat, treatment, treatment_residuals))
        self.repeat_effects_ = effects
        self.treatment_residual_share_ = float(np.median(shares) / np.var(treatment))
        self.effect_ = self._aggregate(effects, parts, groups)
        return self

    def _solve_resampled(self, weights: np.ndarray, part: tuple, newton_steps: int = 4) -> np.ndarray:
        """theta on each resample: Newton steps on the moment from the full-sample estimate
        (`part`: `resampling_part`)."""
        estimate, scaled_y, treatment, residuals, by_level = part
        if by_level is not None:
            return _solve_resampled_by_level(weights, estimate, *by_level, weights @ residuals, newton_steps)
        theta = np.full(len(weights), estimate)
        # value = sum_i w_i (y_i exp(-theta t_i) - 1) r_i and slope = -sum_i w_i y_i exp(-theta t_i) t_i r_i,
        # as two matrix-vector products over one draws x rows array (w exp(-theta t)) instead of
        # five elementwise passes: the same sums up to rounding, about half the time
        level_score = scaled_y * residuals
        slope_score = level_score * treatment
        weighted_residuals = weights @ residuals
        for _ in range(newton_steps):
            weighted_exp = weights * np.exp(-np.outer(theta, treatment))  # draws x rows
            value = weighted_exp @ level_score - weighted_residuals
            slope = -(weighted_exp @ slope_score)
            with np.errstate(divide="ignore", invalid="ignore"):
                theta = theta - np.clip(value / slope, -1.0, 1.0)
        return theta

    def _fit_once(self, X: pd.DataFrame | np.ndarray, y: np.ndarray, treatment: np.ndarray, groups: np.ndarray,
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
    def _cross_fit(learner: Pipeline, X: pd.DataFrame | np.ndarray, target: np.ndarray,
                   folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Out-of-fold predictions of target from X."""
        return out_of_fold_predictions(learner, X, target, folds)


# A treatment with at most this many distinct values (event counts) is re-solved per value, not per row.
FEW_TREATMENT_LEVELS = 64


def resampling_part(estimate: float, scaled_y: np.ndarray, treatment: np.ndarray, residuals: np.ndarray) -> tuple:
    """What every resample's re-solve of one cross-fit repeat of `ProportionalEffect` uses: the estimate,
    the scaled outcome, the treatment, its residuals and, for a treatment with at most FEW_TREATMENT_LEVELS
    distinct values, (its values, the rows' scores y r in a sparse rows x values matrix), else None;
    built once per repeat, not per chunk of draws."""
    levels, level_of_row = np.unique(treatment, return_inverse=True)
    by_level = None
    if len(levels) <= FEW_TREATMENT_LEVELS:
        level_score = scaled_y * residuals
        by_level = (levels, sparse.csr_matrix((level_score, (np.arange(len(level_score)), level_of_row)),
                                              shape=(len(level_score), len(levels))))
    return estimate, scaled_y, treatment, residuals, by_level


def _solve_resampled_by_level(weights: np.ndarray, estimate: float, levels: np.ndarray, by_level: sparse.csr_matrix,
                              weighted_residuals: np.ndarray, newton_steps: int) -> np.ndarray:
    """`ProportionalEffect._solve_resampled` for a treatment with few distinct values: as
    sum_i w_i s_i exp(-theta t_i) = sum_k exp(-theta v_k) sum_{i: t_i = v_k} w_i s_i, the draws' weighted
    scores are summed per treatment value once (one pass over draws x rows) and each Newton step costs
    draws x values instead of draws x rows. The same sums as per row, up to rounding."""
    level_sums = np.asarray(weights @ by_level)  # draws x values
    theta = np.full(len(weights), estimate)
    for _ in range(newton_steps):
        weighted = np.exp(-np.outer(theta, levels)) * level_sums
        value = weighted.sum(axis=1) - weighted_residuals
        slope = -(weighted @ levels)
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = theta - np.clip(value / slope, -1.0, 1.0)
    return theta


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


def naive_slope(y: np.ndarray, treatment: np.ndarray) -> float:
    """Unadjusted OLS slope of y on the treatment: what a dashboard would show."""
    treatment = np.asarray(treatment, dtype=float)
    centred = treatment - treatment.mean()
    return float(np.sum(centred * (np.asarray(y) - np.mean(y))) / np.sum(centred ** 2))


# --------------------------------------------------------------------------- predictive value


def nested_r2_differences(frame: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                          baseline: tuple[list[str], list[str]], block: list[str],
                          kind: LearnerKind, n_splits: int, n_repeats: int,
                          random_state: int) -> tuple[np.ndarray, float, float]:
    """Per-split out-of-fold R^2 of (baseline + block) minus baseline, on identical folds.

    Returns the differences and the mean train and test sizes (for the correction).
    """
    categorical, numeric = baseline
    base_x = design_matrix(frame, categorical, numeric)
    full_x = design_matrix(frame, categorical, numeric + block)
    splits = [split for repeat in range(n_repeats) for split in grouped_folds(groups, n_splits, random_state + repeat)]
    # small matrices: threaded BLAS only adds contention
    with threadpool_limits(limits=1), checked_input():
        base, full = (cross_validate(make_learner(categorical, columns, kind, random_state, positional=True), x, y,
                                     cv=splits, scoring="r2", n_jobs=fold_jobs(len(y)))["test_score"]
                      for x, columns in ((base_x, numeric), (full_x, numeric + block)))
    return (full - base, float(np.mean([len(train) for train, _ in splits])),
            float(np.mean([len(test) for _, test in splits])))

