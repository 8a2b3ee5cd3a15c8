"""The statistical stage of the pipeline: warehouse features in, `main.hypothesis_tests` out
(with `main.permutation_null`, `main.hypothesis_diagnostics`, `main.model_comparison` and
`main.feature_importance`).

The Dagster asset calls only `write_hypothesis_tests`; this module does not import Dagster.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dealscope.coverage import skipped_hypotheses
from models.diagnostics import add_sizes_and_conclusions
from models.features import FEATURES_TABLE, Outcome, read_account_features
from models.forecast import write_account_value_forecast
from models.hypotheses import DEFAULT_PERMUTATIONS, run_statistics
from models.predictive import run_predictive_value
from models.verdicts import add_power_to_not_significant
from models.within_account import apply_within_account_design, read_event_windows

HYPOTHESIS_TESTS_TABLE = "main.hypothesis_tests"
HYPOTHESIS_DIAGNOSTICS_TABLE = "main.hypothesis_diagnostics"
PERMUTATION_NULL_TABLE = "main.permutation_null"
MODEL_COMPARISON_TABLE = "main.model_comparison"
FEATURE_IMPORTANCE_TABLE = "main.feature_importance"

# Explicit types, so the table keeps its schema even when every estimate is NULL.
HYPOTHESIS_TESTS_DDL = f"""
create or replace table {HYPOTHESIS_TESTS_TABLE} (
    hypothesis VARCHAR NOT NULL,
    test VARCHAR NOT NULL,
    feature_block VARCHAR NOT NULL,
    treatment VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    estimate DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    bootstrap_ci_low DOUBLE,
    bootstrap_ci_high DOUBLE,
    p_value DOUBLE,
    p_value_holm DOUBLE,
    n_accounts BIGINT NOT NULL,
    n_excluded_censored BIGINT NOT NULL,
    n_excluded_not_customer BIGINT NOT NULL,
    n_excluded_other BIGINT NOT NULL,
    method VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    supported BOOLEAN NOT NULL,
    naive_estimate DOUBLE,
    treatment_residual_share DOUBLE,
    outcome VARCHAR NOT NULL,
    outcome_months DOUBLE,
    n_permutations BIGINT,
    random_state BIGINT NOT NULL,
    note VARCHAR,
    treatment_sd DOUBLE,
    estimate_per_sd DOUBLE,
    ci_low_per_sd DOUBLE,
    ci_high_per_sd DOUBLE,
    mde_80 DOUBLE,
    mde_80_per_sd DOUBLE,
    robustness_value DOUBLE,
    robustness_value_alpha DOUBLE,
    e_value DOUBLE,
    e_value_ci DOUBLE,
    benchmark_control VARCHAR,
    benchmark_r2_treatment DOUBLE,
    benchmark_r2_outcome DOUBLE,
    benchmark_adjusted_estimate DOUBLE,
    benchmark_adjusted_ci_low DOUBLE,
    benchmark_adjusted_ci_high DOUBLE,
    observation_months DOUBLE,
    conclusion VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL,
    PRIMARY KEY (hypothesis)
)
"""
# models.diagnostics: long format, one row per (hypothesis, diagnostic, group); docs/statistics.md, 3b.
HYPOTHESIS_DIAGNOSTICS_DDL = f"""
create or replace table {HYPOTHESIS_DIAGNOSTICS_TABLE} (
    hypothesis VARCHAR NOT NULL,
    diagnostic VARCHAR NOT NULL,
    group_name VARCHAR NOT NULL,
    value DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    n_accounts BIGINT NOT NULL,
    note VARCHAR,
    PRIMARY KEY (hypothesis, diagnostic, group_name)
)
"""
PERMUTATION_NULL_DDL = f"""
create or replace table {PERMUTATION_NULL_TABLE} (
    hypothesis VARCHAR NOT NULL,
    permutation BIGINT NOT NULL,
    statistic DOUBLE NOT NULL,
    observed DOUBLE NOT NULL,
    PRIMARY KEY (hypothesis, permutation)
)
"""
# models.predictive: one row per (split, learner, feature_set) and per (learner, feature_group).
# split: 'account_folds' (account-grouped folds) or 'later_cohorts' (trained on earlier cohorts,
# tested on later ones).
MODEL_COMPARISON_DDL = f"""
create or replace table {MODEL_COMPARISON_TABLE} (
    split VARCHAR NOT NULL,
    learner VARCHAR NOT NULL,
    feature_set VARCHAR NOT NULL,
    estimator VARCHAR NOT NULL,
    features VARCHAR NOT NULL,
    n_accounts BIGINT NOT NULL,
    n_folds BIGINT NOT NULL,
    r2_mean DOUBLE,
    r2_ci_low DOUBLE,
    r2_ci_high DOUBLE,
    gain_vs_baseline DOUBLE,
    gain_ci_low DOUBLE,
    gain_ci_high DOUBLE,
    gain_p_value DOUBLE,
    r2_minus_linear DOUBLE,
    r2_minus_linear_ci_low DOUBLE,
    r2_minus_linear_ci_high DOUBLE,
    r2_minus_linear_p_value DOUBLE,
    outcome VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    random_state BIGINT NOT NULL,
    note VARCHAR,
    PRIMARY KEY (split, learner, feature_set)
)
"""
FEATURE_IMPORTANCE_DDL = f"""
create or replace table {FEATURE_IMPORTANCE_TABLE} (
    learner VARCHAR NOT NULL,
    feature_group VARCHAR NOT NULL,
    features VARCHAR NOT NULL,
    block VARCHAR NOT NULL,
    n_features BIGINT NOT NULL,
    importance_mean DOUBLE,
    importance_ci_low DOUBLE,
    importance_ci_high DOUBLE,
    n_accounts BIGINT NOT NULL,
    n_folds BIGINT NOT NULL,
    n_repeats BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    random_state BIGINT NOT NULL,
    note VARCHAR,
    PRIMARY KEY (learner, feature_group)
)
"""


def write_hypothesis_tests(
    con: duckdb.DuckDBPyConnection,
    random_state: int = 0,
    *,
    features_table: str = FEATURES_TABLE,
    outcome: Outcome = "revenue",
    n_permutations: int = DEFAULT_PERMUTATIONS,
    forecast: bool = True,
    predictive: bool = True,
) -> pd.DataFrame:
    """Read the account features, run the tests, replace main.hypothesis_tests (one row per
    hypothesis key, with a generated `verdict`), main.permutation_null (the block permutation
    null distributions, for the Evidence page) and main.hypothesis_diagnostics (overlap, effect by
    segment, benchmarks, MDE curve: `models.diagnostics`); with predictive=True also main.model_comparison
    and main.feature_importance (`models.predictive.run_predictive_value`: linear vs non-linear
    learners on nested feature sets, grouped permutation importance), in the same transaction;
    then (forecast=True) the forward-looking main.account_value_forecast tables
    (`models.forecast.write_account_value_forecast`).
    predictive=False (the calibration study) leaves main.model_comparison and
    main.feature_importance as they are. Returns the hypothesis_tests rows written.
    """
    features = read_account_features(con, features_table)
    # Hypotheses whose input the export lacks are not run (main.analysis_coverage says why).
    not_run = skipped_hypotheses(con)
    results = run_statistics(features, random_state, outcome=outcome, n_permutations=n_permutations,
                             not_run=not_run)
    tests = results.tests
    diagnostics = results.diagnostics
    if outcome == "revenue":
        # the within-account design decides H1 and H2; the cross-sectional rows become secondary
        tests = apply_within_account_design(tests, features, read_event_windows(con), random_state,
                                            not_run=not_run)
        # sizes and conclusions for the new layout (the within-account rows keep their own sentences:
        # models.diagnostics.add_sizes_and_verdicts would reword every row by models.verdicts' rules);
        # the diagnostics follow the DML rows to their ':cross_sectional' keys
        tests = add_sizes_and_conclusions(tests, features, outcome)
        tests = add_power_to_not_significant(tests)
        moved = {key.removesuffix(":cross_sectional") for key in tests["hypothesis"] if key.endswith(":cross_sectional")}
        diagnostics = diagnostics.assign(hypothesis=[f"{key}:cross_sectional" if key in moved else key
                                                     for key in diagnostics["hypothesis"]])
    tests = tests.assign(note=tests["note"].replace("", None))
    views = {"hypothesis_test_rows": tests, "permutation_null_rows": results.permutation_null,
             "hypothesis_diagnostic_rows": _nulls_for_empty_notes(diagnostics)}
    statements = [
        HYPOTHESIS_TESTS_DDL, f"insert into {HYPOTHESIS_TESTS_TABLE} by name select * from hypothesis_test_rows",
        PERMUTATION_NULL_DDL, f"insert into {PERMUTATION_NULL_TABLE} by name select * from permutation_null_rows",
        HYPOTHESIS_DIAGNOSTICS_DDL,
        f"insert into {HYPOTHESIS_DIAGNOSTICS_TABLE} by name select * from hypothesis_diagnostic_rows",
    ]
    if predictive:
        value = run_predictive_value(features, random_state, outcome=outcome)
        views.update(model_comparison_rows=_nulls_for_empty_notes(value.comparison),
                     feature_importance_rows=_nulls_for_empty_notes(value.importance))
        statements += [
            MODEL_COMPARISON_DDL, f"insert into {MODEL_COMPARISON_TABLE} by name select * from model_comparison_rows",
            FEATURE_IMPORTANCE_DDL,
            f"insert into {FEATURE_IMPORTANCE_TABLE} by name select * from feature_importance_rows",
        ]
    for name, frame in views.items():
        con.register(name, frame)
    # One transaction: readers never see a table replaced but still empty.
    con.execute("begin transaction")
    try:
        for statement in statements:
            con.execute(statement)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in views:
            con.unregister(name)
    if forecast:
        write_account_value_forecast(con, random_state)
    return tests


def _nulls_for_empty_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """`note` as text or NULL (never an empty string), typed as text even when every note is NULL."""
    return frame.assign(note=frame["note"].replace("", None).astype(object))
