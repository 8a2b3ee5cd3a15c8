"""The statistical stage of the pipeline: warehouse features in, `main.hypothesis_tests` out.

The Dagster asset calls only `write_hypothesis_tests`; this module does not import Dagster.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from models.features import FEATURES_TABLE, Outcome, read_account_features
from models.forecast import write_account_value_forecast
from models.hypotheses import DEFAULT_PERMUTATIONS, run_statistics

HYPOTHESIS_TESTS_TABLE = "main.hypothesis_tests"
PERMUTATION_NULL_TABLE = "main.permutation_null"

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
    verdict VARCHAR NOT NULL,
    PRIMARY KEY (hypothesis)
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


def write_hypothesis_tests(
    con: duckdb.DuckDBPyConnection,
    random_state: int = 0,
    *,
    features_table: str = FEATURES_TABLE,
    outcome: Outcome = "revenue",
    n_permutations: int = DEFAULT_PERMUTATIONS,
    forecast: bool = True,
) -> pd.DataFrame:
    """Read the account features, run the tests, replace main.hypothesis_tests (one row per
    hypothesis key, with a generated `verdict`) and main.permutation_null (the block permutation
    null distributions, for the Evidence page); then (forecast=True) the forward-looking
    main.account_value_forecast tables (`models.forecast.write_account_value_forecast`).
    Returns the hypothesis_tests rows written.
    """
    results = run_statistics(read_account_features(con, features_table), random_state, outcome=outcome,
                             n_permutations=n_permutations)
    tests = results.tests.assign(note=results.tests["note"].replace("", None))
    con.register("hypothesis_test_rows", tests)
    con.register("permutation_null_rows", results.permutation_null)
    # One transaction: readers never see a table replaced but still empty.
    con.execute("begin transaction")
    try:
        con.execute(HYPOTHESIS_TESTS_DDL)
        con.execute(f"insert into {HYPOTHESIS_TESTS_TABLE} by name select * from hypothesis_test_rows")
        con.execute(PERMUTATION_NULL_DDL)
        con.execute(f"insert into {PERMUTATION_NULL_TABLE} by name select * from permutation_null_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("hypothesis_test_rows")
        con.unregister("permutation_null_rows")
    if forecast:
        write_account_value_forecast(con, random_state)
    return tests
