"""Account features for the hypothesis tests, read from `analytics.ml_account_features`.

The dbt model does the windowing (features from the observation window only, outcome
from the window after it, a right-censoring flag); this module turns its rows into
named column blocks and a transformed outcome, dropping censored accounts and counting
them. Column blocks are kept as raw DataFrame columns: imputation and encoding happen
inside each cross-validation fold (see `models.hypotheses`), never on the whole sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

FEATURES_TABLE = "analytics.ml_account_features"

Outcome = Literal["revenue", "gross_margin", "any_revenue"]
OUTCOME_COLUMNS: dict[str, str] = {
    "revenue": "outcome_revenue",
    "gross_margin": "outcome_gross_margin",
    "any_revenue": "outcome_revenue",
}

# Confounders known at (or fixed before) the anchor, plus the number of deals created in
# the window: the account's exposure, i.e. how many occasions it had to be scored or to
# have negotiation events at all.
CATEGORICAL_CONTROLS: tuple[str, ...] = ("segment", "industry", "region")
# months_to_first_win: how long the account was a prospect before its first win (exposure, pre-outcome).
NUMERIC_CONTROLS: tuple[str, ...] = ("log_employee_count", "cohort_year", "deals_created", "months_to_first_win")
# Early value and wins in the window: in the predictive baseline ("what we already know
# after the observation window"), not in the adjustment set, because the treatment can
# act on later value through them (adjusting for a mediator would hide part of the effect).
ACTIVITY_COLUMNS: tuple[str, ...] = ("deals_won", "value_won", "early_revenue", "early_gross_margin")
ALIGNMENT_COLUMNS: tuple[str, ...] = ("mean_alignment",)
TRUST_ERODING_TOTAL = "n_trust_eroding_events"
TRUST_ERODING_SEVERITY = "trust_eroding_severity"
TRUST_ERODING_TYPE_PREFIX = "n_trust_eroding__"
OTHER_EVENT_COLUMNS: tuple[str, ...] = ("n_trust_building_events", "n_competitive_events")
CENSORING_FLAG = "is_outcome_observed"
CUSTOMER_FLAG = "is_customer"


@dataclass(frozen=True)
class FeatureBlocks:
    """Observed (uncensored) accounts, their feature blocks by column name, and y."""

    frame: pd.DataFrame  # one row per uncensored account, every column of the features table
    y: np.ndarray  # transformed outcome, aligned with `frame`
    outcome: Outcome
    n_excluded_censored: int
    n_excluded_not_customer: int
    trust_eroding_type_columns: tuple[str, ...]

    @property
    def account_ids(self) -> np.ndarray:
        return self.frame["account_id"].to_numpy()

    @property
    def control_columns(self) -> tuple[str, ...]:
        return CATEGORICAL_CONTROLS + NUMERIC_CONTROLS

    @property
    def alignment_columns(self) -> tuple[str, ...]:
        return ALIGNMENT_COLUMNS

    @property
    def trust_columns(self) -> tuple[str, ...]:
        return (TRUST_ERODING_TOTAL, TRUST_ERODING_SEVERITY) + self.trust_eroding_type_columns


def read_account_features(con: duckdb.DuckDBPyConnection, table: str = FEATURES_TABLE) -> pd.DataFrame:
    """The features table as a DataFrame (one row per account with at least one deal)."""
    return con.execute(f"select * from {table} order by account_id").df()


def query_frame(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """The rows of `query` as the DataFrame DuckDB's `.df()` gives (same columns, dtypes and values),
    read through Arrow: text becomes one Python string per distinct value, not one per row. Reading
    the event windows of 100,000 accounts raised a process's peak by 241 MB this way, 426 MB with
    `.df()` (what a read frees stays with the process's allocators, so its peak is paid for the
    whole stage)."""
    table = con.sql(query).to_arrow_table()
    frame = table.to_pandas(date_as_object=False)
    for field, column in zip(table.schema, table.columns):
        kind = field.type
        if pa.types.is_date(kind):
            frame[field.name] = frame[field.name].astype("datetime64[us]")
        elif pa.types.is_decimal(kind):
            frame[field.name] = frame[field.name].astype(float)
        elif column.null_count and pa.types.is_boolean(kind):
            frame[field.name] = pd.BooleanDtype().__from_arrow__(column)
        elif column.null_count and pa.types.is_integer(kind):
            frame[field.name] = pd.api.types.pandas_dtype(f"{'U' if pa.types.is_unsigned_integer(kind) else ''}"
                                                           f"Int{kind.bit_width}").__from_arrow__(column)
    return frame


def transform_outcome(values: np.ndarray | pd.Series, outcome: Outcome = "revenue") -> np.ndarray:
    """The outcome on the scale the effects are estimated on.

    revenue:      log(1 + revenue); revenue is >= 0 by contract, and log makes effects
                  proportional and tames the heavy right tail of account value.
    gross_margin: sign(m) * log(1 + |m|), because margin may be negative; the transform is
                  monotone, continuous at 0 and log-like in both tails.
    any_revenue:  1 if the outcome window has any revenue, else 0 (the extensive margin:
                  churned or never-won accounts). log(1 + revenue) mixes this margin with the
                  intensive one; this outcome separates it (see docs/statistics.md).
    """
    values = np.asarray(values, dtype=float)
    if outcome == "revenue":
        if np.any(values < 0):
            raise ValueError("outcome revenue must be >= 0 (the contract forbids negative revenue)")
        return np.log1p(values)
    if outcome == "gross_margin":
        return np.sign(values) * np.log1p(np.abs(values))
    if outcome == "any_revenue":
        return (values > 0).astype(float)
    raise ValueError(f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOME_COLUMNS)}")


def build_feature_blocks(features: pd.DataFrame, outcome: Outcome = "revenue") -> FeatureBlocks:
    """Keep customers whose whole outcome window is observed; count the ones dropped.

    Never-won accounts (no customer relationship, hence no windows) are counted in
    n_excluded_not_customer, customers whose outcome window is not over in n_excluded_censored.
    """
    if outcome not in OUTCOME_COLUMNS:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOME_COLUMNS)}")
    customer_mask = (features[CUSTOMER_FLAG].fillna(False).astype(bool).to_numpy() if CUSTOMER_FLAG in features
                     else np.ones(len(features), dtype=bool))
    observed_mask = features[CENSORING_FLAG].fillna(False).astype(bool).to_numpy() & customer_mask
    observed = features.loc[observed_mask].reset_index(drop=True)
    type_columns = tuple(sorted(c for c in features.columns if c.startswith(TRUST_ERODING_TYPE_PREFIX)))
    return FeatureBlocks(
        frame=observed,
        y=transform_outcome(observed[OUTCOME_COLUMNS[outcome]], outcome),
        outcome=outcome,
        n_excluded_censored=int((customer_mask & ~observed_mask).sum()),
        n_excluded_not_customer=int((~customer_mask).sum()),
        trust_eroding_type_columns=type_columns,
    )
