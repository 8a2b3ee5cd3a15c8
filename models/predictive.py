"""Does a hypothesis block add predictive value?

Two tables, both computed on one set of account-grouped folds:

* model comparison (`main.model_comparison`): out-of-fold R^2 (on the transformed outcome,
  `FeatureBlocks.y`) of four nested feature sets,

      baseline            controls + early activity + the other (non-eroding) event counts
      baseline+alignment  + mean alignment
      baseline+trust      + trust-eroding count, severity sum and per-type counts
      all                 + both blocks

  each fitted by two learners on IDENTICAL folds (the same splits for every learner and set):
  "linear" = `make_learner(kind="spline_ridge")` (linear-additive: linear in a cubic spline
  basis of each number, no interactions) and "nonlinear" = `make_learner(kind="hgb")`
  (histogram gradient boosting: non-linear effects and interactions). Per set: mean R^2 with a
  Nadeau-Bengio corrected interval across folds; the per-fold gain over the baseline with the
  corrected resampled t-test (one-sided: the block adds R^2); and, on the nonlinear rows,
  nonlinear minus linear R^2 on the same folds (two-sided). These rows have
  split = 'account_folds'. The same sets and learners are also scored BY CALENDAR TIME
  (split = 'later_cohorts', `later_cohort_splits`): forward-chaining by cohort year, each
  qualifying test cohort scored by models fitted on earlier cohorts only, with an embargo when the
  window dates are at hand (training outcome windows end by the test cohort's first
  observation_end); plain t intervals across test cohorts (approximate: nested training sets).

* grouped permutation importance (`main.feature_importance`): the `all` model of each learner,
  fitted on the training folds, scored on each held-out fold with a GROUP of columns permuted
  jointly (one row permutation applied to every column of the group, so the group's internal
  correlations are kept) -- the drop in held-out R^2. Groups follow scikit-learn's "Permutation
  Importance with Multicollinear or Correlated Features" (Spearman correlation, hierarchical
  clustering with scipy, cut at a distance threshold), done WITHIN each block (controls /
  activity / alignment / trust_eroding / other_events) so that no group mixes a hypothesis
  feature with a control; each categorical control is a group of its own.

Pure functions, no Dagster; every random choice is seeded by `random_state`. Above
`PREDICTIVE_MAX_ACCOUNTS` analysed accounts a seeded random subsample is used (stated in
`method`, counted in `n_accounts`). See docs/statistics.md ("Predictive value: linear vs
non-linear, and grouped permutation importance").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from models.features import (
    ACTIVITY_COLUMNS,
    ALIGNMENT_COLUMNS,
    CATEGORICAL_CONTROLS,
    NUMERIC_CONTROLS,
    OTHER_EVENT_COLUMNS,
    Outcome,
    build_feature_blocks,
)
from models.design import DEFAULT_REPEATS, MIN_ACCOUNTS_PER_FOLD, as_design_matrix, design_frame, grouped_folds
from models.estimators import LearnerKind, checked_input, make_learner
from models.inference import CorrectedTTest, corrected_resampled_ttest
from models.permutation import subsample
from models.tables import FEATURE_IMPORTANCE, MODEL_COMPARISON

LEARNERS: dict[str, LearnerKind] = {"linear": "spline_ridge", "nonlinear": "hgb"}
FEATURE_SETS: tuple[str, ...] = ("baseline", "baseline+alignment", "baseline+trust", "all")
BLOCKS: tuple[str, ...] = ("controls", "activity", "alignment", "trust_eroding", "other_events")
# Above this many analysed accounts the comparison and the importance run on a seeded random
# subsample (the fits are 2 learners x 4 sets x folds; the boosting dominates).
PREDICTIVE_MAX_ACCOUNTS = 20_000
# Above this many (used) accounts one fold shuffle instead of DEFAULT_REPEATS.
SINGLE_REPEAT_ABOVE = 10_000
DEFAULT_PERMUTATION_REPEATS = 3  # x 10 folds = 30 shuffles per group; each costs a stacked predict
# Cut of the average-linkage tree on 1 - |Spearman rho|: columns of one block whose average
# absolute rank correlation is at least 0.7 form one group.
CLUSTER_DISTANCE_THRESHOLD = 0.3

# The calendar-time split (split = 'later_cohorts'): a cohort year is a test cohort when it has at
# least MIN_TEST_COHORT_ACCOUNTS used accounts and its training accounts (earlier cohorts, after the
# embargo) number at least MIN_TRAINING_ACCOUNTS from at least MIN_TRAINING_COHORTS cohort years.
SPLITS: tuple[str, ...] = ("account_folds", "later_cohorts")
MIN_TEST_COHORT_ACCOUNTS = 30
MIN_TRAINING_COHORTS = 2
MIN_TRAINING_ACCOUNTS = 60

MODEL_COMPARISON_COLUMNS: tuple[str, ...] = MODEL_COMPARISON.column_names
FEATURE_IMPORTANCE_COLUMNS: tuple[str, ...] = FEATURE_IMPORTANCE.column_names


# --------------------------------------------------------------------------- feature groups


@dataclass(frozen=True)
class FeatureGroup:
    name: str  # readable and unique: the column, or "<first column> + k correlated"
    block: str  # one of BLOCKS
    columns: tuple[str, ...]


def block_columns(trust_columns: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """The columns of each block, in the order the blocks are reported."""
    return {
        "controls": CATEGORICAL_CONTROLS + NUMERIC_CONTROLS,
        "activity": ACTIVITY_COLUMNS,
        "alignment": ALIGNMENT_COLUMNS,
        "trust_eroding": tuple(trust_columns),
        "other_events": OTHER_EVENT_COLUMNS,
    }


def correlated_clusters(x: pd.DataFrame, threshold: float = CLUSTER_DISTANCE_THRESHOLD) -> list[list[str]]:
    """Columns of `x` clustered on their Spearman correlations (average linkage on 1 - |rho|, cut at
    `threshold`), in the order of their first column. Needs no outcome, so using every row leaks nothing.
    A constant column (rho undefined) is its own cluster."""
    columns = list(x.columns)
    if len(columns) < 2 or len(x) < 3:
        return [[c] for c in columns]
    corr = x.corr(method="spearman").to_numpy(dtype=float)
    corr = np.nan_to_num((corr + corr.T) / 2, nan=0.0)
    np.fill_diagonal(corr, 1.0)
    distance = np.clip(1.0 - np.abs(corr), 0.0, None)
    np.fill_diagonal(distance, 0.0)
    labels = hierarchy.fcluster(hierarchy.average(squareform(distance, checks=False)), t=threshold,
                                criterion="distance")
    order = list(dict.fromkeys(labels))  # cluster labels in order of first appearance
    return [[c for c, label in zip(columns, labels) if label == wanted] for wanted in order]


def feature_groups(x: pd.DataFrame, blocks: dict[str, tuple[str, ...]], categorical: tuple[str, ...] | list[str],
                   threshold: float = CLUSTER_DISTANCE_THRESHOLD) -> list[FeatureGroup]:
    """Groups of correlated columns, clustered within each block (never across), so a group never
    mixes a hypothesis feature with a control. Each categorical column is a group of its own.
    Only columns of `x` are used."""
    groups = []
    for block, columns in blocks.items():
        present = [c for c in columns if c in x.columns]
        clusters = [[c] for c in present if c in categorical]
        numeric = [c for c in present if c not in categorical]
        clusters += correlated_clusters(x[numeric], threshold) if numeric else []
        for cluster in clusters:
            name = cluster[0] if len(cluster) == 1 else f"{cluster[0]} + {len(cluster) - 1} correlated"
            groups.append(FeatureGroup(name, block, tuple(cluster)))
    return groups


# --------------------------------------------------------------------------- scoring


def r2_rows(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """R^2 of each row of `predictions` (..., n) against y (n), with scikit-learn's convention for a
    constant y (1 if predicted exactly, else 0)."""
    sse = np.sum((predictions - y) ** 2, axis=-1)
    sst = float(np.sum((y - y.mean()) ** 2))
    if sst == 0:
        return np.where(sse == 0, 1.0, 0.0)
    return 1.0 - sse / sst


def grouped_permutation_drops(model: Pipeline, x_test: pd.DataFrame | np.ndarray, y_test: np.ndarray,
                              groups: list[tuple[str, ...]], n_repeats: int, rng: np.random.Generator,
                              reference_predictions: np.ndarray | None = None,
                              columns: list[str] | None = None) -> np.ndarray:
    """Drop in held-out R^2 when each group's columns are permuted jointly: array (groups, repeats).

    Repeat r draws one row permutation and applies it to every column of a group (the group's
    rows move together, so its internal correlations are kept; its link to the other columns and
    to y is broken). The same permutation serves every group in a repeat (common random numbers:
    differences between groups are not blurred by different shuffles). All (group, repeat) copies
    of the test fold are stacked and predicted in one call. reference_predictions: the model's
    predictions on the unpermuted x_test, if already at hand. x_test may be an array (a positional
    learner's input): `columns` then names its columns.
    """
    y_test = np.asarray(y_test, dtype=float)
    n = len(x_test)
    identity = np.arange(n)
    permutations = rng.permuted(np.tile(identity, (n_repeats, 1)), axis=1)  # (repeats, n)
    is_array = isinstance(x_test, np.ndarray)
    names = list(columns) if is_array else list(x_test.columns)
    stacked = {}
    for position, column in enumerate(names):
        member = np.array([column in group for group in groups], dtype=bool)  # (groups,)
        rows = np.where(member[:, None, None], permutations[None, :, :], identity[None, None, :])
        values = x_test[:, position] if is_array else x_test[column].to_numpy()
        stacked[column] = values[rows.ravel()]
    with threadpool_limits(limits=1):  # one stacked predict: threads only add contention
        predictions = model.predict(np.column_stack([stacked[c] for c in names]) if is_array
                                    else pd.DataFrame(stacked, columns=x_test.columns))
        if reference_predictions is None:
            reference_predictions = model.predict(x_test)
    reference = r2_rows(y_test, np.asarray(reference_predictions, dtype=float))
    return reference - r2_rows(y_test, predictions.reshape(len(groups), n_repeats, n))


def two_sided_p(result: CorrectedTTest) -> float:
    """Two-sided p-value of a corrected resampled t-test (from its one-sided p)."""
    if result.ci_low == result.ci_high:  # zero spread: the t statistic is undefined
        return 1.0 if result.mean_difference == 0 else 0.0
    return float(min(1.0, 2 * min(result.p_value_greater, 1 - result.p_value_greater)))


# --------------------------------------------------------------------------- split by calendar time


@dataclass(frozen=True)
class CohortSplit:
    cohort: int  # the test cohort year
    train: np.ndarray  # row positions of the training accounts (earlier cohorts, after the embargo)
    test: np.ndarray  # row positions of the test cohort's accounts
    embargo: pd.Timestamp | None  # the test cohort's first observation_end (None: no embargo)


@dataclass(frozen=True)
class CohortSplits:
    splits: list[CohortSplit]
    skipped: list[str]  # why each other cohort year is not a test cohort, e.g. "2019: no earlier cohort"
    embargoed: bool  # whether training was restricted to outcome windows ending by the embargo date


def later_cohort_splits(frame: pd.DataFrame, *, min_test_accounts: int = MIN_TEST_COHORT_ACCOUNTS,
                        min_training_cohorts: int = MIN_TRAINING_COHORTS,
                        min_training_accounts: int = MIN_TRAINING_ACCOUNTS, embargo: bool = True) -> CohortSplits:
    """Forward-chaining by cohort year (`cohort_year`: the year the account became a customer).

    For each cohort year c with at least `min_test_accounts` accounts: test = the accounts of cohort
    c; train = the accounts of cohorts < c, and -- the embargo, when `frame` has `observation_end`
    and `outcome_end` without gaps -- only those whose outcome window ended by the test cohort's
    first observation_end (outcome_end is exclusive, so <= that date). Every training outcome is then
    known when the first test account's features are complete, and no training outcome window
    overlaps a test outcome window in calendar time. c is used only if the training accounts number
    at least `min_training_accounts` from at least `min_training_cohorts` cohort years; otherwise
    it is listed in `skipped` with the reason. Accounts without a cohort year are never used.
    """
    cohorts = pd.to_numeric(frame["cohort_year"], errors="coerce").to_numpy(dtype=float) \
        if "cohort_year" in frame else np.full(len(frame), np.nan)
    dated = (embargo and {"observation_end", "outcome_end"} <= set(frame.columns)
             and bool(frame["observation_end"].notna().all()) and bool(frame["outcome_end"].notna().all())
             and len(frame) > 0)
    if dated:
        observation_end = pd.to_datetime(frame["observation_end"]).to_numpy()
        outcome_end = pd.to_datetime(frame["outcome_end"]).to_numpy()
    splits, skipped = [], []
    for cohort in np.unique(cohorts[~np.isnan(cohorts)]):
        label = int(cohort)
        test = np.flatnonzero(cohorts == cohort)
        if len(test) < min_test_accounts:
            skipped.append(f"{label}: {len(test)} test accounts (< {min_test_accounts})")
            continue
        earlier = cohorts < cohort  # NaN compares False: no cohort year, never used
        cutoff = None
        if dated:
            cutoff = observation_end[test].min()
            earlier &= outcome_end <= cutoff
        train = np.flatnonzero(earlier)
        n_cohorts = len(np.unique(cohorts[train]))
        if n_cohorts < min_training_cohorts or len(train) < min_training_accounts:
            skipped.append(f"{label}: {len(train)} training accounts from {n_cohorts} earlier "
                           f"cohort{'' if n_cohorts == 1 else 's'}"
                           + (" after the embargo" if dated else "")
                           + f" (< {min_training_accounts} from {min_training_cohorts})")
            continue
        splits.append(CohortSplit(label, train, test, None if cutoff is None else pd.Timestamp(cutoff)))
    return CohortSplits(splits, skipped, bool(dated))


def t_across(values: np.ndarray, alpha: float = 0.05) -> CorrectedTTest | None:
    """Plain t across test cohorts (mean, 95% interval, one-sided p for mean > 0): no Nadeau-Bengio
    correction, so approximate when training sets overlap. None with fewer than two values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    return corrected_resampled_ttest(values, n_train=1.0, n_test=0.0, alpha=alpha)


# --------------------------------------------------------------------------- the study


@dataclass(frozen=True)
class PredictiveResults:
    comparison: pd.DataFrame  # MODEL_COMPARISON_COLUMNS, one row per (learner, feature_set)
    importance: pd.DataFrame  # FEATURE_IMPORTANCE_COLUMNS, one row per (learner, feature_group)


def _varying(frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> list[str]:
    return [c for c in columns if c in frame.columns and frame[c].nunique(dropna=True) > 1]


def _feature_set_columns(frame: pd.DataFrame, trust_columns: tuple[str, ...]
                         ) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]], dict[str, str]]:
    """Per feature set: the numeric columns fitted (categorical controls are in all of them), the
    columns it is meant to have (reported in `features`), and a note for a set that cannot be
    fitted as named (a block that does not vary)."""
    baseline = list(NUMERIC_CONTROLS + ACTIVITY_COLUMNS + OTHER_EVENT_COLUMNS)
    alignment, trust = _varying(frame, ALIGNMENT_COLUMNS), _varying(frame, trust_columns)
    sets = {"baseline": baseline, "baseline+alignment": baseline + alignment, "baseline+trust": baseline + trust,
            "all": baseline + alignment + trust}
    intended = {"baseline": baseline, "baseline+alignment": baseline + list(ALIGNMENT_COLUMNS),
                "baseline+trust": baseline + list(trust_columns),
                "all": baseline + list(ALIGNMENT_COLUMNS) + list(trust_columns)}
    notes = {}
    if not alignment:
        notes["baseline+alignment"] = "the alignment block does not vary: no predictive value can be estimated"
    if not trust:
        notes["baseline+trust"] = "the trust-eroding block does not vary: no predictive value can be estimated"
    if not alignment and not trust:
        notes["all"] = "neither hypothesis block varies: no predictive value can be estimated"
    elif not alignment or not trust:
        notes["all"] = f"the {'alignment' if not alignment else 'trust-eroding'} block does not vary: left out of 'all'"
        intended["all"] = sets["all"]
    return list(CATEGORICAL_CONTROLS), sets, intended, notes


