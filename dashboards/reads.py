"""The warehouse reads behind the dashboards: plain SELECTs of documented tables.

Metrics (win rates, Wilson intervals, account value, test results) are computed by dbt
and `models/`; this module only fetches them. Columns the pages can live without are
selected when present and filled with NULL when not, so an older or partial warehouse
still renders. `negotiation_events` is never read (its notes are confidential), and
of `rejected_rows` only source and reason are read (the raw record may hold notes).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

# win_loss carries the company-wide rate as one row with this dimension (dbt convention);
# the aliases tolerate other spellings of the same idea.
OVERALL_DIMENSIONS: tuple[str, ...] = ("overall", "all", "company", "total")

WIN_LOSS_COLUMNS = (
    "dimension", "value", "deals_closed", "deals_won", "win_rate",
    "win_rate_ci_low", "win_rate_ci_high", "value_won", "value_lost",
)
WIN_LOSS_OPTIONAL = ("deals_lost", "is_small_sample")
FCT_DEALS_COLUMNS = ("deal_id", "stage", "created_at", "closed_at")
ACCOUNT_VALUE_COLUMNS = (
    "account_id", "segment", "deals_won", "lifetime_revenue",
    "lifetime_gross_margin", "mean_alignment",
)
ACCOUNT_VALUE_OPTIONAL = ("value_source",)
HYPOTHESIS_COLUMNS = (
    "hypothesis", "feature_block", "estimate", "ci_low", "ci_high",
    "p_value", "p_value_holm", "n_accounts", "method", "supported", "unit",
)
LOAD_SUMMARY_COLUMNS = (
    "source", "source_file", "file_present", "rows_read", "rows_loaded",
    "rows_rejected", "loaded_at",
)


class MissingWarehouseData(RuntimeError):
    """A table or column the dashboards need is not in the warehouse."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str] | None:
    """Lower-cased column names of schema.table in the current database; None if no such table."""
    rows = con.execute(
        """
        SELECT lower(column_name)
        FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?
        """,
        [schema, table],
    ).fetchall()
    return {name for (name,) in rows} or None


def select_columns(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    table_optional: bool = False,
    order_by: Sequence[str] = (),
) -> pd.DataFrame:
    """SELECT the named columns of schema.table; absent optional columns come back as NULL.

    A missing table (unless `table_optional`) or required column raises MissingWarehouseData
    naming it; a missing optional table gives an empty frame with every column.
    """
    present = table_columns(con, schema, table)
    wanted = [*required, *optional]
    if present is None:
        if table_optional:
            return pd.DataFrame({name: pd.Series(dtype="object") for name in wanted})
        raise MissingWarehouseData(f"table {schema}.{table} is not in the warehouse")
    missing = [name for name in required if name.lower() not in present]
    if missing:
        raise MissingWarehouseData(f"{schema}.{table} has no column(s) {', '.join(missing)}")
    select_list = ", ".join(
        _quote(name) if name.lower() in present else f"NULL AS {_quote(name)}" for name in wanted
    )
    order = f" ORDER BY {', '.join(_quote(name) for name in order_by)}" if order_by else ""
    return con.execute(f"SELECT {select_list} FROM {_quote(schema)}.{_quote(table)}{order}").df()


def read_win_loss(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return select_columns(
        con, "main", "win_loss", WIN_LOSS_COLUMNS, WIN_LOSS_OPTIONAL,
        order_by=("dimension", "value"),
    )


def read_deals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return select_columns(con, "main", "fct_deals", FCT_DEALS_COLUMNS)


def read_account_value(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return select_columns(
        con, "main", "account_value", ACCOUNT_VALUE_COLUMNS, ACCOUNT_VALUE_OPTIONAL
    )


def read_hypothesis_tests(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every column optional except the hypothesis name: models/ may not fill them all."""
    return select_columns(
        con, "main", "hypothesis_tests", ("hypothesis",), HYPOTHESIS_COLUMNS[1:],
        table_optional=True, order_by=("hypothesis",),
    )


def read_load_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest load of each source (the loader may keep earlier loads as history)."""
    if table_columns(con, "raw", "load_summary") is None:
        raise MissingWarehouseData("table raw.load_summary is not in the warehouse")
    return con.execute(
        """
        SELECT source, source_file, file_present, rows_read, rows_loaded, rows_rejected, loaded_at
        FROM raw.load_summary
        QUALIFY row_number() OVER (PARTITION BY source ORDER BY loaded_at DESC) = 1
        ORDER BY source
        """
    ).df()


def read_rejection_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rejected rows counted by source and reason; the record and detail are never read."""
    if table_columns(con, "main", "rejected_rows") is None:
        raise MissingWarehouseData("table main.rejected_rows is not in the warehouse")
    return con.execute(
        """
        SELECT source, reason, count(*) AS rows_rejected
        FROM main.rejected_rows
        GROUP BY source, reason
        ORDER BY source, rows_rejected DESC, reason
        """
    ).df()
