"""Forward-looking account value: each active account's revenue over the next horizon.

Design (docs/statistics.md, section 8). With E = the month after the data's last month and H the horizon
(dbt var forecast_horizon_months):

* features at a cutoff c (the dbt model analytics.ml_forecast_features, one row per cutoff and
  account) use only what is known before c: revenue in the last 3 / 12 months and
  the 12 before those, months with revenue, tenure, account attributes, deals won and the mean
  alignment of deals created in the last 24 months, trust-eroding / -building events in the last 12
  months. An account is *active* at c if it had revenue in the 12 months before c.
* target: revenue in [c, c + H).
* evaluation: trained at c = E - 2H (target [E - 2H, E - H)), evaluated at c = E - H (target
  [E - H, E)), a later period the model never saw; error against the naive forecast "the next H
  months bring what the last 12 did" (scaled to H), interval coverage and decile calibration.
* forecast: refitted at c = E - H (the latest complete target) and applied at c = E; the actual is
  unknown (NULL).

Model: gradient-boosted quantile regressions (10%, 50%, 90%) of log(1 + revenue), made exact by
split conformal calibration (conformalised quantile regression, Romano et al. 2019) on a held-out
quarter of the training accounts; quantiles survive the monotone back-transform, so the interval
and the median hold in currency units too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from dealscope.ingest.sql import literal
from dealscope.warehouse import table_exists
from models.tables import (
    ACCOUNT_VALUE_FORECAST,
    ACCOUNT_VALUE_FORECAST_DECILES,
    ACCOUNT_VALUE_FORECAST_EVALUATION,
    replace_tables,
)

FEATURES_TABLE = "analytics.ml_forecast_features"
FORECAST_TABLES = (ACCOUNT_VALUE_FORECAST, ACCOUNT_VALUE_FORECAST_EVALUATION, ACCOUNT_VALUE_FORECAST_DECILES)
INTERVAL_LEVEL = 0.8
CATEGORICAL = ["segment", "industry", "region"]
NUMERIC = ["revenue_last_3m", "revenue_last_12m", "revenue_prior_12m", "active_months_last_12m", "tenure_months",
           "log_employee_count", "deals_won_last_12m", "value_won_last_12m", "mean_alignment_last_24m",
           "trust_eroding_last_12m", "trust_building_last_12m"]
PERIODS = ("train", "evaluation", "forecast")


_FEATURES_IN_ORDER = f"select * from {FEATURES_TABLE} order by period, account_id"


def _by_period(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {period: frame[frame["period"] == period].reset_index(drop=True) for period in PERIODS}


def account_features(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The features of analytics.ml_forecast_features (dbt) by period: train (cutoff E - 2H),
    evaluation (E - H) and forecast (E), each ordered by account."""
    return _by_period(con.execute(_FEATURES_IN_ORDER).df())


def export_forecast_features(con: duckdb.DuckDBPyConnection, folder: Path) -> Path | None:
    """analytics.ml_forecast_features in `account_features`' order as folder/ml_forecast_features.parquet
    (None when the warehouse has no such table), for another process: `forecast_from_file`."""
    if not table_exists(con, *FEATURES_TABLE.split(".")):
        return None
    path = folder / "ml_forecast_features.parquet"
    con.execute(f"copy ({_FEATURES_IN_ORDER}) to {literal(str(path))} (format parquet)")
    return path


def forecast_from_file(path: Path | None, random_state: int = 0) -> ForecastResults | None:
    """`run_forecast` on the features `export_forecast_features` wrote (None: no forecast features)."""
    if path is None:
        return None
    with duckdb.connect() as con:
        features = _by_period(con.execute(f"select * from read_parquet({literal(str(path))})").df())
    with threadpool_limits(limits=1):  # small models on a shared machine: OpenMP threads only contend
        return run_forecast(features, random_state)