def run_predictive_value(
    features: pd.DataFrame,
    random_state: int = 0,
    n_splits: int = 5,
    *,
    n_repeats: int | None = None,
    outcome: Outcome = "revenue",
    learners: tuple[str, ...] = tuple(LEARNERS),
    importance: bool = True,
    n_permutation_repeats: int = DEFAULT_PERMUTATION_REPEATS,
    max_accounts: int = PREDICTIVE_MAX_ACCOUNTS,
    cluster_threshold: float = CLUSTER_DISTANCE_THRESHOLD,
    alpha: float = 0.05,
    later_cohorts: bool = True,
) -> PredictiveResults:
    """Model comparison and grouped permutation importance on the rows of analytics.ml_account_features.

    Sample: every analysed (uncensored customer) account, as the H2 tests use; a missing mean
    alignment (no scored deal) is imputed inside each fold with a missing indicator, which belongs
    to the alignment block. n_repeats: fold shuffles (None: 2, or 1 above SINGLE_REPEAT_ABOVE used
    accounts); every learner and feature set is scored on the same n_repeats x n_splits folds.
    importance=False skips the permutation importance (its table is then empty). The comparison has
    split = 'account_folds' rows and (later_cohorts=True) split = 'later_cohorts' rows: the same
    sets and learners trained on earlier cohorts and scored on later ones (`later_cohort_splits`).
    """
    unknown = set(learners) - set(LEARNERS)
    if unknown:
        raise ValueError(f"unknown learners {sorted(unknown)}; expected some of {sorted(LEARNERS)}")
    blocks = build_feature_blocks(features, outcome)
    n_analysed = len(blocks.frame)
    used = subsample(n_analysed, max_accounts, random_state)
    frame, y = blocks.frame.iloc[used].reset_index(drop=True), blocks.y[used]
    if n_repeats is None:
        n_repeats = DEFAULT_REPEATS if len(frame) <= SINGLE_REPEAT_ABOVE else 1
    categorical, sets, intended, set_notes = _feature_set_columns(frame, blocks.trust_columns)
    all_numeric = sets["baseline"] + [c for c in sets["all"] if c not in sets["baseline"]]
    x = design_frame(frame, categorical, all_numeric)
    # DuckDB's parallel aggregation leaves the last bit of a mean or sum (mean_alignment, value_won)
    # run-dependent; the boosting's bin edges react to such ties (measured: +-0.004 R2 between two
    # runs of the pipeline on the same data). Rounding to 1e-10 makes the numbers reproducible.
    x[all_numeric] = x[all_numeric].round(10)
    # the learners get numeric arrays (positional learners; the same predictions, far less overhead)
    matrix, position = as_design_matrix(x, categorical, all_numeric), {c: i for i, c in enumerate(x.columns)}
    model_blocks = block_columns(blocks.trust_columns)
    in_all = set(categorical) | set(sets["all"])
    groups = feature_groups(x[[c for c in x.columns if c in in_all]], model_blocks, categorical, cluster_threshold)

    subsampled = (f"; seeded random subsample of {len(frame)} of {n_analysed} analysed accounts"
                  if len(frame) < n_analysed else "")
    folds_text = f"{n_repeats}x{n_splits} account-grouped folds (identical for every learner and feature set)"
    common = {"n_accounts": len(frame), "outcome": outcome, "random_state": random_state}

    problem = None
    if len(frame) < n_splits * MIN_ACCOUNTS_PER_FOLD:
        problem = f"too few accounts ({len(frame)}) for {n_splits}-fold cross-validation"
    elif np.var(y) == 0:
        problem = "the outcome does not vary: no R2 can be estimated"

    splits = [] if problem else [split for repeat in range(n_repeats)
                                 for split in grouped_folds(frame["account_id"].to_numpy(), n_splits,
                                                            random_state + repeat)]
    n_train = float(np.mean([len(train) for train, _ in splits])) if splits else np.nan
    n_test = float(np.mean([len(test) for _, test in splits])) if splits else np.nan
    scores = {(learner, name): np.full(len(splits), np.nan) for learner in learners for name in FEATURE_SETS}
    drops = {learner: np.full((len(groups), len(splits), n_permutation_repeats), np.nan) for learner in learners}
    # a set whose block does not vary is not reported; 'all' is always fitted (the importance uses it)
    reported = [name for name in FEATURE_SETS if name not in set_notes or "left out" in set_notes[name]]
    fit_sets = [name for name in FEATURE_SETS if name in reported or name == "all"]
    # small matrices: threaded BLAS / OpenMP only adds contention
    with threadpool_limits(limits=1), checked_input():
        for index, (train, test) in enumerate(splits):
            for learner in learners:
                for name in fit_sets:
                    columns = categorical + sets[name]
                    selected = [position[c] for c in columns]
                    model = make_learner(categorical, sets[name], LEARNERS[learner], random_state, positional=True)
                    model.fit(matrix[np.ix_(train, selected)], y[train])
                    x_test = matrix[np.ix_(test, selected)]
                    predictions = model.predict(x_test)
                    scores[learner, name][index] = r2_score(y[test], predictions)
                    if name == "all" and importance:
                        rng = np.random.default_rng([random_state, index, list(LEARNERS).index(learner)])
                        drops[learner][:, index, :] = grouped_permutation_drops(
                            model, x_test, y[test], [g.columns for g in groups], n_permutation_repeats, rng,
                            predictions, columns=columns)

    estimators = {learner: f"{LEARNERS[learner]} ("
                  + ("linear-additive: linear in a cubic B-spline basis of each number, one-hot categories, ridge"
                     if learner == "linear" else "histogram gradient boosting: non-linear, with interactions")
                  + ")" for learner in learners}
    features_text = {name: ", ".join(categorical + intended[name]) for name in FEATURE_SETS}
    comparison_rows = _comparison_rows(
        "account_folds", scores, learners, reported, estimators, features_text, common, len(splits),
        method=lambda learner: (f"out-of-fold R2 on the transformed outcome, {folds_text}; gain over baseline: "
                                f"Nadeau-Bengio corrected resampled t-test, one-sided"
                                + ("; nonlinear - linear: the same test, two-sided" if learner != "linear" else "")
                                + subsampled),
        note=lambda name: problem or set_notes.get(name),
        test=None if problem else (lambda values: corrected_resampled_ttest(values, n_train, n_test, alpha)))
    if later_cohorts:
        comparison_rows += _later_cohort_rows(frame, matrix, position, y, categorical, sets, fit_sets, learners,
                                              reported, estimators, features_text, common, problem, set_notes,
                                              subsampled, random_state, alpha)
    comparison = pd.DataFrame(comparison_rows, columns=list(MODEL_COMPARISON_COLUMNS))

    importance_rows = []
    if importance:
        importance_rows = _importance_rows(learners, groups, drops, model_blocks, in_all, frame, common, problem,
                                           len(splits), n_permutation_repeats, n_train, n_test, alpha,
                                           f"{folds_text}{subsampled}")
    importance_frame = pd.DataFrame(importance_rows, columns=list(FEATURE_IMPORTANCE_COLUMNS))
    return PredictiveResults(comparison, importance_frame)


