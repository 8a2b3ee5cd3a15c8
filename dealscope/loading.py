"""Loading the inputs of one deployment: its mapping (if any) and the rejection gate.

Shared by the Dagster ingest assets and `dealscope check`, so both read the same files the
same way. No Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from dealscope.ingest import LoadCounts, load_table
from dealscope.mapping import Mapping, parse_mapping
from dealscope.settings import Settings

# The run needs accounts and deals; without most of them every result would mislead.
GATED_TABLES = ("accounts", "deals")
TOP_REASONS = 5


class RejectionGateError(RuntimeError):
    """Accounts or deals lost too many rows to rejection: the run stops before publishing."""


def read_mapping(settings: Settings) -> Mapping | None:
    """The deployment's mapping, parsed and checked (MappingError names the file and line)."""
    path = settings.mapping_file
    return parse_mapping(path) if path is not None else None


def load_input_table(
    con: duckdb.DuckDBPyConnection, settings: Settings, mapping: Mapping | None, table: str, loaded_at: datetime,
    spark_staging: Path | None = None,
) -> LoadCounts:
    """Load one input table into the build file; with the Spark engine, Spark reads and validates
    the file (a table the mapping shapes is read by the DuckDB loader on either engine) and hands
    its results over in `spark_staging` (default: beside the build file)."""
    if settings.engine == "spark" and (mapping is None or table not in mapping.tables):
        from dealscope import spark_engine
        from dealscope.ingest.spark_validate import load_table_on_spark

        return load_table_on_spark(con, spark_engine.validation_session(), table, settings.data_dir, loaded_at,
                                   spark_staging or spark_engine.validation_staging_dir(settings.build_db))
    return load_table(con, table, settings.data_dir, loaded_at, mapping)


@dataclass(frozen=True)
class ReasonSummary:
    reason: str
    rows: int
    source_file: str | None
    example_row: int
    example_detail: str


@dataclass(frozen=True)
class TableVerdict:
    source: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    limit: float
    reasons: tuple[ReasonSummary, ...]

    @property
    def rejected_share(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0

    @property
    def problem(self) -> str | None:
        """Why this table stops the run, or None."""
        if self.source not in GATED_TABLES:
            return None
        if self.rows_loaded == 0:
            return f"{self.source}: no row loaded (read {self.rows_read:,})"
        if self.rejected_share > self.limit:
            return (
                f"{self.source}: {self.rows_rejected:,} of {self.rows_read:,} rows rejected "
                f"({self.rejected_share:.0%}, more than the allowed {self.limit:.0%})"
            )
        return None


def top_reasons(con: duckdb.DuckDBPyConnection, source: str, limit: int = TOP_REASONS) -> tuple[ReasonSummary, ...]:
    """The most frequent rejection reasons of a table, each with its first example row."""
    rows = con.execute(
        """SELECT reason, count(*) AS n, arg_min(source_file, row_number), min(row_number), arg_min(detail, row_number)
           FROM main.rejected_rows WHERE source = ? GROUP BY reason ORDER BY n DESC, reason LIMIT ?""",
        [source, limit],
    ).fetchall()
    return tuple(ReasonSummary(r[0], int(r[1]), r[2], int(r[3]), r[4]) for r in rows)


def table_verdicts(con: duckdb.DuckDBPyConnection, limit: float) -> list[TableVerdict]:
    summary = con.execute(
        "SELECT source, rows_read, rows_loaded, rows_rejected FROM raw.load_summary ORDER BY source"
    ).fetchall()
    return [
        TableVerdict(source, int(read), int(loaded), int(rejected), limit, top_reasons(con, source))
        for source, read, loaded, rejected in summary
    ]


def describe_reasons(verdict: TableVerdict, indent: str = "    ") -> list[str]:
    lines = []
    for r in verdict.reasons:
        where = f"{r.source_file} row {r.example_row}" if r.source_file else f"row {r.example_row}"
        lines.append(f"{indent}{r.rows:>8,}  {r.reason}  (e.g. {where}: {r.example_detail})")
    return lines


def enforce_rejection_gate(
    con: duckdb.DuckDBPyConnection, settings: Settings, mapping: Mapping | None
) -> list[TableVerdict]:
    """Raise RejectionGateError when accounts or deals load nothing or lose too many rows."""
    limit = settings.rejection_limit(mapping.max_rejected_share if mapping else None)
    verdicts = table_verdicts(con, limit)
    # --accept-rejections lifts the share limit; a table that loaded nothing can never be analysed.
    failing = [
        v for v in verdicts if v.problem is not None and (not settings.accept_rejections or v.rows_loaded == 0)
    ]
    if failing:
        lines = ["the load rejected too much to publish results:"]
        for verdict in failing:
            lines.append(f"  {verdict.problem}; top reasons:")
            lines.extend(describe_reasons(verdict))
        lines.append(
            "  Fix the rows or the mapping named in the details (try `dealscope check`), raise max_rejected_share, "
            "or run again with --accept-rejections to publish anyway."
        )
        raise RejectionGateError("\n".join(lines))
    return verdicts
