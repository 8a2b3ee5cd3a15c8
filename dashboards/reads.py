"""The warehouse reads behind the dashboards: plain SELECTs of documented tables.

Metrics (win rates, Wilson intervals, account value, test results) are computed by dbt
and `models/`; this module only fetches them (plus counts and totals a page states
as coverage). The statistics tables are read by their registry (`models.tables`,
`read_registered`): exactly the registered names, no other spellings, and a registered
column missing from the warehouse is an error. For the dbt marts, columns the pages can
live without are selected when present and filled with NULL when not; a section whose
table is absent gets an `Unavailable` that says so, never an exception.
`negotiation_events` is never read (its notes are confidential), and of `rejected_rows`
only source and reason are read (the raw record and detail may hold notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from models.tables import (
    ACCOUNT_VALUE_BINS,
    ALIGNMENT_VALUE_BINS,
    ANALYSIS_COVERAGE,
    HYPOTHESIS_TESTS,
    LATEST_LOADS,
    Table,
)

# win_loss carries the company-wide rate as one row with this dimension (dbt convention);
# the aliases tolerate other spellings of the same idea.
OVERALL_DIMENSIONS: tuple[str, ...] = ("overall", "all", "company", "total")
# Columns that may carry confidential free text: never selected by any read.
CONFIDENTIAL_COLUMNS: frozenset[str] = frozenset({"notes", "note_text", "record", "detail"})

WIN_LOSS_COLUMNS = (
    "dimension", "value", "deals_closed", "deals_won", "win_rate",
    "win_rate_ci_low", "win_rate_ci_high", "value_won", "value_lost",
)
WIN_LOSS_OPTIONAL = (
    "deals_lost", "is_small_sample", "value_win_rate", "avg_discount_pct", "median_cycle_days",
    "deal_velocity", "win_rate_diff_vs_overall", "diff_p_value", "strength_rank",
    "q_value", "is_strength", "is_weakness", "cells_tested", "flags_expected_by_chance_uncorrected",
)
FCT_DEALS_COLUMNS = ("deal_id", "stage", "created_at", "closed_at")
ACCOUNT_VALUE_COLUMNS = (
    "account_id", "segment", "deals_won", "lifetime_revenue",
    "lifetime_gross_margin", "mean_alignment",
)
ACCOUNT_VALUE_OPTIONAL = (
    "value_source", "is_active", "is_churned", "discounted_lifetime_value", "horizon_value",
    "is_horizon_observed",
)
class MissingWarehouseData(RuntimeError):
    """A table or column the dashboards cannot do without is not in the warehouse."""


@dataclass(frozen=True)
class Unavailable:
    """A section's table (or a column it needs) is not in the warehouse: said, not drawn."""

    table: str
    reason: str

    def sentence(self, what: str) -> str:
        return f"Not available yet: {what} ({self.reason})."


@dataclass(frozen=True)
class Skipped(Unavailable):
    """The analysis behind a section did not run: the export lacks an input it needs
    (main.analysis_coverage, dealscope/coverage.py)."""

    needs: str = ""

    def sentence(self, what: str) -> str:
        return f"Not drawn: {what} {self.reason}."


TableRead = pd.DataFrame | Unavailable
COVERAGE_COLUMNS = ANALYSIS_COVERAGE.column_names


def read_analysis_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """main.analysis_coverage (one row per analysis), or an empty frame from a warehouse without it."""
    read = read_registered(con, ANALYSIS_COVERAGE, order_by=("analysis",))
    if isinstance(read, Unavailable):
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COVERAGE_COLUMNS})
    return read


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
    """SELECT the named columns of schema.table (a dbt mart); absent optional columns come back as NULL.

    A missing table (unless `table_optional`) or required column raises MissingWarehouseData
    naming it; a missing optional table gives an empty frame with every column.
    """
    present = table_columns(con, schema, table)
    wanted = [*required, *optional]
    if present is None:
        if table_optional:
            return pd.DataFrame({name: pd.Series(dtype="object") for name in wanted})
        raise MissingWarehouseData(f"table {schema}.{table} is not in the warehouse")
    def readable(name: str) -> bool:
        return name.lower() in present and name.lower() not in CONFIDENTIAL_COLUMNS

    missing = [name for name in required if not readable(name)]
    if missing:
        raise MissingWarehouseData(f"{schema}.{table} has no column(s) {', '.join(missing)}")
    select_list = ", ".join(_quote(name) if readable(name) else f"NULL AS {_quote(name)}" for name in wanted)
    order = f" ORDER BY {', '.join(_quote(name) for name in order_by)}" if order_by else ""
    return con.execute(f"SELECT {select_list} FROM {_quote(schema)}.{_quote(table)}{order}").df()