def _comparison_rows(split: str, scores: dict[tuple[str, str], np.ndarray], learners: tuple[str, ...],
                     reported: list[str], estimators: dict[str, str], features_text: dict[str, str], common: dict,
                     n_folds: int, method: Callable[[str], str], note: Callable[[str], str | None],
                     test: Callable[[np.ndarray], CorrectedTTest | None] | None) -> list[dict]:
    """One row per (learner, feature set) of one split from the per-fold (or per-cohort) held-out R^2.
    test=None: no numbers (a problem, stated by `note`). A test that returns None (one test cohort)
    leaves the intervals and p-values NULL but keeps the means."""
    rows = []
    for learner in learners:
        for name in FEATURE_SETS:
            row = {"split": split, "learner": learner, "feature_set": name, "estimator": estimators[learner],
                   "features": features_text[name], **common, "n_folds": n_folds, "method": method(learner),
                   "note": note(name)}
            for column in MODEL_COMPARISON_COLUMNS:
                row.setdefault(column, np.nan)
            if test is not None and name in reported:
                r2 = scores[learner, name]
                comparisons = {"r2": r2}
                if name != "baseline":
                    comparisons["gain"] = r2 - scores[learner, "baseline"]
                if learner != "linear" and "linear" in learners:
                    comparisons["versus"] = r2 - scores["linear", name]
                for kind, values in comparisons.items():
                    result = test(values)
                    mean = float(np.mean(values))
                    low, high, p_greater = ((np.nan, np.nan, np.nan) if result is None
                                            else (result.ci_low, result.ci_high, result.p_value_greater))
                    if kind == "r2":
                        row.update(r2_mean=mean, r2_ci_low=low, r2_ci_high=high)
                    elif kind == "gain":
                        row.update(gain_vs_baseline=mean, gain_ci_low=low, gain_ci_high=high,
                                   gain_p_value=p_greater)
                    else:
                        row.update(r2_minus_linear=mean, r2_minus_linear_ci_low=low, r2_minus_linear_ci_high=high,
                                   r2_minus_linear_p_value=np.nan if result is None else two_sided_p(result))
            rows.append(row)
    return rows


