"""The hypothesis tests on generated worlds, through the real pipeline path.

sample generator -> CSV exports -> the real loader (dealscope.ingest) -> a real `dbt build` of
ml_account_features and everything it depends on (models and their tests) ->
`write_hypothesis_tests` -> main.hypothesis_tests. One world of each kind, same seed, so the
planted and the null world share accounts, deals, plan and events and differ only in the effects.

Truth (docs/statistics.md, section 2): the H1 estimand's value is EffectSizes().alignment_log_revenue
(+0.30) and H2's is EffectSizes().eroding_log_revenue (-0.08); both 0 in the null world.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dealscope.sample import EffectSizes
from models.calibration import build_world_warehouse, true_effects
from models.pipeline_stage import write_hypothesis_tests

N_ACCOUNTS = 2500
SEED = 7


def _hypothesis_tests(tmp_path_factory: pytest.TempPathFactory, world: str, effects: EffectSizes) -> pd.DataFrame:
    workdir = tmp_path_factory.mktemp(f"statistics_{world}")
    build_db = build_world_warehouse(N_ACCOUNTS, SEED, effects, workdir, fmt="csv", dbt_command="build")
    with duckdb.connect(str(build_db)) as con:
        write_hypothesis_tests(con, random_state=0)
        return con.execute("select * from main.hypothesis_tests").df()


@pytest.fixture(scope="module")
def planted_tests(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _hypothesis_tests(tmp_path_factory, "planted", EffectSizes())


@pytest.fixture(scope="module")
def null_tests(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _hypothesis_tests(tmp_path_factory, "null", EffectSizes.null())


def _adjusted(results: pd.DataFrame, hypothesis: str) -> pd.Series:
    row = results[(results["hypothesis"] == hypothesis) & (results["test"] == "adjusted_effect")]
    assert len(row) == 1
    return row.iloc[0]


@pytest.mark.parametrize("hypothesis", ["H1_strategic_alignment", "H2_trust_eroding_events"])
def test_planted_effects_are_found_and_covered(planted_tests: pd.DataFrame, hypothesis: str) -> None:
    truth = true_effects(EffectSizes())[hypothesis]
    row = _adjusted(planted_tests, hypothesis)
    assert row["supported"], row.to_dict()
    assert row["ci_low"] <= truth <= row["ci_high"], row.to_dict()
    assert row["n_accounts"] > 1000


@pytest.mark.parametrize("hypothesis", ["H1_strategic_alignment", "H2_trust_eroding_events"])
def test_null_world_supports_neither_hypothesis(null_tests: pd.DataFrame, hypothesis: str) -> None:
    row = _adjusted(null_tests, hypothesis)
    assert not row["supported"], row.to_dict()
    assert row["ci_low"] <= 0.0 <= row["ci_high"], row.to_dict()


def test_naive_alignment_slope_is_confounded_in_the_null_world(null_tests: pd.DataFrame) -> None:
    # size drives both alignment and revenue: the unadjusted slope is far from the true 0
    row = _adjusted(null_tests, "H1_strategic_alignment")
    assert row["naive_estimate"] > row["ci_high"]


def test_exclusions_are_counted_and_the_unit_is_stated(planted_tests: pd.DataFrame) -> None:
    row = _adjusted(planted_tests, "H1_strategic_alignment")
    assert row["n_excluded_censored"] > 0 and row["n_excluded_not_customer"] > 0
    assert "expected outcome-window revenue" in row["unit"]
    assert "proportional" in row["method"]