def read_optional(
    con: duckdb.DuckDBPyConnection,
    table: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    schema: str = "main",
    order_by: Sequence[str] = (),
) -> TableRead:
    """Like select_columns, but an absent table or required column is an Unavailable."""
    try:
        return select_columns(con, schema, table, required, optional, order_by=order_by)
    except MissingWarehouseData as missing:
        return Unavailable(f"{schema}.{table}", str(missing))


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


def read_registered(con: duckdb.DuckDBPyConnection, registered: Table, columns: Sequence[str] | None = None,
                    *, order_by: Sequence[str] = ()) -> TableRead:
    """SELECT the named columns (default: all but confidential ones) of a registered statistics table.

    A name the registry does not know raises `models.tables.UnknownColumn` (a misspelling in the
    dashboards fails loudly); a table the warehouse does not hold yet is an `Unavailable`; a table that
    lacks a registered column raises MissingWarehouseData (the writer and the registry disagree).
    """
    wanted = registered.check_columns(columns if columns is not None else registered.column_names)
    registered.check_columns(order_by)
    present = table_columns(con, registered.schema, registered.table)
    if present is None:
        return Unavailable(registered.name, f"table {registered.name} is not in the warehouse")
    missing = [name for name in wanted if name not in present]
    if missing:
        raise MissingWarehouseData(f"{registered.name} has no column(s) {', '.join(missing)}: "
                                   "it was not written from models.tables")
    shown = [name for name in wanted if name not in CONFIDENTIAL_COLUMNS]
    order = f" ORDER BY {', '.join(_quote(name) for name in order_by)}" if order_by else ""
    frame = con.execute(f"SELECT {', '.join(_quote(c) for c in shown)} FROM "
                        f"{_quote(registered.schema)}.{_quote(registered.table)}{order}").df()
    frame.attrs["table"] = registered.name
    return frame


def read_hypothesis_tests(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """main.hypothesis_tests as registered; an empty frame with every column when the statistics stage
    has not written it."""
    read = read_registered(con, HYPOTHESIS_TESTS, order_by=("hypothesis", "test"))
    if isinstance(read, Unavailable):
        return pd.DataFrame({name: pd.Series(dtype="object") for name in HYPOTHESIS_TESTS.column_names})
    return read


def read_required(con: duckdb.DuckDBPyConnection, registered: Table, *,
                  order_by: Sequence[str] = ()) -> pd.DataFrame:
    """A registered table the pages cannot do without: MissingWarehouseData when the warehouse lacks it."""
    read = read_registered(con, registered, order_by=order_by)
    if isinstance(read, Unavailable):
        raise MissingWarehouseData(read.reason)
    return read


def read_load_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest load of each source (main.latest_loads)."""
    return read_required(con, LATEST_LOADS, order_by=("source",))


def read_rejection_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rejected rows counted by source and reason; the record and detail are never read.

    Counted here, not by dbt: main.rejected_rows is the loader's table in the warehouse file, and
    the Spark engine's dbt run never sees it (only the raw tables go to Spark).
    """
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


def read_account_value_bins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Accounts per bin of lifetime gross margin (main.account_value_bins), 'all segments' first."""
    return read_required(con, ACCOUNT_VALUE_BINS, order_by=("is_segment_view", "view", "segment", "bin"))


def read_alignment_value_bins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Lifetime gross margin by bin of mean alignment (main.alignment_value_bins), 'all segments' first."""
    return read_required(con, ALIGNMENT_VALUE_BINS, order_by=("is_segment_view", "view", "bin"))