def _later_cohort_rows(frame: pd.DataFrame, matrix: np.ndarray, position: dict[str, int], y: np.ndarray,
                       categorical: list[str], sets: dict[str, list[str]], fit_sets: list[str],
                       learners: tuple[str, ...], reported: list[str], estimators: dict[str, str],
                       features_text: dict[str, str], common: dict, problem: str | None,
                       set_notes: dict[str, str], subsampled: str, random_state: int, alpha: float) -> list[dict]:
    """split = 'later_cohorts': each qualifying test cohort scored by models fitted on earlier cohorts.
    matrix: the design as `models.design.as_design_matrix` arrays, `position` its column of each name."""
    cohort_splits = later_cohort_splits(frame)
    splits = cohort_splits.splits
    used = np.unique(np.concatenate([np.concatenate([s.train, s.test]) for s in splits])) if splits else []
    scores = {(learner, name): np.full(len(splits), np.nan) for learner in learners for name in FEATURE_SETS}
    if problem is None:
        with threadpool_limits(limits=1), checked_input():
            for index, split in enumerate(splits):
                for learner in learners:
                    for name in fit_sets:
                        if name not in reported:
                            continue
                        selected = [position[c] for c in categorical + sets[name]]
                        model = make_learner(categorical, sets[name], LEARNERS[learner], random_state,
                                             positional=True)
                        model.fit(matrix[np.ix_(split.train, selected)], y[split.train])
                        predictions = model.predict(matrix[np.ix_(split.test, selected)])
                        scores[learner, name][index] = r2_score(y[split.test], predictions)
    tested = ", ".join(f"{s.cohort} ({len(s.test)} test / {len(s.train)} training accounts)" for s in splits)
    rule = (f"a cohort year is tested if it has >= {MIN_TEST_COHORT_ACCOUNTS} accounts and >= "
            f"{MIN_TRAINING_ACCOUNTS} training accounts from >= {MIN_TRAINING_COHORTS} earlier cohort years")
    training = ("trained on earlier cohorts whose outcome window ended by the test cohort's first "
                "observation_end (embargo: every training outcome known before the test outcomes start)"
                if cohort_splits.embargoed else
                "trained on all earlier cohorts (no embargo: observation_end / outcome_end not available, "
                "so training outcome windows may overlap the test cohort's windows in calendar time)")
    method = (f"held-out R2 on the transformed outcome, forward-chaining by cohort year (calendar time): "
              f"each test cohort {training}, scored on the cohort's accounts; test cohorts: {tested or 'none'}; "
              f"{rule}" + (f"; skipped: {'; '.join(cohort_splits.skipped)}" if cohort_splits.skipped else "")
              + "; intervals and p-values: plain t across test cohorts (gain one-sided, nonlinear - linear "
              "two-sided), approximate (the training sets are nested)" + subsampled)
    no_cohort = None if splits else "no cohort year qualifies as a test cohort: " + rule
    one_cohort = "one test cohort: no interval or p-value" if len(splits) == 1 else None

    def note(name: str) -> str | None:
        return "; ".join(n for n in (problem or no_cohort, set_notes.get(name), one_cohort) if n) or None

    return _comparison_rows(
        "later_cohorts", scores, learners, reported, estimators, features_text,
        {**common, "n_accounts": len(used)}, len(splits), method=lambda learner: method, note=note,
        test=None if problem or not splits else (lambda values: t_across(values, alpha)))


