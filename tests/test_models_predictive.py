"""Model comparison and grouped permutation importance (models/predictive.py).

The worlds are the feature tables of tests/test_models_hypotheses.py (`simulate_features`): a size
confounder drives alignment, event counts and revenue; the planted effects are on log(1 + revenue),
the scale the R^2 is computed on.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from models.features import build_feature_blocks
from models.design import design_frame, grouped_folds
from models.estimators import make_learner
from models.pipeline_stage import write_hypothesis_tests
from models.predictive import (
    FEATURE_IMPORTANCE_COLUMNS,
    FEATURE_SETS,
    MIN_TEST_COHORT_ACCOUNTS,
    MIN_TRAINING_ACCOUNTS,
    MODEL_COMPARISON_COLUMNS,
    block_columns,
    correlated_clusters,
    feature_groups,
    grouped_permutation_drops,
    later_cohort_splits,
    run_predictive_value,
)
from tests.test_models_hypotheses import simulate_features

LEARNERS = ("linear", "nonlinear")


def _comparison_row(comparison: pd.DataFrame, learner: str, feature_set: str,
                    split: str = "account_folds") -> pd.Series:
    match = comparison[(comparison["split"] == split) & (comparison["learner"] == learner)
                       & (comparison["feature_set"] == feature_set)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.fixture(scope="module")
def planted_alignment():
    """Alignment planted (+1.0 per unit of mean alignment), trust-eroding events without effect."""
    return run_predictive_value(simulate_features(500, alignment_effect=1.0, eroding_effect=0.0, seed=100),
                                random_state=0)


def test_planted_alignment_gain_is_found_by_both_learners(planted_alignment) -> None:
    everything = planted_alignment.comparison
    assert list(everything.columns) == list(MODEL_COMPARISON_COLUMNS)
    assert len(everything) == 16 and not everything.duplicated(["split", "learner", "feature_set"]).any()
    comparison = everything[everything["split"] == "account_folds"]
    assert len(comparison) == 8
    assert (comparison["n_folds"] == 10).all() and comparison["note"].isna().all()
    for learner in LEARNERS:
        row = _comparison_row(comparison, learner, "baseline+alignment")
        assert row["gain_ci_low"] > 0 and row["gain_p_value"] < 0.01
        assert row["gain_ci_low"] <= row["gain_vs_baseline"] <= row["gain_ci_high"]
        assert _comparison_row(comparison, learner, "all")["gain_ci_low"] > 0
        baseline = _comparison_row(comparison, learner, "baseline")
        assert np.isnan(baseline["gain_vs_baseline"]) and np.isnan(baseline["gain_p_value"])
        assert 0.3 < baseline["r2_mean"] < 1 and baseline["r2_ci_low"] < baseline["r2_mean"] < baseline["r2_ci_high"]
    # nonlinear minus linear, on the same folds: only on the nonlinear rows, with a two-sided p
    assert comparison.loc[comparison["learner"] == "linear", "r2_minus_linear"].isna().all()
    nonlinear = comparison[comparison["learner"] == "nonlinear"]
    assert nonlinear["r2_minus_linear_p_value"].between(0, 1).all()
    for _, row in nonlinear.iterrows():
        linear = _comparison_row(comparison, "linear", row["feature_set"])
        assert row["r2_minus_linear"] == pytest.approx(row["r2_mean"] - linear["r2_mean"])


def test_planted_alignment_group_has_positive_importance(planted_alignment) -> None:
    importance = planted_alignment.importance
    assert list(importance.columns) == list(FEATURE_IMPORTANCE_COLUMNS)
    assert not importance.duplicated(["learner", "feature_group"]).any()
    for learner in LEARNERS:
        mine = importance[importance["learner"] == learner]
        alignment = mine[mine["block"] == "alignment"]
        assert list(alignment["features"]) == ["mean_alignment"]
        assert alignment["importance_ci_low"].iloc[0] > 0
        # the size proxies (controls, early activity) carry most of the signal; the event counts
        # without effect less than alignment
        assert mine.loc[mine["importance_mean"].idxmax(), "block"] in ("controls", "activity")
        trust = mine.loc[mine["block"] == "trust_eroding", "importance_mean"]
        assert trust.max() < alignment["importance_mean"].iloc[0]
        assert (mine["n_folds"] == 10).all() and (mine["n_repeats"] == 3).all()
        assert (mine["importance_ci_low"] <= mine["importance_mean"]).all()


def test_blocks_without_effect_do_not_look_predictive(planted_alignment) -> None:
    """No effect -> the one-sided gain p-value is not small. Ten p-values from three worlds (trust
    events have no effect in all three, alignment none in the last two): a calibrated test gives
    p < 0.01 with probability 0.01 each; adding a useless block costs a little R^2, so the p-values
    lean towards 1 (12 null worlds of 300 accounts, 48 p-values: mean 0.63, smallest 0.065)."""
    p_values = [_comparison_row(planted_alignment.comparison, learner, "baseline+trust")["gain_p_value"]
                for learner in LEARNERS]
    for seed in (200, 201):
        comparison = run_predictive_value(simulate_features(300, 0.0, 0.0, seed=seed), random_state=seed,
                                          n_repeats=1, importance=False).comparison
        for learner in LEARNERS:
            for feature_set in ("baseline+alignment", "baseline+trust"):
                p_values.append(_comparison_row(comparison, learner, feature_set)["gain_p_value"])
    assert len(p_values) == 10
    assert min(p_values) > 0.01 and np.mean(p_values) > 0.3


def test_correlated_columns_are_clustered_within_blocks_only() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    x = pd.DataFrame({"a": a, "a_copy": a + rng.normal(0, 0.05, 500), "c": rng.normal(size=500),
                      "constant": 1.0})
    assert correlated_clusters(x) == [["a", "a_copy"], ["c"], ["constant"]]
    # a control perfectly correlated with an alignment column still stays in its own block
    x = pd.DataFrame({"segment": rng.choice(["x", "y"], 500), "log_employee_count": a,
                      "mean_alignment": a + rng.normal(0, 0.01, 500), "deals_won": a})
    groups = feature_groups(x, block_columns(()), ["segment"])
    assert [(g.block, g.columns) for g in groups] == [
        ("controls", ("segment",)), ("controls", ("log_employee_count",)), ("activity", ("deals_won",)),
        ("alignment", ("mean_alignment",))]


def test_near_duplicate_columns_form_one_group_whose_joint_permutation_costs_more() -> None:
    """Severity made a near copy of the eroding-event count (both carry a strong planted effect):
    they are clustered together, and permuting one alone barely hurts (the other still carries the
    signal) while permuting the group does."""
    world = simulate_features(600, alignment_effect=0.0, eroding_effect=-0.4, seed=7)
    rng = np.random.default_rng(1)
    world["trust_eroding_severity"] = world["n_trust_eroding_events"] * 2 + (rng.random(len(world)) < 0.03)
    blocks = build_feature_blocks(world)
    categorical = ["segment", "industry", "region"]
    numeric = ["log_employee_count", "cohort_year", "deals_created", "n_trust_eroding_events",
               "trust_eroding_severity"]
    x = design_frame(blocks.frame, categorical, numeric)
    groups = feature_groups(x, block_columns(blocks.trust_columns), categorical)
    pair = ("n_trust_eroding_events", "trust_eroding_severity")
    assert pair in [g.columns for g in groups]
    train, test = grouped_folds(blocks.account_ids, 5, 0)[0]
    for kind in ("spline_ridge", "hgb"):
        with threadpool_limits(limits=1):  # as the module fits: threads only add contention here
            model = make_learner(categorical, numeric, kind).fit(x.iloc[train], blocks.y[train])
        drops = grouped_permutation_drops(model, x.iloc[test], blocks.y[test], [pair, pair[:1], pair[1:]], 5,
                                          np.random.default_rng(0)).mean(axis=1)
        assert drops[0] > 0.05, kind
        # either column alone would look far less important than the pair (ridge splits the weight
        # unevenly between the near copies, so one of them alone still shows most of the drop)
        assert drops[0] > 1.2 * max(drops[1], drops[2]), (kind, drops)


def test_grouped_permutation_moves_the_group_rows_together() -> None:
    """One permutation per repeat, applied to every column of a group; other columns untouched."""

    class Recorder:
        def predict(self, x: pd.DataFrame) -> np.ndarray:
            self.seen = x
            return np.zeros(len(x))

    x = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) * 10, "c": list("uvwxyz")})
    model = Recorder()
    drops = grouped_permutation_drops(model, x, np.arange(6.0), [("a", "b"), ("c",)], 2, np.random.default_rng(0),
                                      reference_predictions=np.zeros(6))
    assert drops.shape == (2, 2) and np.allclose(drops, 0)  # the recorder ignores its input
    seen = model.seen
    assert len(seen) == 2 * 2 * 6
    first = seen.iloc[:12]  # group (a, b), both repeats
    np.testing.assert_array_equal(first["b"].to_numpy(), first["a"].to_numpy() * 10)
    assert list(first["c"]) == list("uvwxyz") * 2
    assert sorted(first["a"].iloc[:6]) == list(range(6)) and list(first["a"].iloc[:6]) != list(range(6))
    second = seen.iloc[12:]  # group (c,): a and b untouched, c shuffled with the same permutations
    np.testing.assert_array_equal(second["a"].to_numpy(), np.tile(np.arange(6.0), 2))
    positions = first["a"].to_numpy().astype(int)
    np.testing.assert_array_equal(second["c"].to_numpy(), np.array(list("uvwxyz"))[positions])


def test_too_few_accounts_give_notes_not_numbers() -> None:
    result = run_predictive_value(simulate_features(12, 0.5, -0.1, seed=1), random_state=0)
    comparison, importance = result.comparison, result.importance
    assert len(comparison) == 16 and comparison["r2_mean"].isna().all()
    assert comparison["note"].str.contains("too few accounts").all()
    assert set(comparison["split"]) == {"account_folds", "later_cohorts"}
    assert len(importance) > 0 and importance["importance_mean"].isna().all()
    assert importance["note"].str.contains("too few accounts").all()
    empty = simulate_features(50, 0.5, -0.1, seed=1).assign(is_outcome_observed=False)
    assert run_predictive_value(empty, random_state=0).comparison["note"].str.contains("too few").all()


def test_constant_outcome_gives_notes_not_numbers() -> None:
    world = simulate_features(100, 0.5, -0.1, seed=2)
    world["outcome_revenue"] = np.where(world["is_outcome_observed"], 100.0, np.nan)
    comparison = run_predictive_value(world, random_state=0, learners=("linear",)).comparison
    assert comparison["r2_mean"].isna().all() and comparison["note"].str.contains("outcome does not vary").all()


def test_a_block_that_does_not_vary_gives_notes_not_crashes() -> None:
    world = simulate_features(120, 0.5, -0.1, seed=3).assign(mean_alignment=0.25)
    result = run_predictive_value(world, random_state=0, n_repeats=1)
    comparison, importance = result.comparison, result.importance
    for learner in LEARNERS:
        alignment = _comparison_row(comparison, learner, "baseline+alignment")
        assert np.isnan(alignment["r2_mean"]) and "alignment block does not vary" in alignment["note"]
        assert "mean_alignment" in alignment["features"]
        everything = _comparison_row(comparison, learner, "all")
        assert np.isfinite(everything["gain_vs_baseline"]) and "left out" in everything["note"]
        assert "mean_alignment" not in everything["features"]
        assert np.isfinite(_comparison_row(comparison, learner, "baseline+trust")["gain_p_value"])
        row = importance[(importance["learner"] == learner) & (importance["block"] == "alignment")]
        assert len(row) == 1 and np.isnan(row["importance_mean"].iloc[0]) and "does not vary" in row["note"].iloc[0]
    # neither block varies: only the baseline rows have numbers
    trust = [c for c in world.columns if c.startswith("n_trust_eroding") or c == "trust_eroding_severity"]
    flat = world.assign(**{c: 0 for c in trust})
    comparison = run_predictive_value(flat, random_state=0, n_repeats=1, learners=("linear",)).comparison
    comparison = comparison[comparison["split"] == "account_folds"]
    assert comparison.set_index("feature_set")["r2_mean"].notna().to_dict() == {
        "baseline": True, "baseline+alignment": False, "baseline+trust": False, "all": False}
    assert comparison["note"].iloc[1:].str.contains("does not vary|neither hypothesis block varies").all()


def test_deterministic_for_a_random_state() -> None:
    """The random parts (fold shuffles, permutations) are seeded; both learners are deterministic given
    the data (the boosting has no subsampling or early stopping), so the linear one suffices here."""
    world = simulate_features(100, 0.5, -0.1, seed=4)
    runs = [run_predictive_value(world, random_state=seed, n_repeats=1, learners=("linear",)) for seed in (5, 5, 6)]
    pd.testing.assert_frame_equal(runs[0].comparison, runs[1].comparison)
    pd.testing.assert_frame_equal(runs[0].importance, runs[1].importance)
    folds = [run.comparison[run.comparison["split"] == "account_folds"] for run in runs]
    assert not np.allclose(folds[0]["r2_mean"], folds[2]["r2_mean"])
    assert not np.allclose(runs[0].importance["importance_mean"], runs[2].importance["importance_mean"])


def _primary_key(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return con.execute(
        "select constraint_column_names from duckdb_constraints() where schema_name = 'main' and table_name = ? "
        "and constraint_type = 'PRIMARY KEY'", [table]).fetchone()[0]


def test_write_hypothesis_tests_writes_both_tables(tmp_path, monkeypatch) -> None:
    import models.pipeline_stage as stage

    world = simulate_features(200, 0.5, -0.15, seed=5)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema analytics")
        con.register("world", world)
        con.execute("create table analytics.ml_account_features as select * from world")
        con.execute("create table main.model_comparison as select 'stale' as learner")
        con.execute("create table main.feature_importance as select 'stale' as learner")
        computed = []
        real_statistics, real_predictive = stage.run_statistics, stage.run_predictive_value
        monkeypatch.setattr(stage, "run_statistics",  # test time: only the primary hypotheses' rows
                            lambda *a, **k: computed.append(real_statistics(*a, test_event_types=False,
                                                                            placebo=False, **k)) or computed[-1])
        # the real computation, on one fold shuffle instead of two (test time)
        monkeypatch.setattr(stage, "run_predictive_value", lambda *a, **k: real_predictive(*a, n_repeats=1, **k))
        write_hypothesis_tests(con, random_state=0, n_permutations=0, forecast=False)
        comparison = con.execute("select * from main.model_comparison order by split, learner, feature_set").df()
        importance = con.execute("select * from main.feature_importance").df()
        assert list(comparison.columns) == list(MODEL_COMPARISON_COLUMNS)
        assert list(importance.columns) == list(FEATURE_IMPORTANCE_COLUMNS)
        assert _primary_key(con, "model_comparison") == ["split", "learner", "feature_set"]
        assert _primary_key(con, "feature_importance") == ["learner", "feature_group"]
        assert set(zip(comparison["split"], comparison["learner"], comparison["feature_set"])) == {
            (split, learner, feature_set) for split in ("account_folds", "later_cohorts") for learner in LEARNERS
            for feature_set in FEATURE_SETS}
        folds = comparison[comparison["split"] == "account_folds"]
        assert folds["r2_mean"].notna().all() and folds["note"].isna().all()  # NULL, not ''
        # 170 analysed accounts over cohort years 2019-2022: 2021 and 2022 are test cohorts
        later = comparison[comparison["split"] == "later_cohorts"]
        assert (later["n_folds"] == 2).all() and later["r2_mean"].notna().all() and later["note"].isna().all()
        assert later["method"].str.contains("test cohorts: 2021 .*, 2022 ").all()
        assert comparison.loc[comparison["feature_set"] == "baseline", "gain_p_value"].isna().all()
        assert set(importance["block"]) == {"controls", "activity", "alignment", "trust_eroding", "other_events"}
        assert importance["importance_mean"].notna().all() and (importance["n_accounts"] > 0).all()
        # predictive=False (the calibration study) leaves both tables as they are
        monkeypatch.setattr(stage, "run_statistics", lambda *a, **k: computed[0])
        monkeypatch.setattr(stage, "run_predictive_value", lambda *a, **k: pytest.fail("must not run"))
        write_hypothesis_tests(con, random_state=0, n_permutations=0, forecast=False, predictive=False)
        again = con.execute("select * from main.model_comparison order by split, learner, feature_set").df()
    pd.testing.assert_frame_equal(again, comparison)


# --------------------------------------------------------------------------- split by calendar time


def _dated_world(n_accounts: int, seed: int, cohorts: tuple[int, int] = (2015, 2023)) -> pd.DataFrame:
    """Accounts with a customer month in cohort years cohorts[0]..cohorts[1]-1 and the warehouse's
    windows: observation_end = customer_since + 12 months, outcome_end = + 24 months."""
    rng = np.random.default_rng(seed)
    year = rng.integers(*cohorts, n_accounts)
    customer_since = pd.to_datetime({"year": year, "month": rng.integers(1, 13, n_accounts), "day": 1})
    return pd.DataFrame({"cohort_year": year, "observation_end": customer_since + pd.DateOffset(months=12),
                         "outcome_end": customer_since + pd.DateOffset(months=24)})


def test_later_cohort_splits_train_only_on_earlier_cohorts_whose_outcomes_are_over() -> None:
    frame = _dated_world(900, seed=11)
    frame.loc[frame["cohort_year"] == 2020, "cohort_year"] = np.nan  # no cohort year: never used
    frame.loc[frame.index[frame["cohort_year"] == 2021][20:], "cohort_year"] = 2015  # leaves 20 in 2021
    cohorts, observation_end, outcome_end = (frame["cohort_year"].to_numpy(), frame["observation_end"].to_numpy(),
                                             frame["outcome_end"].to_numpy())
    result = later_cohort_splits(frame)
    assert result.embargoed and [s.cohort for s in result.splits] == [2017, 2018, 2019, 2022]
    for split in result.splits:
        assert (cohorts[split.test] == split.cohort).all()
        assert len(split.test) == (cohorts == split.cohort).sum() >= MIN_TEST_COHORT_ACCOUNTS
        # no training account from the test cohort or later, none without a cohort year
        assert (cohorts[split.train] < split.cohort).all() and not np.isnan(cohorts[split.train]).any()
        # the embargo: every training outcome window ended by the test cohort's first observation_end
        assert split.embargo == observation_end[split.test].min()
        assert (outcome_end[split.train] <= split.embargo).all()
        # ... and every earlier account whose outcome window had ended is used
        eligible = (cohorts < split.cohort) & (outcome_end <= split.embargo)
        assert set(split.train) == set(np.flatnonzero(eligible)) and len(split.train) >= MIN_TRAINING_ACCOUNTS
        assert len(np.unique(cohorts[split.train])) >= 2
    # the embargo drops most of the previous cohort (its outcome windows end in the test year)
    by_cohort = {s.cohort: s for s in result.splits}
    assert 0 < (cohorts[by_cohort[2019].train] == 2018).sum() < 0.2 * (cohorts == 2018).sum()
    skipped = " ".join(result.skipped)
    assert "2015: 0 training accounts" in skipped and "2021: 20 test accounts (< 30)" in skipped
    assert "2016: " in skipped and "after the embargo" in skipped  # one earlier cohort, mostly embargoed
    # without the window dates: every earlier cohort, no embargo
    plain = later_cohort_splits(frame.drop(columns=["outcome_end"]))
    assert not plain.embargoed and [s.cohort for s in plain.splits] == [2017, 2018, 2019, 2022]
    for split in plain.splits:
        assert split.embargo is None
        assert set(split.train) == set(np.flatnonzero(cohorts < split.cohort))
    assert [s.cohort for s in later_cohort_splits(frame, embargo=False).splits] == [2017, 2018, 2019, 2022]


def test_later_cohorts_rows_find_a_planted_block_on_later_cohorts() -> None:
    """Alignment planted strongly (+1.5) in a world of eight cohort years (no window dates: no embargo):
    the linear learner's gain on later cohorts has an interval above 0 (6 test cohorts; at seeds 12-17
    gain 0.077-0.105, lower bound 0.027-0.066, p <= 0.0055; the trust block's p 0.64-0.98)."""
    world = simulate_features(700, alignment_effect=1.5, eroding_effect=0.0, seed=12)
    world["cohort_year"] = np.random.default_rng(12).integers(2015, 2023, len(world))
    comparison = run_predictive_value(world, random_state=0, n_repeats=1, learners=("linear",),
                                      importance=False).comparison
    later = comparison[comparison["split"] == "later_cohorts"]
    assert len(later) == 4 and list(later["feature_set"]) == list(FEATURE_SETS)
    expected = [s.cohort for s in later_cohort_splits(build_feature_blocks(world).frame).splits]
    assert len(expected) >= 4 and (later["n_folds"] == len(expected)).all() and later["note"].isna().all()
    assert later["method"].str.contains("no embargo").all()
    row = _comparison_row(comparison, "linear", "baseline+alignment", "later_cohorts")
    assert row["gain_vs_baseline"] > 0.03 and row["gain_ci_low"] > 0 and row["gain_p_value"] < 0.01
    assert row["r2_ci_low"] < row["r2_mean"] < row["r2_ci_high"]
    assert _comparison_row(comparison, "linear", "baseline+trust", "later_cohorts")["gain_p_value"] > 0.05
    assert np.isnan(_comparison_row(comparison, "linear", "baseline", "later_cohorts")["gain_vs_baseline"])


