"""Hypothesis tests: does early strategic alignment (H1) raise, and do trust-eroding
negotiation events (H2) lower, an account's later value?

Two questions per hypothesis, answered on the same uncensored accounts:

* adjusted effect: double machine learning with cross-fitting on account-grouped folds
  (Chernozhukov et al. 2018). For revenue (default) a proportional effect in levels, zeros
  included: the multiplicative partially linear model E[Y | D, X] = exp(theta D) h(X),
  solved from a Neyman-orthogonal moment (`ProportionalEffect`). For the other outcomes
  Robinson's partialling-out: outcome and treatment residualised on the controls, OLS
  slope of residual on residual, HC1 standard error (`PartiallingOutEffect`).
  Its `supported` is decided with its verdict (`models.verdicts.add_verdicts`): a comparison between
  accounts reads as an association, never as support.
* predictive value: out-of-fold R^2 of baseline vs baseline + the hypothesis's block
  on identical grouped folds (repeated), tested with the Nadeau-Bengio corrected
  resampled t-test (one-sided: the block adds R^2).

Per trust-eroding event type the adjusted effect is estimated too, with Holm's
correction across the types. See docs/statistics.md for estimands and units.
"""

from __future__ import annotations
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.design import (
    MIN_ACCOUNTS_PER_FOLD,
    OTHER_TRUST_ERODING,
    DEFAULT_REPEATS,
    SINGLE_REPEAT_ABOVE_ACCOUNTS,
    analysis_sample,
    design_frame,
    design_matrix,
    grouped_folds,
)
from models.estimators import (
    BOOTSTRAP_DRAWS,
    LearnerKind,
    PartiallingOutEffect,
    ProportionalEffect,
    checked_input,
    make_learner,
    make_level_learner,
    naive_proportional_slope,
    naive_slope,
    nested_r2_differences,
    reuse_out_of_fold,
)
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
from models.inference import corrected_resampled_ttest, holm_adjust
from models.permutation import basis_matrix, block_permutation_test, subsample
from models.strata import permutation_within_strata, stratum_codes
from models.tables import HYPOTHESIS_TESTS, PERMUTATION_NULL
from models.verdicts import add_verdicts

OUTCOME_UNITS: dict[str, str] = {
    "revenue": ("log of expected outcome-window revenue (a proportional effect, zeros included; "
                "100*(exp(x)-1) = % change)"),
    "gross_margin": "sign(m)*log(1 + |m|) of outcome-window gross margin m",
    "any_revenue": "probability of any outcome-window revenue",
}