def quantile_model(quantile: float, random_state: int) -> Pipeline:
    preprocess = ColumnTransformer(
        [("categorical", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                        encoded_missing_value=-1), CATEGORICAL),
         ("numeric", "passthrough", NUMERIC)])
    model = HistGradientBoostingRegressor(loss="quantile", quantile=quantile, max_iter=100, learning_rate=0.1,
                                          max_leaf_nodes=31, min_samples_leaf=20, random_state=random_state,
                                          categorical_features=[0, 1, 2])
    return Pipeline([("preprocess", preprocess), ("model", model)])


def _model_input(frame: pd.DataFrame) -> pd.DataFrame:
    categories = frame[CATEGORICAL].astype(object).where(frame[CATEGORICAL].notna(), "(missing)").astype(str)
    numbers = frame[NUMERIC].astype(float)
    money = ["revenue_last_3m", "revenue_last_12m", "revenue_prior_12m", "value_won_last_12m"]
    numbers[money] = np.log1p(numbers[money].clip(lower=0))
    # a column missing everywhere (e.g. no deal scored in the window) carries no information, and
    # the boosting's binning rejects it: make it a constant
    numbers.loc[:, numbers.isna().all()] = 0.0
    return pd.concat([categories, numbers], axis=1)


def conformal_margin(low: np.ndarray, high: np.ndarray, y: np.ndarray, level: float) -> float:
    """Split-conformal widening of a quantile interval (CQR): the ceil((n+1) level)-th smallest
    conformity score max(low - y, y - high) on calibration rows."""
    scores = np.sort(np.maximum(low - y, y - high))
    rank = int(np.ceil((len(scores) + 1) * level)) - 1
    return float(scores[min(rank, len(scores) - 1)])


@dataclass(frozen=True)
class FittedForecaster:
    low: Pipeline
    median: Pipeline
    high: Pipeline
    margin: float  # conformal widening on the log1p scale

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = _model_input(frame)
        median = self.median.predict(x)
        low = np.minimum(self.low.predict(x) - self.margin, median)
        high = np.maximum(self.high.predict(x) + self.margin, median)
        to_value = lambda v: np.expm1(np.maximum(v, 0.0))  # noqa: E731 - revenue >= 0
        return pd.DataFrame({"predicted_value": to_value(median), "predicted_low": to_value(low),
                             "predicted_high": to_value(high)}, index=frame.index)


def fit_forecaster(train: pd.DataFrame, level: float, random_state: int) -> FittedForecaster:
    """Quantile models on three quarters of the training accounts, conformal margin on the rest."""
    rng = np.random.default_rng(random_state)
    calibration = rng.random(len(train)) < 0.25
    x, y = _model_input(train), np.log1p(train["actual_value"].to_numpy(dtype=float))
    tail = (1 - level) / 2
    models = [quantile_model(q, random_state).fit(x[~calibration], y[~calibration])
              for q in (tail, 0.5, 1 - tail)]
    margin = conformal_margin(models[0].predict(x[calibration]), models[2].predict(x[calibration]),
                              y[calibration], level)
    return FittedForecaster(models[0], models[1], models[2], margin)


def naive_forecast(frame: pd.DataFrame, horizon: int) -> np.ndarray:
    """'The next horizon brings what the last 12 months did', scaled to the horizon."""
    return frame["revenue_last_12m"].to_numpy(dtype=float) * horizon / 12


def evaluation_metrics(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray, low: np.ndarray,
                       high: np.ndarray) -> pd.DataFrame:
    """Error of the model and of the naive forecast on the evaluation period, and interval coverage."""
    def rows(name: str, forecast: np.ndarray) -> list[dict]:
        return [{"forecaster": name, "metric": "mean_absolute_error", "value": float(np.mean(np.abs(actual - forecast)))},
                {"forecaster": name, "metric": "rmse_log1p",
                 "value": float(np.sqrt(np.mean((np.log1p(actual) - np.log1p(forecast)) ** 2)))},
                {"forecaster": name, "metric": "total_error_pct",
                 "value": float(100 * (forecast.sum() - actual.sum()) / actual.sum()) if actual.sum() else np.nan}]
    interval = [{"forecaster": "model", "metric": "interval_coverage",
                 "value": float(np.mean((actual >= low) & (actual <= high)))},
                {"forecaster": "model", "metric": "median_interval_width", "value": float(np.median(high - low))},
                {"forecaster": "model", "metric": "n_accounts", "value": float(len(actual))}]
    return pd.DataFrame(rows("model", predicted) + rows("naive_last_12_months", naive) + interval)