def _importance_rows(learners: tuple[str, ...], groups: list[FeatureGroup], drops: dict[str, np.ndarray],
                     model_blocks: dict[str, tuple[str, ...]], in_all: set[str], frame: pd.DataFrame,
                     common: dict, problem: str | None, n_folds: int, n_repeats: int, n_train: float,
                     n_test: float, alpha: float, folds_text: str) -> list[dict]:
    method = (f"drop in held-out R2 of the 'all' model when the group's columns are permuted jointly "
              f"({n_repeats} permutations per fold), {folds_text}; interval: Nadeau-Bengio corrected t across "
              f"folds of the per-fold mean drop; groups: Spearman average-linkage clusters within each block")
    rows = []
    for learner in learners:
        for index, group in enumerate(groups):
            row = {"learner": learner, "feature_group": group.name, "features": ", ".join(group.columns),
                   "block": group.block, "n_features": len(group.columns), **common, "n_folds": n_folds,
                   "n_repeats": n_repeats, "method": method, "note": problem,
                   "importance_mean": np.nan, "importance_ci_low": np.nan, "importance_ci_high": np.nan}
            if problem is None:
                per_fold = drops[learner][index].mean(axis=1)
                result = corrected_resampled_ttest(per_fold, n_train, n_test, alpha)
                row.update(importance_mean=result.mean_difference, importance_ci_low=result.ci_low,
                           importance_ci_high=result.ci_high)
                if not _varying(frame, group.columns):
                    row["note"] = "the group does not vary: permuting it cannot change a prediction"
            rows.append(row)
        # a hypothesis block left out of the model (it does not vary): one row that says so
        for block in ("alignment", "trust_eroding"):
            columns = model_blocks[block]
            if columns and not any(c in in_all for c in columns):
                rows.append({"learner": learner, "feature_group": block, "features": ", ".join(columns),
                             "block": block, "n_features": len(columns), **common, "n_folds": n_folds,
                             "n_repeats": n_repeats, "method": method,
                             "importance_mean": np.nan, "importance_ci_low": np.nan, "importance_ci_high": np.nan,
                             "note": problem or f"the {block.replace('_', '-')} block does not vary: not in the model"})
    return rows