RESULT_COLUMNS: tuple[str, ...] = HYPOTHESIS_TESTS.column_names
PERMUTATION_NULL_COLUMNS: tuple[str, ...] = PERMUTATION_NULL.column_names
DEFAULT_PERMUTATIONS = 199
# The block permutation test refits the full model n_permutations x n_splits times: above this many
# accounts it runs on a seeded random subsample (its n_accounts says how many).
PERMUTATION_MAX_ACCOUNTS = 20_000


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
    x = design_matrix(frame, categorical, numeric)
    learner = make_learner(categorical, numeric, kind, random_state, positional=True)
    groups = frame["account_id"].to_numpy()
    if level_outcome is not None:
        with checked_input():
            fitted = ProportionalEffect(make_level_learner(categorical, numeric, positional=True), learner, n_splits,
                                        random_state, alpha, n_repeats).fit(x, level_outcome, treatment, groups=groups)
        naive = naive_proportional_slope(level_outcome, treatment)
    else:
        with checked_input():
            fitted = PartiallingOutEffect(learner, learner, n_splits, random_state, alpha, n_repeats).fit(
                x, y, treatment, groups=groups)
        naive = naive_slope(y, treatment)
    effect = fitted.effect_
    return {
        **row, "estimate": effect.estimate, "ci_low": effect.ci_low, "ci_high": effect.ci_high,
        "bootstrap_ci_low": effect.bootstrap_ci_low, "bootstrap_ci_high": effect.bootstrap_ci_high,
        "p_value": effect.p_value, "naive_estimate": naive,
        "treatment_residual_share": fitted.treatment_residual_share_,
        # decided with the verdict (models.verdicts.add_verdicts)
        "supported": False, "note": missing_note,
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


@dataclass(frozen=True)
class StatisticsResults:
    tests: pd.DataFrame  # one row per hypothesis key (RESULT_COLUMNS), the rows of main.hypothesis_tests
    permutation_null: pd.DataFrame  # PERMUTATION_NULL_COLUMNS: the block permutation null distributions
    diagnostics: pd.DataFrame  # models.diagnostics.DIAGNOSTIC_COLUMNS: the rows of main.hypothesis_diagnostics


@reuse_out_of_fold()  # nuisances fitted twice with identical inputs are fitted once
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
    type_rows: Callable[[], list[dict] | None] | None = None,
) -> StatisticsResults:
    """Test H1 and H2 on the rows of analytics.ml_account_features.

    Per primary hypothesis (H1_strategic_alignment, H2_trust_eroding_events) the rows are, by `test`:
    'adjusted_effect' (DML; two-sided p-value; `supported` false: a cross-sectional association),
    'predictive_value' (R^2 gain, corrected resampled t-test), 'placebo' (the same estimator on the
    treatment permuted within segment x cohort-year strata: must find nothing; `supported` is
    always false) and 'block_permutation' (the R^2 gain against its null with the block permuted
    within strata; n_permutations = 0 skips it). Per event type an 'adjusted_effect' row with
    Holm-adjusted p-values (their verdicts use them).
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
    type_rows: called once the primary hypotheses' tests and diagnostics are done, it returns the
    per-event-type rows computed elsewhere (`event_type_rows` with the same arguments: they need nothing
    else this computes, so the pipeline's second process may compute them meanwhile) or None, and then
    they are computed here, as without it.
    """
    blocks = build_feature_blocks(features, outcome)
    n_repeats = _repeats(n_repeats, blocks)
    primary_specs, type_specs, not_run_rows = _specs_to_run(blocks, outcome, test_event_types, not_run)
    primary_rows = _run_specs(primary_specs, blocks, learner, n_splits, n_repeats, random_state, alpha)
    extra_rows, null_frames = [], []
    for spec in primary_specs:
        frame, y, n_excluded = analysis_sample(spec, blocks)
        if placebo:
            extra_rows.append(_placebo_row(spec, frame, y, n_excluded, blocks.outcome, learner, n_splits, n_repeats,
                                           random_state, alpha))
        if n_permutations > 0 and spec.predictive_block:
            row, null = _block_permutation_row(spec, frame, y, n_excluded, n_splits, n_permutations,
                                               permutation_max_accounts, random_state, alpha)
            extra_rows.append(row)
            null_frames.append(null)
    # Sensitivity, honest sizes and diagnostics of the effects: one separate stage (models.diagnostics),
    # imported here because it builds on this module's learners.
    from models.diagnostics import assess_adjusted_effects, diagnostics_table, fill_effect_sizes
    samples = {spec.hypothesis: (spec, *analysis_sample(spec, blocks)[:2]) for spec in primary_specs}
    diagnostics = diagnostics_table([])
    parts = []
    if primary_rows:
        primary = _with_run_columns(pd.DataFrame(primary_rows + extra_rows), blocks, outcome, random_state)
        primary, diagnostics = assess_adjusted_effects(primary, blocks, samples, learner=learner,
                                                       n_splits=n_splits, random_state=random_state, alpha=alpha,
                                                       benchmark=sensitivity)
        parts = [primary.iloc[:len(primary_rows)], primary.iloc[len(primary_rows):]]
    # the per-type rows (only now: they may come from the other process) and the 'not run' rows, in the
    # table's row order: primary rows, per-type rows, 'not run' rows, the primaries' extra tests
    per_type = type_rows() if type_rows is not None else None
    if per_type is None:
        per_type = _run_specs(type_specs, blocks, learner, n_splits, n_repeats, random_state, alpha)
    if per_type or not_run_rows:
        parts.insert(1, _with_run_columns(pd.DataFrame(per_type + not_run_rows), blocks, outcome, random_state))
    results = pd.concat([part for part in parts if len(part)], ignore_index=True)
    _raise_on_repeated_keys(results["hypothesis"])
    results = add_verdicts(fill_effect_sizes(_apply_holm_to_event_types(results), blocks.frame, alpha))
    null_frame = (pd.concat(null_frames, ignore_index=True) if null_frames
                  else pd.DataFrame({c: pd.Series(dtype=float) for c in PERMUTATION_NULL_COLUMNS}))
    return StatisticsResults(results.loc[:, list(RESULT_COLUMNS)], null_frame.loc[:, list(PERMUTATION_NULL_COLUMNS)],
                             diagnostics)


