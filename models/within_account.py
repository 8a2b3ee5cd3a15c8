"""Within-account before/after design: the primary test of H1 and H2 (docs/statistics.md, section 3a).

The cross-sectional DML of `models.hypotheses` compares accounts with each other and removes only
the confounding its controls record. A trait that is not recorded but stays with the account (its
health, its AE's skill, the buyer's culture) biases it, in any amount. Here every account is compared
with itself: revenue after the treatment against its own revenue before, and that change against the
change of comparable accounts over the same calendar months (a stacked difference-in-differences,
Cengiz et al. 2019, estimated as a Poisson pseudo-likelihood ratio-in-ratios, Wooldridge 2023). A
time-invariant trait that multiplies revenue cancels in each account's after/before ratio.

- H1: stack = calendar month of the account's observation_end (accounts at the same tenure in the same
  month). before = revenue in the observation window's second half (months 7-12 of tenure), after =
  the outcome window (months 13-24); treatment = mean alignment of the window's deals (a dose).
- H2: stack = calendar month e of one isolated trust-eroding event (`analytics.ml_event_windows`);
  comparisons: accounts with no trust-eroding event in the same 2k + 1 months; before = [e - k, e),
  after = [e + 1, e + k].

Model, per design: E[after_i / before_i] = exp(theta D_i + cell_i + controls_i'beta), fitted by Poisson
pseudo-likelihood (Newton), covariance clustered by account (an account is a comparison in many
stacks), each residual leverage-adjusted (HC3-type) first. exp(theta) is the ratio of the treated accounts' expected after/before ratio to the
comparisons' in the same stack; with a constant multiplicative effect it is the effect itself.

Negative controls (rows `<hypothesis>:pre_trend` and `<hypothesis>:future_treatment`):
- pre_trend: the same design one window earlier (H1: second half against the first half of the
  observation window; H2: [e - k, e) against [e - 2k, e - k)); revenue must not already move. A
  rejection makes the primary result untrustworthy: `supported` is then false and the verdict says so.
- future_treatment: the cross-sectional design (`models.hypotheses`, same controls and estimator) with
  the treatment replaced by the same treatment measured AFTER the outcome window (trust-eroding
  events, mean alignment of deals created there), on accounts still customers when it begins, the
  early (real) treatment added to the controls.
  Nothing after the outcome can cause it: a rejection means the cross-sectional comparison is
  confounded (its row is flagged), as an unrecorded account trait makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from dealscope.ingest.sql import literal
from dealscope.warehouse import table_exists
from models.features import build_feature_blocks, query_frame
from models.hypotheses import _adjusted_effect_row, hypothesis_specs
from models.verdicts import add_verdicts

ALPHA = 0.05
PRIMARY = ("H1_strategic_alignment", "H2_trust_eroding_events")
DIRECTIONS = {"H1_strategic_alignment": 1, "H2_trust_eroding_events": -1}
TREATMENTS = {"H1_strategic_alignment": "mean_alignment", "H2_trust_eroding_events": "trust_eroding_event"}
FUTURE_TREATMENTS = {"H1_strategic_alignment": "mean_alignment_future",
                     "H2_trust_eroding_events": "n_trust_eroding_events_future"}
EVENT_WINDOWS_TABLE = "analytics.ml_event_windows"
CATEGORICAL_CONTROLS = ("segment",)
# ml_account_features columns the H1 design and the future-treatment controls read
H1_COLUMNS = ("is_customer", "is_outcome_observed", "observation_end", "outcome_end", "outcome_revenue",
              "mean_alignment", "log_employee_count", "segment", "n_trust_eroding_events",
              "revenue_observation_first_half",
              "revenue_observation_second_half", "active_months_observation_first_half",
              "active_months_observation_second_half", "months_observation_first_half",
              "months_observation_second_half")
FUTURE_COLUMNS = ("is_future_observed", "is_active_at_outcome_end", *FUTURE_TREATMENTS.values())
# H1's controls besides the stack and segment, all measured before the outcome window. A trait that
# multiplies revenue cancels in the after/before ratio, but one that also changes its trend does not
# (an account in good health suffers fewer trust-eroding events later, each lowering revenue): the
# account's revenue level in the "before" window and its trust-eroding events in the observation window
# stand in for it. In the health stress world they took the planted H1's bias from +0.057 to +0.004
# (100 worlds, docs/statistics.md 5b) and left the null worlds' false-positive rate as it was.
H1_CONTROLS = ("log_employee_count", "log_revenue_before", "n_trust_eroding_events")
# analytics.ml_event_windows columns H2's design reads
H2_COLUMNS = ("account_id", "event_month", "is_treated", "segment", "log_employee_count", "tenure_months",
              "revenue_before", "revenue_after", "revenue_lead")
MIN_TREATED = 10
MIN_ROWS = 40


@dataclass(frozen=True)
class PanelEffect:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_rows: int
    n_accounts: int
    n_treated: int
    n_cells: int
    naive_estimate: float


def poisson_fit(y: np.ndarray, x: np.ndarray, clusters: np.ndarray, cells: np.ndarray | pd.Series | None = None,
                max_iter: int = 100, tol: float = 1e-10,
                leverage_adjusted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Poisson pseudo-maximum likelihood (log link, any non-negative y) of y on x's columns plus one fixed
    effect per cell (`cells`: one label per row; None: a single cell, i.e. an intercept), by Newton's method,
    with the cluster-robust sandwich covariance (small-sample factor G / (G - 1)) of x's coefficients.
    Returns (beta, covariance) for x's columns. leverage_adjusted: each residual divided by (1 - h_ii)
    first (an HC3-type correction, the full design's row leverages, cell effects included).

    The cell effects are absorbed, not dummy-coded. Given beta each has a closed form (a cell's fitted
    means sum to its outcomes), and the likelihood profiled over them has the gradient and Hessian of x
    centred on its mu-weighted cell means; the same centring gives the cell-effect-free blocks of the
    sandwich and the leverages (h_ii = mu_i / cell's sum of mu + the centred x's leverage). So the fit
    holds n x p numbers instead of n x (p + cells): with 48 stacks and 5.9M stacked rows the dummy-coded
    matrix alone was 2.5 GB, and each product with it another copy. Same estimates and covariance as the
    dummy-coded fit (tests/test_models_within_account.py)."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    n_rows, n_columns = x.shape
    codes = (np.zeros(n_rows, dtype=np.intp) if cells is None
             else pd.factorize(pd.Series(np.asarray(cells)), use_na_sentinel=False)[0])
    n_cells = int(codes.max()) + 1 if n_rows else 0
    cell_total = np.bincount(codes, y, n_cells)
    observed = cell_total > 0
    total_log_total = float(np.sum(cell_total[observed] * np.log(cell_total[observed])))

    def profile(beta: np.ndarray) -> tuple[np.ndarray, float]:
        # each cell's effect at its optimum given beta: exp(alpha_c) = cell total / sum of exp(x'beta) in c
        eta = np.clip(x @ beta, -50, 50)
        weight = np.exp(eta)
        cell_weight = np.bincount(codes, weight, n_cells)
        mu = weight * np.divide(cell_total, cell_weight, out=np.zeros(n_cells), where=observed)[codes]
        log_likelihood = float(y @ eta) + total_log_total - float(cell_total[observed] @ np.log(cell_weight[observed]))
        return mu, log_likelihood - float(cell_total.sum())

    def centred(mu: np.ndarray) -> np.ndarray:
        # a cell's fitted means sum to its outcome total, so that total weights its mean of x
        sums = np.column_stack([np.bincount(codes, mu * x[:, j], n_cells) for j in range(n_columns)])
        means = np.divide(sums, cell_total[:, None], out=np.zeros_like(sums), where=observed[:, None])
        return x - means[codes]

    beta = np.zeros(n_columns)
    mu, current = profile(beta)
    for _ in range(max_iter):
        x_centred = centred(mu)
        gradient = x.T @ (y - mu)
        hessian = x_centred.T @ (x_centred * mu[:, None])
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        # halve the step until the likelihood does not fall (Newton can overshoot from the start)
        for _ in range(30):
            candidate_mu, candidate = profile(beta + step)
            if candidate >= current - 1e-12 * max(1.0, abs(current)):
                break
            step = step / 2
        beta, mu, current = beta + step, candidate_mu, candidate
        if np.max(np.abs(step), initial=0.0) < tol:
            break
    x_centred = centred(mu)
    bread = np.linalg.pinv(x_centred.T @ (x_centred * mu[:, None]))
    residual = y - mu
    if leverage_adjusted:
        cell_share = mu * np.divide(1.0, cell_total, out=np.zeros(n_cells), where=observed)[codes]
        leverage = cell_share + mu * np.einsum("ij,ij->i", x_centred @ bread, x_centred)
        residual = residual / np.clip(1.0 - leverage, 0.05, None)
    cluster_codes, groups = pd.factorize(pd.Series(clusters))
    n_clusters = len(groups)
    scores = np.column_stack([np.bincount(cluster_codes, x_centred[:, j] * residual, n_clusters)
                              for j in range(n_columns)])
    meat = scores.T @ scores * (n_clusters / max(n_clusters - 1, 1))
    return beta, bread @ meat @ bread


def _design_matrix(frame: pd.DataFrame, treatment: np.ndarray, numeric: tuple[str, ...]) -> np.ndarray:
    """[D, segment dummies (first dropped), standardised numeric controls]; the stacks are absorbed
    by `poisson_fit`, and with them the intercept."""
    parts = [treatment[:, None]]
    for column in CATEGORICAL_CONTROLS:
        dummies = pd.get_dummies(frame[column].astype(str), drop_first=True, dtype=float).to_numpy()
        if dummies.size:
            parts.append(dummies)
    for column in numeric:
        values = frame[column].to_numpy(dtype=float)
        spread = values.std()
        parts.append(((values - values.mean()) / (spread if spread > 0 else 1.0))[:, None])
    return np.hstack(parts)


def ratio_in_ratios(ratio: np.ndarray, treatment: np.ndarray, cell: pd.Series, frame: pd.DataFrame,
                    clusters: np.ndarray, numeric: tuple[str, ...] = (), alpha: float = ALPHA) -> PanelEffect:
    """theta of E[ratio | D, cell, X] = exp(theta D + cell + X'beta), clustered SE, normal interval.

    Cells without variation in D carry no comparison and are dropped first."""
    cell_codes = pd.factorize(pd.Series(np.asarray(cell)), use_na_sentinel=False)[0]
    by_cell = pd.Series(treatment).groupby(cell_codes)
    keep = (by_cell.transform("max") > by_cell.transform("min")).to_numpy()
    n_treated = int((treatment[keep] != 0).sum())
    if keep.sum() < MIN_ROWS or n_treated < MIN_TREATED:
        raise ValueError(f"too few comparisons ({keep.sum()} rows, {n_treated} treated) for the within-account design")
    ratio, treatment, cell_codes, clusters = ratio[keep], treatment[keep], cell_codes[keep], np.asarray(clusters)[keep]
    # only the controls' columns are copied: the event windows' frame has millions of rows
    x = _design_matrix(frame.loc[keep, [*CATEGORICAL_CONTROLS, *numeric]].reset_index(drop=True), treatment, numeric)
    # leverage-adjusted: the plain sandwich under-covered H1 (60 generator worlds: 9 of 60 two-sided
    # rejections at 5%; 5 of 60 adjusted), the stacks' fixed effects leaving a few rows with high leverage
    beta, covariance = poisson_fit(ratio, x, clusters, cell_codes, leverage_adjusted=True)
    naive, _ = poisson_fit(ratio, treatment[:, None], clusters)
    se = float(np.sqrt(max(covariance[0, 0], 0.0)))
    z = stats.norm.ppf(1 - alpha / 2)
    estimate = float(beta[0])
    p_value = float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else float("nan")
    return PanelEffect(estimate, se, estimate - z * se, estimate + z * se, p_value, len(ratio),
                       int(pd.Series(clusters).nunique()), n_treated, int(np.unique(cell_codes).size), float(naive[0]))


# ------------------------------------------------------------------------------------ designs

def _months(start: pd.Series, end: pd.Series) -> np.ndarray:
    start, end = pd.to_datetime(start), pd.to_datetime(end)
    return ((end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)).to_numpy(dtype=float)


def h1_design(features: pd.DataFrame, pre_trend: bool = False) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Accounts for H1's within-account comparison and each account's after/before ratio of monthly
    revenue; returns (rows, ratio, accounts left out for a missing treatment or control)."""
    frame = features[features["is_customer"].astype(bool) & features["is_outcome_observed"].astype(bool)]
    active_before = frame["active_months_observation_second_half"] == frame["months_observation_second_half"]
    keep = active_before & (frame["months_observation_second_half"] > 0)
    if pre_trend:
        keep &= (frame["active_months_observation_first_half"] == frame["months_observation_first_half"]) & (
            frame["months_observation_first_half"] > 0)
    frame = frame[keep]
    usable = frame["mean_alignment"].notna() & frame["log_employee_count"].notna()
    left_out = int((~usable).sum())
    frame = frame[usable].reset_index(drop=True)
    second = frame["revenue_observation_second_half"].to_numpy(float) / frame["months_observation_second_half"].to_numpy(float)
    if pre_trend:
        first = frame["revenue_observation_first_half"].to_numpy(float) / frame["months_observation_first_half"].to_numpy(float)
        ratio, before = second / first, first
    else:
        outcome_months = _months(frame["observation_end"], frame["outcome_end"])
        ratio, before = frame["outcome_revenue"].to_numpy(float) / outcome_months / second, second
    # every month of the before window is active (has revenue), so its level is positive
    frame = frame.assign(log_revenue_before=np.log(before))
    return frame, ratio, left_out


def h2_design(windows: pd.DataFrame, pre_trend: bool = False) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Rows of analytics.ml_event_windows for H2's stacked comparison and their after/before ratios."""
    rows = windows["is_lead_clean"].astype(bool) if pre_trend else pd.Series(True, index=windows.index)
    usable = windows["log_employee_count"].notna()
    left_out = int(windows.loc[rows & ~usable, "account_id"].nunique())
    # only the columns the design reads: the windows have millions of rows at a million accounts
    frame = windows.loc[rows & usable, list(H2_COLUMNS)].reset_index(drop=True)
    if pre_trend:
        ratio = frame["revenue_before"].to_numpy(float) / frame["revenue_lead"].to_numpy(float)
    else:
        ratio = frame["revenue_after"].to_numpy(float) / frame["revenue_before"].to_numpy(float)
    return frame, ratio, left_out


def _panel_row(hypothesis: str, test: str, frame: pd.DataFrame, ratio: np.ndarray, left_out: int,
               cell: pd.Series, treatment: np.ndarray, numeric: tuple[str, ...], method: str, unit: str,
               alpha: float, random_state: int) -> dict:
    row = {"hypothesis": hypothesis, "test": test, "feature_block": "alignment" if hypothesis.startswith("H1") else "trust",
           "treatment": TREATMENTS[hypothesis.split(":")[0]],
           "direction": "positive" if DIRECTIONS[hypothesis.split(":")[0]] > 0 else "negative",
           "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "bootstrap_ci_low": np.nan,
           "bootstrap_ci_high": np.nan, "p_value": np.nan, "p_value_holm": np.nan, "n_accounts": 0,
           "n_excluded_other": left_out, "method": method, "unit": unit, "supported": False,
           "naive_estimate": np.nan, "treatment_residual_share": np.nan, "n_permutations": np.nan,
           "random_state": random_state, "note": ""}
    try:
        effect = ratio_in_ratios(ratio, treatment, cell, frame, frame["account_id"].to_numpy(), numeric, alpha)
    except (ValueError, np.linalg.LinAlgError) as error:
        return {**row, "note": str(error)}
    note = (f"{effect.n_rows} comparisons in {effect.n_cells} calendar-month stacks, {effect.n_treated} treated"
            + (f"; {left_out} accounts without a recorded treatment or control left out" if left_out else ""))
    return {**row, "estimate": effect.estimate, "ci_low": effect.ci_low, "ci_high": effect.ci_high,
            "p_value": effect.p_value, "n_accounts": effect.n_accounts, "naive_estimate": effect.naive_estimate,
            "note": note}


H1_UNIT = ("log of the ratio of revenue after to revenue before (each account against itself), per 1.0 of mean "
           "alignment score of the observation window's deals")
H2_UNIT = ("log of the ratio of revenue in the {k} months after to the {k} months before, for one trust-eroding "
           "event (no other within the window) against none")


def _missing_input_row(key: str, test: str, note: str, alpha: float, random_state: int) -> dict:
    row = _panel_row(key, test, pd.DataFrame({"account_id": []}), np.array([]), 0, pd.Series(dtype=str),
                     np.array([]), (), "within-account design", H1_UNIT if key.startswith("H1") else H2_UNIT.format(k=6),
                     alpha, random_state)
    return {**row, "note": note}


PANEL_MODEL = ("Poisson pseudo-likelihood ratio-in-ratios (stacked difference-in-differences): "
               "E[after/before] = exp(theta D + stack + segment + log employees{extra}), SE clustered by account")


def within_account_rows(features: pd.DataFrame, event_windows: pd.DataFrame | None, random_state: int = 0,
                        alpha: float = ALPHA, hypotheses: tuple[str, ...] = PRIMARY) -> list[dict]:
    """The primary (`test` = 'adjusted_effect', key = the hypothesis) and pre-trend rows of H1 and H2
    (of those in `hypotheses`), primary before pre-trend."""
    rows = []
    for pre_trend in (False, True):
        if "H1_strategic_alignment" in hypotheses:
            rows.append(h1_row(features, pre_trend, random_state, alpha))
        if "H2_trust_eroding_events" in hypotheses:
            rows.append(h2_row(event_windows, pre_trend, random_state, alpha))
    return rows


def _keys(hypothesis: str, pre_trend: bool) -> tuple[str, str]:
    return hypothesis + (":pre_trend" if pre_trend else ""), "pre_trend" if pre_trend else "adjusted_effect"


def h1_row(features: pd.DataFrame, pre_trend: bool, random_state: int = 0, alpha: float = ALPHA) -> dict:
    """H1's within-account row: months 13-24 of tenure against months 7-12 (pre-trend: 7-12 against 1-6)."""
    key, test = _keys("H1_strategic_alignment", pre_trend)
    missing = [c for c in H1_COLUMNS if c not in features]
    if missing:
        return _missing_input_row(key, test, f"the features table has no {', '.join(missing)}", alpha, random_state)
    frame, ratio, left_out = h1_design(features, pre_trend)
    window = ("observation months 7-12 against months 1-6 of tenure (must show no effect)" if pre_trend
              else "months 13-24 of tenure (the outcome window) against months 7-12, per month")
    return _panel_row(
        key, test, frame, ratio, left_out, frame["observation_end"],
        frame["mean_alignment"].to_numpy(float), H1_CONTROLS,
        f"within-account: {window}; stack = calendar month of observation_end; " + PANEL_MODEL.format(
            extra=" + log revenue per month before + trust-eroding events in the observation window"),
        H1_UNIT, alpha, random_state)


def h2_row(event_windows: pd.DataFrame | None, pre_trend: bool, random_state: int = 0, alpha: float = ALPHA) -> dict:
    """H2's within-account row: the stacked event study, [e+1, e+k] against [e-k, e) (pre-trend: one window earlier)."""
    key, test = _keys("H2_trust_eroding_events", pre_trend)
    if event_windows is None:
        return _missing_input_row(key, test, f"{EVENT_WINDOWS_TABLE} not available", alpha, random_state)
    frame, ratio, left_out = h2_design(event_windows, pre_trend)
    k = int(event_windows["window_months"].iloc[0]) if len(event_windows) else 6
    window = (f"[e-{k}, e) against [e-{2 * k}, e-{k}) (must show no effect)" if pre_trend
              else f"[e+1, e+{k}] against [e-{k}, e)")
    return _panel_row(
        key, test, frame, ratio, left_out, frame["event_month"] if len(frame) else pd.Series(dtype=str),
        frame["is_treated"].to_numpy(float) if len(frame) else np.array([]),
        ("log_employee_count", "tenure_months"),
        f"within-account stacked event study: one isolated trust-eroding event in month e vs accounts with none "
        f"in the same {2 * k + 1} months, revenue {window}; " + PANEL_MODEL.format(extra=" + tenure"),
        H2_UNIT.format(k=k), alpha, random_state)


def future_treatment_rows(features: pd.DataFrame, random_state: int = 0, alpha: float = ALPHA,
                          hypotheses: tuple[str, ...] = PRIMARY) -> list[dict]:
    """The cross-sectional adjusted effect with the treatment measured after the outcome window (of the
    hypotheses in `hypotheses`)."""
    rows = []
    blocks = build_feature_blocks(features, "revenue")
    missing = [c for c in FUTURE_COLUMNS if c not in features]
    if missing:
        for hypothesis in hypotheses:
            row = _missing_input_row(f"{hypothesis}:future_treatment", "future_treatment",
                                     f"the features table has no {', '.join(missing)}", alpha, random_state)
            rows.append({**row, "method": "negative control (future treatment), cross-sectional design"})
        return rows
    specs = {s.hypothesis: s for s in hypothesis_specs(blocks, "revenue") if s.hypothesis in hypotheses}
    frame = blocks.frame
    eligible = frame["is_future_observed"].astype(bool) & frame["is_active_at_outcome_end"].astype(bool)
    for hypothesis, spec in specs.items():
        future = FUTURE_TREATMENTS[hypothesis]
        # the early treatment is a control: a future treatment correlated with it (the same AE, the same plan)
        # must show no effect beyond it
        sample = frame[eligible & frame[future].notna() & frame[spec.treatment].notna()].reset_index(drop=True)
        n_excluded = int(len(frame) - len(sample))
        future_spec = replace(spec, treatment=future, extra_controls=spec.extra_controls + (spec.treatment,))
        row = _adjusted_effect_row(future_spec, sample, np.zeros(len(sample)), n_excluded,
                                   "spline_ridge", 5, 2, random_state, alpha,
                                   sample["outcome_revenue"].to_numpy(float))
        found = bool(np.isfinite(row["p_value"]) and row["p_value"] < alpha)
        note = ("negative control FAILED: treatment measured after the outcome 'affects' it, so the cross-sectional "
                "comparison is confounded" if found else "negative control passed" if np.isfinite(row["p_value"])
                else "")
        rows.append({**row, "hypothesis": f"{hypothesis}:future_treatment", "test": "future_treatment",
                     "supported": False, "random_state": random_state,
                     "note": "; ".join(filter(None, [note, row["note"]])),
                     "method": "negative control (future treatment: measured in the outcome_months after the outcome "
                               "window, accounts still customers at its start), cross-sectional " + row["method"]})
    return rows


def mark_failed_pre_trends(rows: list[dict], alpha: float = ALPHA) -> list[dict]:
    """Each primary row whose pre-trend check failed gets UNTRUSTWORTHY in its note (its `supported` and
    verdict follow from the check row, in models.verdicts.add_verdicts)."""
    by_key = {row["hypothesis"]: row for row in rows}
    for hypothesis in PRIMARY:
        if hypothesis not in by_key or f"{hypothesis}:pre_trend" not in by_key:
            continue
        main, pre = by_key[hypothesis], by_key[f"{hypothesis}:pre_trend"]
        if np.isfinite(pre["p_value"]) and pre["p_value"] < alpha:
            main["note"] = "; ".join(filter(None, ["UNTRUSTWORTHY: pre-trend negative control failed", main["note"]]))
    return rows


def design_rows(features: pd.DataFrame, event_windows: pd.DataFrame | None, random_state: int = 0,
                alpha: float = ALPHA, not_run: Mapping[str, str] | None = None) -> list[dict]:
    """The rows the within-account design adds for each hypothesis that runs (not in `not_run`): the primary
    and its pre-trend check (`within_account_rows`), the future-treatment control of the cross-sectional
    design (`future_treatment_rows`), a failed pre-trend marked. Needs nothing from `run_statistics`, so
    the pipeline computes them beside it (models.pipeline_stage)."""
    run = tuple(h for h in PRIMARY if h not in (not_run or {}))
    return mark_failed_pre_trends(within_account_rows(features, event_windows, random_state, alpha, run)
                                  + future_treatment_rows(features, random_state, alpha, run), alpha)


def apply_within_account_design(tests: pd.DataFrame, features: pd.DataFrame, event_windows: pd.DataFrame | None,
                                random_state: int = 0, alpha: float = ALPHA,
                                not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """hypothesis_tests with the within-account design as the primary row of H1 and H2:
    `with_design_rows(tests, design_rows(...))`."""
    return with_design_rows(tests, design_rows(features, event_windows, random_state, alpha, not_run), not_run)


def with_design_rows(tests: pd.DataFrame, rows: list[dict], not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """`tests` (run_statistics' rows) with the within-account design's `rows` (`design_rows`) as the primary.

    The cross-sectional DML rows keyed H1_strategic_alignment / H2_trust_eroding_events move to
    '<hypothesis>:cross_sectional' (test 'cross_sectional': an association between accounts, never
    `supported`); the within-account rows take the keys and can be `supported` (models.verdicts.add_verdicts:
    significant with the hypothesised sign and the pre-trend check passed). Adds '<hypothesis>:pre_trend'
    and ':future_treatment' rows. A hypothesis in `not_run` (its input is missing) keeps its 'not run' row
    and gets none of these."""
    run = [h for h in PRIMARY if h not in (not_run or {})]
    tests = tests.copy()
    shared = {c: tests[c].iloc[0] for c in ("n_excluded_censored", "n_excluded_not_customer", "outcome",
                                             "outcome_months") if c in tests and len(tests)}
    primary = tests["hypothesis"].isin(run)
    tests.loc[primary, "hypothesis"] = tests.loc[primary, "hypothesis"] + ":cross_sectional"
    tests.loc[primary, "test"] = "cross_sectional"
    tests.loc[primary, "method"] = "cross-sectional (secondary; removes recorded confounding only): " + tests.loc[
        primary, "method"]
    if not rows:
        return tests
    added = pd.DataFrame(rows).assign(**shared)
    combined = pd.concat([tests, added.reindex(columns=tests.columns)], ignore_index=True)
    if combined["hypothesis"].duplicated().any():
        raise ValueError(f"hypothesis keys repeat: {sorted(combined.loc[combined['hypothesis'].duplicated(), 'hypothesis'])}")
    # every row worded by models.verdicts, each naming the design that produced it
    return add_verdicts(combined)


_EVENT_WINDOWS_IN_ORDER = f"select * from {EVENT_WINDOWS_TABLE} order by account_id, event_month"


def read_event_windows(con) -> pd.DataFrame | None:
    """analytics.ml_event_windows in key order, or None when the warehouse has no such table.

    The order is part of the result: the Poisson fit's sums run over the rows in the order read, and
    DuckDB's parallel scan returns an unordered read in a different order from run to run."""
    return query_frame(con, _EVENT_WINDOWS_IN_ORDER) if table_exists(con, *EVENT_WINDOWS_TABLE.split(".")) else None


def export_event_windows(con, folder: Path) -> Path | None:
    """analytics.ml_event_windows in key order as folder/ml_event_windows.parquet (None when the
    warehouse has no such table), for another process to read with `read_event_windows_file`: DuckDB
    writes it without the rows passing through this process."""
    if not table_exists(con, *EVENT_WINDOWS_TABLE.split(".")):
        return None
    path = folder / "ml_event_windows.parquet"
    con.execute(f"copy ({_EVENT_WINDOWS_IN_ORDER}) to {literal(str(path))} (format parquet)")
    return path


def read_event_windows_file(path: Path | None) -> pd.DataFrame | None:
    """What `read_event_windows` gives, from a file `export_event_windows` wrote (a single file is read
    in the order it was written)."""
    if path is None:
        return None
    with duckdb.connect() as con:
        return query_frame(con, f"select * from read_parquet({literal(str(path))})")