def test_later_cohorts_rows_on_the_planted_world_with_four_cohort_years(planted_alignment) -> None:
    comparison = planted_alignment.comparison
    later = comparison[comparison["split"] == "later_cohorts"]
    assert len(later) == 8 and (later["n_folds"] == 2).all()  # 2021 and 2022 (2019, 2020: too few earlier)
    assert later["method"].str.contains("skipped: 2019: 0 training accounts").all()
    for learner in LEARNERS:
        assert _comparison_row(comparison, learner, "baseline+alignment", "later_cohorts")["gain_vs_baseline"] > 0
    nonlinear = later[later["learner"] == "nonlinear"].set_index("feature_set")
    linear = later[later["learner"] == "linear"].set_index("feature_set")
    np.testing.assert_allclose(nonlinear["r2_minus_linear"], nonlinear["r2_mean"] - linear["r2_mean"])


def test_no_qualifying_cohort_gives_notes_and_one_cohort_gives_no_interval() -> None:
    world = simulate_features(300, 0.5, -0.1, seed=13).assign(cohort_year=2022)
    comparison = run_predictive_value(world, random_state=0, n_repeats=1, learners=("linear",),
                                      importance=False).comparison
    later = comparison[comparison["split"] == "later_cohorts"]
    assert len(later) == 4 and (later["n_folds"] == 0).all() and (later["n_accounts"] == 0).all()
    assert later[["r2_mean", "r2_ci_low", "gain_vs_baseline", "gain_p_value"]].isna().all().all()
    assert later["note"].str.contains("no cohort year qualifies").all()
    assert comparison.loc[comparison["split"] == "account_folds", "r2_mean"].notna().all()
    # one test cohort (2022, trained on 2020 and 2021): means, but no interval or p-value
    world["cohort_year"] = np.random.default_rng(13).choice([2020, 2021, 2022], len(world), p=[0.3, 0.3, 0.4])
    later = run_predictive_value(world, random_state=0, n_repeats=1, learners=("linear",), importance=False
                                 ).comparison.query("split == 'later_cohorts'")
    assert (later["n_folds"] == 1).all() and later["r2_mean"].notna().all()
    assert later[["r2_ci_low", "r2_ci_high", "gain_ci_low", "gain_p_value"]].isna().all().all()
    assert later["note"].str.contains("one test cohort").all()


def test_boosting_stops_early_on_noise_and_overfits_less_than_a_fixed_number_of_trees() -> None:
    """The nonlinear learner's early stopping (an inner split of the training rows): on an outcome that
    is pure noise it stops well before its 100 trees, and its held-out R^2 is nearer 0 (the truth) than
    the same boosting made to fit all 100."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1_200, 6))
    y = rng.normal(size=1_200)
    train, test = np.arange(900), np.arange(900, 1_200)
    numeric = [f"x{i}" for i in range(6)]
    early = make_learner([], numeric, "hgb", random_state=0, positional=True)
    fixed = make_learner([], numeric, "hgb", random_state=0, positional=True).set_params(model__early_stopping=False)
    with threadpool_limits(limits=1):
        r2 = {name: 1 - np.mean((model.fit(x[train], y[train]).predict(x[test]) - y[test]) ** 2) / np.var(y[test])
              for name, model in (("early", early), ("fixed", fixed))}
    assert early.named_steps["model"].n_iter_ < 50 and fixed.named_steps["model"].n_iter_ == 100
    assert r2["fixed"] < r2["early"] <= 0.02
