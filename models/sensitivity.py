"""How far a hidden confounder could move an adjusted effect, and the sizes a reader needs to judge it.

Pure functions of numbers (no data, no fitting):

* Cinelli & Hazlett (2020, "Making sense of sensitivity: extending omitted variable bias", JRSS-B):
  partial R^2, the robustness value RV (and RV at a significance level), the omitted-variable bias
  implied by a confounder of given partial R^2s, and the bounds on such a confounder when it is as
  strong as an observed control ("benchmarking", with DoubleML's convention: the hidden confounder
  has the control's own partial R^2s). For the partially linear model these coincide
  with the DML sensitivity bounds of Chernozhukov, Cinelli, Newey, Sharma & Syrgkanis (2022, "Long
  story short"), as DoubleML implements them: cf_y is the confounder's partial R^2 with the outcome
  residual, cf_d/(1 - cf_d) its partial f^2 with the treatment, rho = 1 (the worst case).
* VanderWeele & Ding (2017): E-values of a ratio effect and of its confidence limit.
* Sizes: the minimum detectable effect at 80% power (the "2.8 x SE" rule) and power at a given effect.

Everything is on the scale of the estimate (for revenue: log of the ratio of expected revenue).
"""

from __future__ import annotations

import math

from scipy import stats

ALPHA = 0.05
POWER = 0.80
# A change in expected revenue per standard deviation of the treatment that a business would care
# about: 10%. A "not supported" result whose 80%-power detectable effect is larger than this is
# reported as "too few accounts to tell", not as "no effect" (docs/statistics.md, section 3b).
RELEVANT_CHANGE_PER_SD = 0.10
# Sample sizes of the minimum-detectable-effect curve (the committed calibration study has one size).
MDE_CURVE_ACCOUNTS: tuple[int, ...] = (1_000, 2_000, 4_000)


def partial_r2(t_statistic: float, dof: float) -> float:
    """Partial R^2 of the treatment with the outcome, given the controls: t^2 / (t^2 + dof)."""
    return t_statistic ** 2 / (t_statistic ** 2 + dof)


def robustness_value(t_statistic: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """Cinelli-Hazlett robustness value: the partial R^2 a confounder would need with *both* the treatment
    and the outcome (given the controls) to move the estimate by 100q% (q = 1: to zero); with `alpha`,
    to make it no longer significant at that level (RV_{q,alpha}). 0 when the estimate is already not
    significant. Includes the extreme case where the confounder need not explain the outcome fully."""
    if not (math.isfinite(t_statistic) and dof > 1):
        return float("nan")
    f_q = q * abs(t_statistic) / math.sqrt(dof)
    if alpha is None:
        return 0.5 * (math.sqrt(f_q ** 4 + 4 * f_q ** 2) - f_q ** 2)
    f_critical = abs(stats.t.ppf(alpha / 2, dof - 1)) / math.sqrt(dof - 1)
    f_q_alpha = f_q - f_critical
    if f_q_alpha <= 0:
        return 0.0
    if f_q > 1 / f_critical:
        return (f_q ** 2 - f_critical ** 2) / (1 + f_q ** 2)
    return 0.5 * (math.sqrt(f_q_alpha ** 4 + 4 * f_q_alpha ** 2) - f_q_alpha ** 2)


def bias_bound(std_error: float, dof: float, r2_treatment: float, r2_outcome: float) -> float:
    """Largest absolute bias of the estimate from a confounder with partial R^2 `r2_treatment` with the
    treatment (given the controls) and `r2_outcome` with the outcome residual (given treatment and controls):
    se * sqrt(dof) * sqrt(r2_outcome * r2_treatment / (1 - r2_treatment)) (Cinelli & Hazlett 2020, eq. 11;
    the DML bound of Chernozhukov et al. 2022 with cf_y = r2_outcome, cf_d = r2_treatment, rho = 1)."""
    return std_error * math.sqrt(dof) * math.sqrt(r2_outcome * r2_treatment / (1 - r2_treatment))


def adjusted_for_confounder(estimate: float, std_error: float, dof: float, r2_treatment: float,
                            r2_outcome: float, alpha: float = ALPHA) -> tuple[float, float, float]:
    """(estimate, ci_low, ci_high) after removing the worst-case bias of such a confounder, towards zero.
    The interval keeps the estimate's own sampling error (as DoubleML's confidence bounds do): the
    confounder shifts the estimate, it does not make it more precise."""
    adjusted = estimate - math.copysign(bias_bound(std_error, dof, r2_treatment, r2_outcome), estimate)
    half = z_critical(alpha) * std_error
    return adjusted, adjusted - half, adjusted + half


def e_value(ratio: float) -> float:
    """VanderWeele-Ding E-value of a ratio: RR + sqrt(RR (RR - 1)), with RR < 1 inverted first."""
    if math.isnan(ratio) or ratio <= 0:
        return float("nan")
    ratio = ratio if ratio >= 1 else 1 / ratio
    if math.isinf(ratio):
        return math.inf
    return ratio + math.sqrt(ratio * (ratio - 1))


def e_value_of_interval(ratio_low: float, ratio_high: float) -> float:
    """E-value of the confidence limit closest to 1; 1 when the interval contains 1."""
    if math.isnan(ratio_low) or math.isnan(ratio_high):
        return float("nan")
    if ratio_low <= 1 <= ratio_high:
        return 1.0
    return e_value(ratio_low if ratio_low > 1 else ratio_high)


def z_critical(alpha: float = ALPHA) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def std_error_from_interval(ci_low: float, ci_high: float, alpha: float = ALPHA) -> float:
    """The standard error behind a symmetric normal interval."""
    return (ci_high - ci_low) / (2 * z_critical(alpha))


def minimum_detectable_effect(std_error: float, power: float = POWER, alpha: float = ALPHA) -> float:
    """Smallest true effect a two-sided test at `alpha` finds with probability `power`:
    (z_{1-alpha/2} + z_power) * SE, i.e. 2.80 x SE at 5% and 80%."""
    return (z_critical(alpha) + float(stats.norm.ppf(power))) * std_error


def power_at(effect: float, std_error: float, alpha: float = ALPHA) -> float:
    """Probability that a two-sided normal test at `alpha` rejects when the true effect is `effect`."""
    shift = abs(effect) / std_error
    z = z_critical(alpha)
    return float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))


def scaled_std_error(std_error: float, n_accounts: float, at_accounts: float) -> float:
    """The standard error at another number of accounts, by the square-root rule (same design and mix)."""
    return std_error * math.sqrt(n_accounts / at_accounts)


def log_relevant_change(change: float = RELEVANT_CHANGE_PER_SD) -> float:
    """The relevance threshold on the estimate's (log-ratio) scale."""
    return math.log1p(change)
