"""The within-account design (models/within_account.py): the estimator on simulated stacked panels, and
end to end on a world with an unrecorded account-health trait, where the cross-sectional design fails.

Truth of the panels below: each account has a level a_i (drawn with the unrecorded trait), a treated
account's after/before ratio is multiplied by exp(theta), and the trait also makes treatment likelier.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from dealscope.sample import STRESS_WORLDS, EffectSizes, StressKnobs, stress_knobs
from models.calibration import build_world_warehouse
from models.pipeline_stage import write_hypothesis_tests
from models.within_account import (
    export_event_windows,
    poisson_fit,
    ratio_in_ratios,
    read_event_windows,
    read_event_windows_file,
)


def _stacked_panel(seed: int, theta: float, n_accounts: int = 600, n_cells: int = 12) -> tuple:
    """Accounts x calendar cells; treatment likelier for healthy accounts (who also earn more); the after/
    before ratio carries a cell trend, noise and, for treated rows, exp(theta). Churned (0) afters too."""
    rng = np.random.default_rng(seed)
    health = rng.normal(0, 1, n_accounts)
    size = rng.normal(0, 1, n_accounts)
    account = np.repeat(np.arange(n_accounts), 3)
    cell = rng.integers(0, n_cells, len(account))
    treated = rng.random(len(account)) < 1 / (1 + np.exp(-(-2.0 + 1.0 * health[account])))
    level = np.exp(8 + 0.8 * health[account] + 0.7 * size[account])
    before = level * np.exp(rng.normal(0, 0.1, len(account)))
    trend = 0.02 * cell
    after = level * np.exp(trend + theta * treated + rng.normal(0, 0.1, len(account)))
    after[rng.random(len(account)) < 0.03] = 0.0
    frame = pd.DataFrame({"account_id": account.astype(str), "segment": np.where(size[account] > 0, "big", "small"),
                          "log_employee_count": size[account]})
    return after / before, treated.astype(float), pd.Series(cell), frame


def test_poisson_fit_recovers_a_log_linear_mean() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 1))
    y = rng.poisson(np.exp(0.5 + 0.3 * x[:, 0]))
    beta, covariance = poisson_fit(y.astype(float), x, np.arange(5000))
    assert beta == pytest.approx([0.3], abs=0.03)
    # Poisson information: se = 1 / sqrt(n E[mu x^2]) ~ 0.011
    assert np.sqrt(covariance[0, 0]) == pytest.approx(0.011, rel=0.3)


def _dummy_coded_poisson_fit(y: np.ndarray, x: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The textbook fit the absorbed one must equal: Newton on the whole design (intercept and cell dummies
    as columns of x), the sandwich from the full Hessian, leverages from it, residuals leverage-adjusted."""
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(y.mean())
    for _ in range(100):
        mu = np.exp(x @ beta)
        step = np.linalg.solve((x * mu[:, None]).T @ x, x.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    mu = np.exp(x @ beta)
    bread = np.linalg.inv((x * mu[:, None]).T @ x)
    residual = (y - mu) / np.clip(1.0 - mu * np.einsum("ij,jk,ik->i", x, bread, x), 0.05, None)
    codes, groups = pd.factorize(pd.Series(clusters))
    scores = np.zeros((len(groups), x.shape[1]))
    np.add.at(scores, codes, x * residual[:, None])
    meat = scores.T @ scores * (len(groups) / (len(groups) - 1))
    return beta, bread @ meat @ bread


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_absorbed_cells_give_the_dummy_coded_estimates_and_covariance(seed: int) -> None:
    ratio, treated, cell, frame = _stacked_panel(seed, theta=-0.05, n_accounts=300, n_cells=9)
    x = np.column_stack([treated, frame["log_employee_count"].to_numpy(), (frame["segment"] == "big").to_numpy(float)])
    clusters = frame["account_id"].to_numpy()
    beta, covariance = poisson_fit(ratio, x, clusters, cell, leverage_adjusted=True)
    dummies = pd.get_dummies(cell, drop_first=True, dtype=float).to_numpy()
    full_beta, full_covariance = _dummy_coded_poisson_fit(ratio, np.column_stack([np.ones(len(ratio)), x, dummies]),
                                                         clusters)
    np.testing.assert_allclose(beta, full_beta[1:4], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(covariance, full_covariance[1:4, 1:4], rtol=1e-7, atol=1e-14)


def test_estimator_keeps_its_false_positive_rate_and_finds_a_planted_effect() -> None:
    rejections, covered, found = 0, 0, 0
    worlds = 40
    for seed in range(worlds):
        ratio, treated, cell, frame = _stacked_panel(seed, theta=0.0)
        effect = ratio_in_ratios(ratio, treated, cell, frame, frame["account_id"].to_numpy(), ("log_employee_count",))
        rejections += effect.p_value < 0.05
        ratio, treated, cell, frame = _stacked_panel(1000 + seed, theta=-0.05)
        planted = ratio_in_ratios(ratio, treated, cell, frame, frame["account_id"].to_numpy(), ("log_employee_count",))
        covered += planted.ci_low <= -0.05 <= planted.ci_high
        found += planted.p_value < 0.05 and planted.estimate < 0
    # 40 null panels: at 5% the count of rejections is Binomial(40, 0.05); P(>= 7) < 0.02
    assert rejections <= 6, rejections
    assert covered >= 34, covered  # ~95% of 40; P(<= 33) < 0.01 at nominal coverage
    assert found >= 36, found


def test_estimator_refuses_a_design_without_comparisons() -> None:
    ratio, treated, cell, frame = _stacked_panel(0, theta=0.0, n_accounts=10)
    with pytest.raises(ValueError, match="too few comparisons"):
        ratio_in_ratios(ratio, np.zeros_like(treated), cell, frame, frame["account_id"].to_numpy())


def test_stress_knobs_are_off_by_default_and_named_worlds_exist() -> None:
    assert StressKnobs().is_default and stress_knobs("none") == StressKnobs()
    assert not stress_knobs("health").is_default and "health" in STRESS_WORLDS
    with pytest.raises(ValueError, match="stress"):
        stress_knobs("nonsense")


@pytest.fixture(scope="module")
def health_world_tests(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A null world (no effect of either treatment) with the unrecorded health trait, through the loader,
    dbt and the statistical stage as the pipeline runs it (~40 s on an idle machine)."""
    workdir = tmp_path_factory.mktemp("health_world")
    build_db = build_world_warehouse(2000, 11, EffectSizes.null(), workdir, stress="health")
    with duckdb.connect(str(build_db)) as con:
        write_hypothesis_tests(con, random_state=0, n_permutations=0, forecast=False, predictive=False)
        return con.execute("select * from main.hypothesis_tests").df().set_index("hypothesis")


@pytest.mark.parametrize("hypothesis", ["H1_strategic_alignment", "H2_trust_eroding_events"])
def test_health_world_is_not_supported_by_the_primary_design(health_world_tests: pd.DataFrame,
                                                             hypothesis: str) -> None:
    primary = health_world_tests.loc[hypothesis]
    assert primary["test"] == "adjusted_effect" and "within-account" in primary["method"]
    assert not primary["supported"], primary.to_dict()
    assert primary["ci_low"] <= 0.0 <= primary["ci_high"], primary.to_dict()
    assert "not supported" in primary["verdict"]
    # the cross-sectional design is fooled by the trait, and its future-treatment control says so
    secondary = health_world_tests.loc[f"{hypothesis}:cross_sectional"]
    assert secondary["ci_low"] > 0.0 or secondary["ci_high"] < 0.0, secondary.to_dict()
    future = health_world_tests.loc[f"{hypothesis}:future_treatment"]
    assert future["p_value"] < 0.05 and "FAILED" in future["verdict"]
    assert "untrustworthy" in secondary["verdict"] and "cross-sectional, secondary" in secondary["verdict"]
    # the pre-trend check rejects in ~5% of clean worlds (its calibration, docs/statistics.md); when it
    # does, the primary row must say the result is untrustworthy
    pre_trend = health_world_tests.loc[f"{hypothesis}:pre_trend"]
    if pre_trend["p_value"] < 0.05:
        assert "untrustworthy" in primary["verdict"] and "UNTRUSTWORTHY" in primary["note"]


def test_event_windows_handed_over_as_a_file_read_back_as_from_the_warehouse(tmp_path) -> None:
    """The second statistics process gets the event windows as a Parquet file: the same rows, values,
    dtypes and key order as reading the table; no table, no file."""
    con = duckdb.connect()
    assert export_event_windows(con, tmp_path) is None and read_event_windows_file(None) is None
    con.execute("create schema analytics")
    con.execute("""create table analytics.ml_event_windows as select * from (values
        ('B', date '2022-02-01', true, 6, 10.0, 12.5, null, false, 14::BIGINT, 'smb', null, 'emea', 1.5),
        ('A', date '2022-03-01', false, 6, 3.0, 2.0, 4.0, true, 3::BIGINT, 'enterprise', 'retail', null, null),
        ('A', date '2022-01-01', false, 6, 1.0, 1.0, 1.0, true, 1::BIGINT, 'enterprise', 'retail', null, null)
    ) as t(account_id, event_month, is_treated, window_months, revenue_before, revenue_after, revenue_lead,
           is_lead_clean, tenure_months, segment, industry, region, log_employee_count)""")
    folder = tmp_path / "it's here"  # a quote in the path
    folder.mkdir()
    from_file = read_event_windows_file(export_event_windows(con, folder))
    pd.testing.assert_frame_equal(from_file, read_event_windows(con))
    assert list(zip(from_file["account_id"], from_file["event_month"].dt.month)) == [("A", 1), ("A", 3), ("B", 2)]
