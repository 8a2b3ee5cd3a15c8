"""The forward-looking account value model (models/forecast.py) on a small hand-built warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbt_fixtures import run_dbt
from models.forecast import (
    account_features,
    conformal_margin,
    decile_calibration,
    write_account_value_forecast,
)

N_ACCOUNTS = 300
MONTHS = pd.date_range("2021-01-01", "2025-12-01", freq="MS")


def _warehouse(path: str, seed: int = 0) -> duckdb.DuckDBPyConnection:
    """The hand-built warehouse (below) with dbt's analytics.ml_forecast_features built on it."""
    _inputs(path, seed).close()
    return _with_features(path)


def _with_features(path: str) -> duckdb.DuckDBPyConnection:
    """(Re)build and test analytics.ml_forecast_features with dbt from the tables in the file."""
    run_dbt(["build", "--select", "ml_forecast_features"], build_db=Path(path))
    return duckdb.connect(path)


def _inputs(path: str, seed: int = 0) -> duckdb.DuckDBPyConnection:
    """Accounts with a persistent size, growth and churn, monthly revenue over five years."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(8, 1, N_ACCOUNTS)
    start = rng.integers(0, 30, N_ACCOUNTS)
    churn = start + rng.geometric(1 / 40, N_ACCOUNTS)
    account, month = np.meshgrid(np.arange(N_ACCOUNTS), np.arange(len(MONTHS)), indexing="ij")
    alive = (month >= start[:, None]) & (month < churn[:, None])
    revenue = size[:, None] * np.exp(0.01 * (month - start[:, None]) + rng.normal(0, 0.2, alive.shape))
    ids = np.array([f"a{i:04d}" for i in range(N_ACCOUNTS)])
    monthly = pd.DataFrame({"account_id": ids[account[alive]], "month": MONTHS[month[alive]].date,
                            "revenue": revenue[alive], "gross_margin": 0.3 * revenue[alive]})
    accounts = pd.DataFrame({"account_id": ids, "segment": rng.choice(["smb", "enterprise"], N_ACCOUNTS),
                             "industry": None, "region": "emea", "employee_count": (size / 10).astype(int)})
    con = duckdb.connect(path)
    for schema in ("intermediate", "staging"):
        con.execute(f"create schema {schema}")
    con.register("monthly", monthly)
    con.register("accounts", accounts)
    con.execute("create table intermediate.int_account_monthly_value as select * from monthly")
    con.execute("create table staging.stg_accounts as select * from accounts")
    con.execute("create table main.fct_deals (account_id varchar, is_won boolean, closed_at date, created_at date, "
                "final_amount double, alignment_score double)")
    con.execute("create table staging.stg_negotiation_events (account_id varchar, occurred_at date, polarity varchar)")
    con.execute("insert into staging.stg_negotiation_events values ('a0001', '2024-06-01', 'trust_eroding')")
    return con


def test_conformal_margin_is_the_finite_sample_quantile() -> None:
    y = np.arange(10.0)
    # scores max(low - y, y - high) with low = high = 4.5: |y - 4.5| -> sorted 0.5,0.5,1.5,...,4.5
    margin = conformal_margin(np.full(10, 4.5), np.full(10, 4.5), y, level=0.8)
    assert margin == pytest.approx(4.5)  # ceil(11 * 0.8) = 9th smallest of 10
    assert conformal_margin(np.full(10, 4.5), np.full(10, 4.5), y, level=0.5) == pytest.approx(2.5)


def test_decile_calibration_has_ten_bins() -> None:
    predicted = np.arange(100.0)
    deciles = decile_calibration(predicted * 2, predicted)
    assert list(deciles["decile"]) == list(range(1, 11)) and (deciles["n_accounts"] == 10).all()
    np.testing.assert_allclose(deciles["mean_actual"], 2 * deciles["mean_predicted"])


def test_features_use_only_what_is_known_before_the_cutoff(tmp_path) -> None:
    path = str(tmp_path / "w.duckdb")
    con = _warehouse(path)
    before = account_features(con)
    # data to 2025-12: cutoffs 2024-01 (train), 2025-01 (evaluation), 2026-01 (forecast)
    assert {period: str(frame["cutoff_month"].iloc[0].date()) for period, frame in before.items()} == {
        "train": "2024-01-01", "evaluation": "2025-01-01", "forecast": "2026-01-01"}
    con.execute("update intermediate.int_account_monthly_value set revenue = revenue * 10 where month >= '2024-01-01'")
    con.execute("insert into staging.stg_negotiation_events values ('a0002', '2024-01-01', 'trust_eroding')")
    con.close()
    after = account_features(_with_features(path))
    train_before, train_after = before["train"], after["train"]
    pd.testing.assert_frame_equal(train_before.drop(columns="actual_value"), train_after.drop(columns="actual_value"))
    assert (train_after["actual_value"] >= train_before["actual_value"]).all()  # only the target saw the change
    assert (train_before["revenue_last_12m"] > 0).all()  # active accounts only
    assert train_before.set_index("account_id").loc["a0001", "trust_eroding_last_12m"] == 0  # its event is after
    assert after["forecast"]["actual_value"].isna().all() and after["evaluation"]["actual_value"].notna().all()


def test_forecast_tables_are_written_with_an_evaluation_on_a_later_period(tmp_path) -> None:
    con = _warehouse(str(tmp_path / "w.duckdb"))
    results = write_account_value_forecast(con, random_state=0)
    stored = con.execute("select * from main.account_value_forecast").df()
    evaluation = con.execute("select * from main.account_value_forecast_evaluation").df()
    assert results is not None and len(stored) == len(results.forecast)
    assert set(stored["period"]) == {"evaluation", "forecast"}
    assert stored.loc[stored["period"] == "forecast", "actual_value"].isna().all()
    metric = evaluation.set_index(["forecaster", "metric"])["value"]
    # size persists and growth is steady: the model must beat "same as last year" on the log scale
    assert metric[("model", "rmse_log1p")] < metric[("naive_last_12_months", "rmse_log1p")]
    assert 0.6 <= metric[("model", "interval_coverage")] <= 0.97
    assert pd.Timestamp(evaluation["trained_at"].iloc[0]) == pd.Timestamp("2024-01-01")


def test_no_monthly_value_means_no_forecast_tables(tmp_path) -> None:
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        con.execute("create table main.account_value_forecast as select 1 as stale")
        assert write_account_value_forecast(con) is None
        assert con.execute("select count(*) from information_schema.tables "
                           "where table_name like 'account_value_forecast%'").fetchone()[0] == 0