def decile_calibration(actual: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean predicted vs mean actual value per decile of the prediction (calibration plot data)."""
    deciles = pd.qcut(pd.Series(predicted).rank(method="first"), 10, labels=False) + 1
    frame = pd.DataFrame({"decile": deciles, "predicted": predicted, "actual": actual})
    return (frame.groupby("decile", as_index=False)
            .agg(mean_predicted=("predicted", "mean"), mean_actual=("actual", "mean"), n_accounts=("actual", "size")))


@dataclass(frozen=True)
class ForecastResults:
    forecast: pd.DataFrame  # evaluation rows (actual known) and forecast rows (actual NULL)
    evaluation: pd.DataFrame
    deciles: pd.DataFrame


def run_forecast(features: dict[str, pd.DataFrame], random_state: int = 0, level: float = INTERVAL_LEVEL,
                 min_accounts: int = 50) -> ForecastResults | None:
    """Train at E - 2H, evaluate at E - H, forecast at E (`features`: `account_features`' periods); None
    when there is not enough history."""
    train, evaluation, current = (features[period] for period in PERIODS)
    if min(len(train), len(evaluation)) < min_accounts:
        return None
    horizon = int(evaluation["horizon_months"].iloc[0])
    evaluated = fit_forecaster(train, level, random_state).predict(evaluation)
    forecasted = fit_forecaster(evaluation, level, random_state).predict(current)

    def rows(frame: pd.DataFrame, predictions: pd.DataFrame, period: str) -> pd.DataFrame:
        return pd.concat([frame[["account_id", "segment", "cutoff_month", "horizon_months"]], predictions],
                         axis=1).assign(period=period, interval_level=level,
            naive_value=naive_forecast(frame, horizon), actual_value=frame["actual_value"].astype(float))

    actual = evaluation["actual_value"].to_numpy(dtype=float)
    return ForecastResults(
        forecast=pd.concat([rows(evaluation, evaluated, "evaluation"), rows(current, forecasted, "forecast")],
                           ignore_index=True),
        evaluation=evaluation_metrics(actual, evaluated["predicted_value"].to_numpy(), naive_forecast(evaluation, horizon),
                                      evaluated["predicted_low"].to_numpy(), evaluated["predicted_high"].to_numpy())
        .assign(cutoff_month=evaluation["cutoff_month"].iloc[0], trained_at=train["cutoff_month"].iloc[0],
                horizon_months=horizon),
        deciles=decile_calibration(actual, evaluated["predicted_value"].to_numpy()),
    )


def write_account_value_forecast(con: duckdb.DuckDBPyConnection, random_state: int = 0) -> ForecastResults | None:
    """Replace main.account_value_forecast (+ _evaluation, _deciles), computed in this process (the
    pipeline's statistics stage computes it in whichever process is free: `forecast_from_file`); nothing
    is written (and any earlier tables are dropped) when the warehouse has no forecast features or too
    little history."""
    results = None
    if table_exists(con, *FEATURES_TABLE.split(".")):
        with threadpool_limits(limits=1):  # small models on a shared machine: OpenMP threads only contend
            results = run_forecast(account_features(con), random_state)
    return write_forecast_tables(con, results)


def write_forecast_tables(con: duckdb.DuckDBPyConnection, results: ForecastResults | None) -> ForecastResults | None:
    """The forecast tables from `results`, or none of them (earlier ones dropped) when it is None."""
    if results is None:
        con.execute("begin transaction")
        for registered in FORECAST_TABLES:
            con.execute(f"drop table if exists {registered.name}")
        con.execute("commit")
    else:
        replace_tables(con, list(zip(FORECAST_TABLES, (results.forecast, results.evaluation, results.deciles))))
    return results
