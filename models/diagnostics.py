"""Sensitivity, sizes and diagnostics of the cross-sectional adjusted effects (DML rows of hypothesis_tests).

`assess_adjusted_effects` is the one call from `models.hypotheses.run_statistics`. It

* fills, on every effect row, the sizes a reader needs: the treatment's standard deviation, the
  effect per SD with its interval, the minimum detectable effect at 80% power per unit and per SD,
  the Cinelli-Hazlett robustness values and the E-values (`models.sensitivity`);
* benchmarks the primary DML rows against each observed control: the control's partial R^2 with the
  treatment and with the outcome residual, measured by cross-fitting the model without it, and the
  estimate after removing the bias of a hidden confounder as strong as it; the strongest one
  (largest bias) goes on the row (`benchmark_*`);
* returns the long table `main.hypothesis_diagnostics`: overlap (the treatment variation left after
  the controls, by segment and by cohort year), the effect by segment with Cochran's Q test of
  heterogeneity, every benchmark, and the minimum-detectable-effect / power curve by sample size.

The cross-fitting here uses one fold shuffle and no bootstrap (the row's estimate and interval stay
those of `models.hypotheses`); above `BENCHMARK_MAX_ACCOUNTS` analysed accounts it runs on a seeded
random subsample. See docs/statistics.md, section 3b.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from models import sensitivity as sens
from models.features import (
    CATEGORICAL_CONTROLS,
    NUMERIC_CONTROLS,
    OUTCOME_COLUMNS,
    FeatureBlocks,
    build_feature_blocks,
)
from models.design import design_matrix, grouped_folds
from models.estimators import (
    checked_input,
    make_learner,
    make_level_learner,
    out_of_fold_predictions,
    residual_on_residual_ols,
    solve_proportional_moment,
)
from models.hypotheses import HypothesisSpec
from models.inference import EffectEstimate
from models.permutation import subsample
from models.tables import HYPOTHESIS_DIAGNOSTICS
from models.verdicts import add_verdicts, design_of, is_effect_row

DIAGNOSTIC_COLUMNS: tuple[str, ...] = HYPOTHESIS_DIAGNOSTICS.column_names
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "treatment_sd", "estimate_per_sd", "ci_low_per_sd", "ci_high_per_sd", "mde_80", "mde_80_per_sd",
    "robustness_value", "robustness_value_alpha", "e_value", "e_value_ci", "benchmark_control",
    "benchmark_r2_treatment", "benchmark_r2_outcome", "benchmark_adjusted_estimate",
    "benchmark_adjusted_ci_low", "benchmark_adjusted_ci_high",
)
BENCHMARK_MAX_ACCOUNTS = 20_000
MIN_GROUP_ACCOUNTS = 30  # smaller segments / cohorts get a row with a note but no estimate


@dataclass(frozen=True)
class CrossFit:
    """Out-of-fold nuisances of one DML fit on one fold shuffle.

    treatment_residuals: D - m(X). outcome_residuals: what is left of the outcome given D and X on the
    estimator's scale (proportional: Y exp(-theta D) / h(X) - 1; partialling-out: Y - l(X) - theta (D - m(X))).
    """

    estimate: float
    proportional: bool
    outcome: np.ndarray  # proportional: Y / mean(Y); partialling-out: Y - l(X)
    treatment: np.ndarray
    treatment_residuals: np.ndarray
    outcome_hat: np.ndarray  # proportional: h(X); partialling-out: unused (zeros)
    outcome_residuals: np.ndarray

    def effect_on(self, mask: np.ndarray, alpha: float = sens.ALPHA) -> EffectEstimate:
        """The effect on a subgroup, with the full-sample nuisances held fixed (segment is a control, so
        the nuisances already fit each segment's level)."""
        if not self.proportional:
            return residual_on_residual_ols(self.outcome[mask], self.treatment_residuals[mask], alpha)
        return proportional_effect(self.outcome[mask], self.treatment[mask], self.treatment_residuals[mask],
                                   self.outcome_hat[mask], self.estimate, alpha)


def proportional_effect(y: np.ndarray, treatment: np.ndarray, treatment_residuals: np.ndarray,
                        outcome_hat: np.ndarray, start: float, alpha: float = sens.ALPHA) -> EffectEstimate:
    """theta of the proportional moment with fixed nuisances and its sandwich standard error."""
    theta = solve_proportional_moment(y, treatment, treatment_residuals, outcome_hat, start)
    ratio = y * np.exp(-theta * treatment) / outcome_hat
    jacobian = float(np.mean(-treatment * treatment_residuals * ratio))
    n = len(y)
    if jacobian == 0 or n < 2:
        return EffectEstimate(theta, float("nan"), float("nan"), float("nan"), float("nan"))
    std_error = float(np.sqrt(np.mean(((ratio - 1.0) * treatment_residuals) ** 2) / (n * jacobian ** 2) * n / (n - 1)))
    z = sens.z_critical(alpha)
    p_value = float(2 * stats.norm.sf(abs(theta) / std_error)) if std_error > 0 else float("nan")
    return EffectEstimate(theta, std_error, theta - z * std_error, theta + z * std_error, p_value)


def cross_fit(frame: pd.DataFrame, outcome: np.ndarray, treatment: np.ndarray, categorical: list[str],
              numeric: list[str], proportional: bool, kind: str, n_splits: int, random_state: int) -> CrossFit:
    """One cross-fitted DML fit (the estimators of models.hypotheses on one fold shuffle, no bootstrap)."""
    x = design_matrix(frame, categorical, numeric)
    folds = grouped_folds(frame["account_id"].to_numpy(), n_splits, random_state)
    learner = make_learner(categorical, numeric, kind, random_state, positional=True)

    def out_of_fold(model, target: np.ndarray) -> np.ndarray:
        return out_of_fold_predictions(model, x, target, folds)

    with threadpool_limits(limits=1), checked_input():
        treatment_residuals = treatment - out_of_fold(learner, treatment)
        if proportional:
            y = outcome / outcome.mean()
            level_learner = make_level_learner(categorical, numeric, positional=True)
            theta = 0.0
            for _ in range(2):  # as ProportionalEffect: h = E[Y | X], then E[Y exp(-theta_1 D) | X]
                outcome_hat = np.maximum(out_of_fold(level_learner, y * np.exp(-theta * treatment)), 1e-8)
                theta = solve_proportional_moment(y, treatment, treatment_residuals, outcome_hat, theta)
            residuals = y * np.exp(-theta * treatment) / outcome_hat - 1.0
            return CrossFit(theta, True, y, treatment, treatment_residuals, outcome_hat, residuals)
        outcome_residuals = outcome - out_of_fold(learner, outcome)
        theta = float(np.sum(outcome_residuals * treatment_residuals) / np.sum(treatment_residuals ** 2))
        return CrossFit(theta, False, outcome_residuals, treatment, treatment_residuals,
                        np.zeros_like(outcome), outcome_residuals - theta * treatment_residuals)


# --------------------------------------------------------------------------- row-level sizes


def _ratio(log_ratio: float) -> float:
    """exp(log_ratio); a tiny export's interval end beyond exp's range is an infinite ratio, not an error."""
    try:
        return math.exp(log_ratio)
    except OverflowError:
        return math.inf


def _as_float(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def effect_sizes(row: Mapping, treatment_sd: float, alpha: float = sens.ALPHA) -> dict[str, float]:
    """Per-SD effect, minimum detectable effect, robustness values and E-values from a row's own numbers
    (estimate, 95% interval, n_accounts, outcome) and the treatment's standard deviation."""
    estimate, low, high, n_accounts = (_as_float(row.get(k)) for k in ("estimate", "ci_low", "ci_high", "n_accounts"))
    out = {column: np.nan for column in SENSITIVITY_COLUMNS if not column.startswith("benchmark")}
    out["treatment_sd"] = treatment_sd
    if not all(math.isfinite(v) for v in (estimate, low, high)) or not n_accounts > 2:
        return out
    std_error = sens.std_error_from_interval(low, high, alpha)
    t_statistic = estimate / std_error if std_error > 0 else np.nan
    dof = n_accounts - 1  # one parameter on the residuals; the nuisances are cross-fitted
    out.update(
        mde_80=sens.minimum_detectable_effect(std_error, alpha=alpha),
        robustness_value=sens.robustness_value(t_statistic, dof),
        robustness_value_alpha=sens.robustness_value(t_statistic, dof, alpha=alpha),
    )
    if math.isfinite(treatment_sd) and treatment_sd > 0:
        out.update(estimate_per_sd=estimate * treatment_sd, ci_low_per_sd=low * treatment_sd,
                   ci_high_per_sd=high * treatment_sd, mde_80_per_sd=out["mde_80"] * treatment_sd)
        if row.get("outcome", "revenue") == "revenue":  # a ratio of expected revenue: E-values apply
            out.update(e_value=sens.e_value(_ratio(estimate * treatment_sd)),
                       e_value_ci=sens.e_value_of_interval(_ratio(low * treatment_sd), _ratio(high * treatment_sd)))
    return out


# --------------------------------------------------------------------------- data-level diagnostics


def _diagnostic(hypothesis: str, diagnostic: str, group: str, value: float, n_accounts: int,
                ci_low: float = np.nan, ci_high: float = np.nan, note: str | None = None) -> dict:
    return {"hypothesis": hypothesis, "diagnostic": diagnostic, "group_name": group, "value": value,
            "ci_low": ci_low, "ci_high": ci_high, "n_accounts": n_accounts, "note": note}


def overlap_rows(hypothesis: str, frame: pd.DataFrame, fit: CrossFit) -> list[dict]:
    """Treatment residual variance / treatment variance, overall and within each segment and cohort year:
    how much of the treatment the controls leave to identify the effect (0: no comparison possible)."""
    rows = [_diagnostic(hypothesis, "treatment_residual_share", "all",
                        float(np.var(fit.treatment_residuals) / np.var(fit.treatment)), len(frame))]
    for column in ("segment", "cohort_year"):
        if column not in frame:
            continue
        labels = frame[column].astype(object).where(frame[column].notna(), "(missing)").astype(str).to_numpy()
        for label in sorted(set(labels)):
            mask = labels == label
            variance = float(np.var(fit.treatment[mask]))
            share = float(np.var(fit.treatment_residuals[mask]) / variance) if variance > 0 else np.nan
            note = None if variance > 0 else "the treatment does not vary in this group: no overlap"
            rows.append(_diagnostic(hypothesis, "treatment_residual_share", f"{column}={label}", share,
                                    int(mask.sum()), note=note))
    return rows


def segment_effect_rows(hypothesis: str, frame: pd.DataFrame, fit: CrossFit, alpha: float) -> list[dict]:
    """The effect within each segment (nuisances from the full sample) and Cochran's Q across segments."""
    if "segment" not in frame:
        return []
    labels = frame["segment"].astype(object).where(frame["segment"].notna(), "(missing)").astype(str).to_numpy()
    rows, estimates, variances = [], [], []
    for label in sorted(set(labels)):
        mask = labels == label
        if mask.sum() < MIN_GROUP_ACCOUNTS or np.var(fit.treatment[mask]) == 0:
            rows.append(_diagnostic(hypothesis, "effect_by_segment", f"segment={label}", np.nan, int(mask.sum()),
                                    note=f"fewer than {MIN_GROUP_ACCOUNTS} accounts or no treatment variation"))
            continue
        effect = fit.effect_on(mask, alpha)
        rows.append(_diagnostic(hypothesis, "effect_by_segment", f"segment={label}", effect.estimate,
                                int(mask.sum()), effect.ci_low, effect.ci_high))
        if math.isfinite(effect.std_error) and effect.std_error > 0:
            estimates.append(effect.estimate)
            variances.append(effect.std_error ** 2)
    if len(estimates) >= 2:
        q, dof, p_value, i2 = cochran_q(np.array(estimates), np.array(variances))
        note = (f"Cochran's Q over {len(estimates)} segments, {dof} degrees of freedom; p = {p_value:.3g}; "
                f"I^2 = {i2:.2f}")
        rows.append(_diagnostic(hypothesis, "heterogeneity_q", "segment", q, len(frame), note=note))
        rows.append(_diagnostic(hypothesis, "heterogeneity_p_value", "segment", p_value, len(frame), note=note))
    return rows


def cochran_q(estimates: np.ndarray, variances: np.ndarray) -> tuple[float, int, float, float]:
    """(Q, degrees of freedom, p-value, I^2) of k independent estimates with known variances."""
    weights = 1.0 / variances
    pooled = float(np.sum(weights * estimates) / np.sum(weights))
    q = float(np.sum(weights * (estimates - pooled) ** 2))
    dof = len(estimates) - 1
    i2 = max(0.0, (q - dof) / q) if q > 0 else 0.0
    return q, dof, float(stats.chi2.sf(q, dof)), i2


def benchmark_rows(hypothesis: str, row: Mapping, frame: pd.DataFrame, long_fit: CrossFit,
                   refit: Callable[[list[str], list[str]], CrossFit], categorical: list[str],
                   numeric: list[str], alpha: float) -> tuple[list[dict], dict]:
    """Each observed control as a benchmark: its partial R^2 with the treatment (given the other controls)
    and with the outcome residual (given the treatment and the other controls), both from cross-fitting
    without it (DoubleML's `sensitivity_benchmark` measures them the same way); then the row's estimate
    and interval after removing the bias of a hidden confounder as strong as that control. Returns the
    diagnostics rows and the strongest control's row columns."""
    estimate, low, high = (float(row[k]) for k in ("estimate", "ci_low", "ci_high"))
    std_error = sens.std_error_from_interval(low, high, alpha)
    dof = float(row["n_accounts"]) - 1
    rows, strongest, largest_bias = [], {}, -1.0
    for control in categorical + numeric:
        short = refit([c for c in categorical if c != control], [c for c in numeric if c != control])
        r2_treatment = max(0.0, 1 - np.var(long_fit.treatment_residuals) / np.var(short.treatment_residuals))
        r2_outcome = max(0.0, 1 - np.mean(long_fit.outcome_residuals ** 2) / np.mean(short.outcome_residuals ** 2))
        r2_treatment, r2_outcome = min(r2_treatment, 0.999), min(r2_outcome, 0.999)
        n = len(frame)
        rows += [_diagnostic(hypothesis, "benchmark_r2_treatment", control, r2_treatment, n),
                 _diagnostic(hypothesis, "benchmark_r2_outcome", control, r2_outcome, n)]
        if not math.isfinite(std_error):
            continue
        adjusted, adjusted_low, adjusted_high = sens.adjusted_for_confounder(
            estimate, std_error, dof, r2_treatment, r2_outcome, alpha)
        bias = abs(estimate - adjusted)
        rows.append(_diagnostic(hypothesis, "benchmark_adjusted_estimate", control, adjusted, n, adjusted_low,
                                adjusted_high, note=(f"a hidden confounder as strong as {control} (partial R2 "
                                                     f"{r2_treatment:.3f} with the treatment, {r2_outcome:.3f} with "
                                                     f"the outcome residual) moves the estimate by {bias:.4f}")))
        if bias > largest_bias:
            largest_bias = bias
            strongest = {"benchmark_control": control, "benchmark_r2_treatment": r2_treatment,
                         "benchmark_r2_outcome": r2_outcome, "benchmark_adjusted_estimate": adjusted,
                         "benchmark_adjusted_ci_low": adjusted_low, "benchmark_adjusted_ci_high": adjusted_high}
    return rows, strongest


def mde_curve_rows(hypothesis: str, row: Mapping, treatment_sd: float, alpha: float) -> list[dict]:
    """Minimum detectable effect (80% power) per SD and the power to find a RELEVANT_CHANGE_PER_SD change,
    at the analysed number of accounts and at MDE_CURVE_ACCOUNTS, the SE scaled by sqrt(n / N)."""
    low, high = _as_float(row.get("ci_low")), _as_float(row.get("ci_high"))
    n_accounts = _as_float(row.get("n_accounts"))
    if not all(math.isfinite(v) for v in (low, high, treatment_sd, n_accounts)) or n_accounts < 1:
        return []
    n_accounts = int(n_accounts)
    std_error = sens.std_error_from_interval(low, high, alpha) * treatment_sd
    relevant = sens.log_relevant_change()
    note = (f"2.8 x SE rule, SE per SD of the treatment scaled from the {n_accounts} analysed accounts by "
            f"sqrt({n_accounts} / n); power to find a {sens.RELEVANT_CHANGE_PER_SD:.0%} change per SD")
    rows = []
    for size in sorted({n_accounts, *sens.MDE_CURVE_ACCOUNTS}):
        scaled = sens.scaled_std_error(std_error, n_accounts, size)
        rows.append(_diagnostic(hypothesis, "mde_80_per_sd", f"n_accounts={size}",
                                sens.minimum_detectable_effect(scaled, alpha=alpha), size, note=note))
        rows.append(_diagnostic(hypothesis, "power_at_relevant_change", f"n_accounts={size}",
                                sens.power_at(relevant, scaled, alpha), size, note=note))
    return rows


def fill_effect_sizes(results: pd.DataFrame, frame: pd.DataFrame, alpha: float = sens.ALPHA) -> pd.DataFrame:
    """The results with SENSITIVITY_COLUMNS present and, on every effect row (either design) that has no
    robustness value yet, its sizes (`effect_sizes`); the treatment's SD from `frame` (the analysed
    accounts) unless the row brings its own (a within-account design's treatment varies within accounts)."""
    results = results.copy()
    for column in SENSITIVITY_COLUMNS:
        if column not in results:
            results[column] = None if column == "benchmark_control" else np.nan
    results["benchmark_control"] = results["benchmark_control"].astype(object)
    for index, row in enumerate(results.to_dict("records")):
        if not is_effect_row(row) or math.isfinite(_as_float(row.get("robustness_value"))):
            continue
        column = row.get("treatment")
        treatment_sd = _as_float(row.get("treatment_sd"))
        if not math.isfinite(treatment_sd):
            treatment_sd = float(frame[column].astype(float).std(ddof=1)) if column in frame else np.nan
        for key, value in effect_sizes(row, treatment_sd, alpha).items():
            results.iat[index, results.columns.get_loc(key)] = value
    return results


def add_sizes_and_verdicts(tests: pd.DataFrame, features: pd.DataFrame, outcome: str = "revenue",
                           alpha: float = sens.ALPHA) -> pd.DataFrame:
    """For rows added or re-keyed after `run_statistics` (a design applied in models.pipeline_stage): the
    sizes of the effect rows that have none, then every `verdict` and `conclusion` generated again by
    models.verdicts, so that all rows are worded by one set of rules that sees the final layout."""
    blocks = build_feature_blocks(features, outcome)
    return add_verdicts(fill_effect_sizes(tests, blocks.frame, alpha))


def assess_adjusted_effects(results: pd.DataFrame, blocks: FeatureBlocks,
                            samples: Mapping[str, tuple[HypothesisSpec, pd.DataFrame, np.ndarray]], *,
                            learner: str = "spline_ridge", n_splits: int = 5, random_state: int = 0,
                            alpha: float = sens.ALPHA, benchmark: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The results with SENSITIVITY_COLUMNS filled, and the rows of main.hypothesis_diagnostics.

    samples: per primary hypothesis key, its spec, analysis frame and transformed outcome, as
    `models.hypotheses._adjusted_effect_row` receives them (accounts with an unrecorded control are
    dropped here, as there). Every effect row gets its sizes (the treatment's SD among the analysed
    accounts, `blocks.frame`); the primary rows also get overlap, segment effects, the MDE curve and,
    with benchmark=True, the benchmarks (2 + 2 x controls cross-fitted nuisances per hypothesis)."""
    results = fill_effect_sizes(results, blocks.frame, alpha)
    records = results.to_dict("records")
    is_effect = np.array([is_effect_row(row) for row in records], dtype=bool)
    # the benchmarks are for the cross-sectional DML rows: '<hypothesis>', or '<hypothesis>:cross_sectional'
    # where a within-account row is primary
    is_cross_sectional = np.array([design_of(row) == "cross_sectional" for row in records], dtype=bool)
    diagnostics: list[dict] = []
    proportional = blocks.outcome == "revenue"
    for key, (spec, frame, y) in samples.items():
        keys = results["hypothesis"].isin([key, f"{key}:cross_sectional"]).to_numpy()
        matches = np.flatnonzero(keys & is_effect & is_cross_sectional)
        if len(matches) != 1 or not math.isfinite(float(results.iloc[matches[0]]["estimate"])):
            continue
        index = matches[0]
        row = results.iloc[index].to_dict()
        key = row["hypothesis"]  # the diagnostics carry the key of the row they describe
        categorical, numeric = list(CATEGORICAL_CONTROLS), list(NUMERIC_CONTROLS + spec.extra_controls)
        known = frame[categorical + numeric].notna().all(axis=1).to_numpy()
        used = np.flatnonzero(known)[subsample(int(known.sum()), BENCHMARK_MAX_ACCOUNTS, random_state)]
        frame = frame.iloc[used].reset_index(drop=True)
        outcome = frame[OUTCOME_COLUMNS["revenue"]].to_numpy(dtype=float) if proportional else y[used]
        treatment = frame[spec.treatment].to_numpy(dtype=float)

        def refit(cat: list[str], num: list[str]) -> CrossFit:
            return cross_fit(frame, outcome, treatment, cat, num, proportional, learner, n_splits, random_state)

        long_fit = refit(categorical, numeric)
        diagnostics += overlap_rows(key, frame, long_fit)
        diagnostics += segment_effect_rows(key, frame, long_fit, alpha)
        diagnostics += mde_curve_rows(key, row, float(row["treatment_sd"]), alpha)
        if benchmark:
            rows, strongest = benchmark_rows(key, row, frame, long_fit, refit, categorical, numeric, alpha)
            diagnostics += rows
            for name, value in strongest.items():
                results.iat[index, results.columns.get_loc(name)] = value
    return results, diagnostics_table(diagnostics)


def diagnostics_table(rows: list[dict]) -> pd.DataFrame:
    """The rows of main.hypothesis_diagnostics as a frame of its columns and types (none: empty)."""
    table = pd.DataFrame(rows, columns=list(DIAGNOSTIC_COLUMNS))
    return table.astype({"value": float, "ci_low": float, "ci_high": float, "n_accounts": "int64"})


def study_size(worlds_by_size: pd.Series) -> float:
    """The calibration study's main world size: the one with the most worlds, the larger on a tie.
    `worlds_by_size`: worlds per `accounts_per_world` (index: size)."""
    return max(worlds_by_size.index, key=lambda size: (worlds_by_size[size], size))


def calibration_power_curve(runs: pd.DataFrame, sizes: tuple[int, ...] = sens.MDE_CURVE_ACCOUNTS,
                            alpha: float = sens.ALPHA, test: str = "adjusted_effect") -> pd.DataFrame:
    """Power of each hypothesis's `test` (default the primary adjusted effect) by number of accounts per
    world, from the calibration study's planted worlds (`models.calibration`: one row per world x test,
    `accounts_per_world`), beside the 2.8 x SE rule.

    Rows with source 'measured': per studied size, the rate of p < alpha (95% Wilson interval) and the
    2.8 x SE rule's MDE from the median SE of the worlds (from their 95% intervals). Rows with source
    'sqrt_rule': at each of `sizes`, the normal-theory power at the planted effect and the MDE, the SE of
    the reference size (the size with the most planted worlds, the larger on a tie) scaled by
    sqrt(n_reference / n), so a measured size other than the reference tests the rule.
    Columns: hypothesis, accounts, source, truth, worlds, power, power_ci_low, power_ci_high, mde_80."""
    planted = runs[(runs["world"].astype(str) == "planted") & (runs["test"] == test)
                   & runs["estimate"].notna()]
    rows = []
    for (hypothesis, accounts), group in planted.groupby(["hypothesis", "accounts_per_world"]):
        hits = int((group["p_value"] < alpha).sum())
        interval = stats.binomtest(hits, len(group)).proportion_ci(method="wilson")
        std_error = float(np.median(sens.std_error_from_interval(group["ci_low"], group["ci_high"], alpha)))
        rows.append({"hypothesis": hypothesis, "accounts": int(accounts), "source": "measured",
                     "truth": float(group["truth"].iloc[0]), "worlds": len(group), "power": hits / len(group),
                     "power_ci_low": interval.low, "power_ci_high": interval.high,
                     "mde_80": sens.minimum_detectable_effect(std_error, alpha=alpha), "std_error": std_error})
    measured = pd.DataFrame(rows)
    if measured.empty:
        return measured
    scaled = []
    for _, group in measured.groupby("hypothesis"):
        by_size = group.set_index("accounts")
        reference = by_size.loc[study_size(by_size["worlds"])]
        reference = {**reference.to_dict(), "accounts": int(reference.name)}
        for size in sizes:
            std_error = sens.scaled_std_error(reference["std_error"], reference["accounts"], size)
            scaled.append({"hypothesis": reference["hypothesis"], "accounts": size, "source": "sqrt_rule",
                           "truth": reference["truth"], "worlds": reference["worlds"],
                           "power": sens.power_at(reference["truth"], std_error, alpha),
                           "power_ci_low": np.nan, "power_ci_high": np.nan,
                           "mde_80": sens.minimum_detectable_effect(std_error, alpha=alpha)})
    return pd.concat([measured.drop(columns="std_error"), pd.DataFrame(scaled)], ignore_index=True)