@reuse_out_of_fold()  # each event type's outcome and treatment cross-fits share their folds' preprocessing
def event_type_rows(
    features: pd.DataFrame,
    random_state: int = 0,
    n_splits: int = 5,
    *,
    n_repeats: int | None = None,
    outcome: Outcome = "revenue",
    learner: LearnerKind = "spline_ridge",
    alpha: float = 0.05,
    not_run: Mapping[str, str] | None = None,
    part: tuple[int, int] = (0, 1),
) -> list[dict]:
    """The per-event-type 'adjusted_effect' rows of `run_statistics` with the same arguments, before Holm's
    adjustment (its `type_rows`). part=(i, k): only the i-th of k consecutive, near-equal slices of the
    event types (possibly none), so that two processes can share them; the k parts' rows, in order,
    are the rows of part (0, 1)."""
    blocks = build_feature_blocks(features, outcome)
    _, type_specs, _ = _specs_to_run(blocks, outcome, True, not_run)
    index, count = part
    bounds = [len(type_specs) * i // count for i in range(count + 1)]
    return _run_specs(type_specs[bounds[index]:bounds[index + 1]], blocks, learner, n_splits,
                      _repeats(n_repeats, blocks), random_state, alpha)


def _repeats(n_repeats: int | None, blocks: FeatureBlocks) -> int:
    """How many fold shuffles: as asked, else DEFAULT_REPEATS, or 1 above SINGLE_REPEAT_ABOVE_ACCOUNTS accounts."""
    if n_repeats is not None:
        return n_repeats
    return DEFAULT_REPEATS if len(blocks.frame) <= SINGLE_REPEAT_ABOVE_ACCOUNTS else 1


def _specs_to_run(blocks: FeatureBlocks, outcome: Outcome, test_event_types: bool, not_run: Mapping[str, str] | None
                  ) -> tuple[list[HypothesisSpec], list[HypothesisSpec], list[dict]]:
    """(primary specs, per-event-type specs, 'not run' rows) of the hypotheses whose input is there."""
    specs = hypothesis_specs(blocks, OUTCOME_UNITS[outcome])
    if not test_event_types:
        specs = [s for s in specs if ":" not in s.hypothesis]
    specs, not_run_rows = split_not_run(specs, not_run or {})
    return ([s for s in specs if ":" not in s.hypothesis], [s for s in specs if ":" in s.hypothesis],
            not_run_rows)


def _with_run_columns(results: pd.DataFrame, blocks: FeatureBlocks, outcome: Outcome, random_state: int
                      ) -> pd.DataFrame:
    """The rows with their table keys and the columns every row of a run shares."""
    results = results.copy()
    results["hypothesis"] = unique_hypothesis_keys(results["hypothesis"], results["test"])
    results["n_excluded_censored"] = blocks.n_excluded_censored
    results["n_excluded_not_customer"] = blocks.n_excluded_not_customer
    results["outcome"] = outcome
    results["outcome_months"] = outcome_window_months(blocks.frame)
    results["random_state"] = random_state
    results["observation_months"] = observation_window_months(blocks.frame)
    if "n_permutations" not in results:
        results["n_permutations"] = np.nan
    return results


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
    _raise_on_repeated_keys(keys)
    return keys


def _raise_on_repeated_keys(keys: pd.Series) -> None:
    if keys.duplicated().any():
        raise ValueError(f"hypothesis keys repeat: {sorted(keys[keys.duplicated()])}")


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
        frame, y, n_excluded = analysis_sample(spec, blocks)
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


def _apply_holm_to_event_types(results: pd.DataFrame) -> pd.DataFrame:
    results = results.copy()
    is_type_row = (results["hypothesis"].str.contains(":", regex=False)
                   & (results["test"] == "adjusted_effect")).to_numpy()
    if not is_type_row.any():
        return results
    adjusted = holm_adjust(results.loc[is_type_row, "p_value"].to_numpy())
    results.loc[is_type_row, "p_value_holm"] = adjusted
    results.loc[is_type_row, "method"] = results.loc[is_type_row, "method"] + "; Holm across event types"
    return results
