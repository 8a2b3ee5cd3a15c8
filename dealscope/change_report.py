"""What changed since the previous published run: main.run_changes and main.run_changes_summary.

The new build is compared, in SQL, with the warehouse that is current when the run publishes: its
kept copy `versions/<run_id>.duckdb` (nobody else opens it), else the published file itself, attached
read-only. The comparison reads the contract's tables only (`fct_deals`, `account_value`,
`hypothesis_tests`), so a previous warehouse from older code still compares. Two runs on the same
input give identical tables (docs/metrics.md, "Precision"), so every row here is a change in the
input, the code or the settings, never rounding noise.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dealscope import history
from dealscope.ingest.sql import literal
from dealscope.settings import Settings

PREVIOUS = "previous_run"
# The kinds of change, in the order the Overview lists them (docs/CONTRACT.md, section 3).
# Each kind of change and its count's column in main.run_changes_summary.
CHANGE_KINDS = {
    "deal_added": "deals_added",
    "deal_removed": "deals_removed",
    "stage_changed": "stage_changes",
    "amount_changed": "amount_changes",
    "close_date_changed": "close_date_changes",
    "account_lost": "accounts_lost",
    "verdict_changed": "verdict_changes",
}
RUN_CHANGES_DDL = """
CREATE OR REPLACE TABLE main.run_changes (
    change VARCHAR NOT NULL,
    deal_id VARCHAR,
    account_id VARCHAR,
    hypothesis VARCHAR,
    before VARCHAR,
    after VARCHAR,
    previous_run_id VARCHAR NOT NULL
)"""


def previous_published(settings: Settings) -> tuple[Path, str] | None:
    """The file readers see now and its run id: the current run's kept copy, else the published file."""
    rows = history.history_rows(settings.warehouse)
    current = history.current_run_id(rows)
    if current is None:
        return None
    kept = history.version_path(settings.warehouse, current)
    if kept.is_file():
        return kept, current
    return (settings.warehouse, current) if settings.warehouse.is_file() else None


def _has_columns(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> bool:
    found = {name for (name,) in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ?", [PREVIOUS, table]).fetchall()}
    return set(columns) <= found


def _change_selects(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """One SELECT per kind of change, each over the new build (main) and the previous file."""
    prev = f"{PREVIOUS}.main"
    run = literal(run_id)
    selects = []
    if _has_columns(con, "fct_deals", ("deal_id", "account_id", "stage", "final_amount", "closed_at")):
        selects += [
            f"""SELECT 'deal_added', n.deal_id, n.account_id, NULL, NULL, n.stage, {run}
                FROM main.fct_deals n ANTI JOIN {prev}.fct_deals p USING (deal_id)""",
            f"""SELECT 'deal_removed', p.deal_id, p.account_id, NULL, p.stage, NULL, {run}
                FROM {prev}.fct_deals p ANTI JOIN main.fct_deals n USING (deal_id)""",
        ]
        for kind, column in (("stage_changed", "stage"), ("amount_changed", "final_amount"),
                             ("close_date_changed", "closed_at")):
            selects.append(
                f"""SELECT '{kind}', n.deal_id, n.account_id, NULL, p.{column}::VARCHAR, n.{column}::VARCHAR, {run}
                    FROM main.fct_deals n JOIN {prev}.fct_deals p USING (deal_id)
                    WHERE n.{column} IS DISTINCT FROM p.{column}""")
    if _has_columns(con, "account_value", ("account_id", "is_active")):
        # Active in the previous run and not now: churned, or gone from the export.
        selects.append(
            f"""SELECT 'account_lost', NULL, p.account_id, NULL, 'active',
                       CASE WHEN n.account_id IS NULL THEN 'not in this export' ELSE 'inactive' END, {run}
                FROM {prev}.account_value p LEFT JOIN main.account_value n USING (account_id)
                WHERE p.is_active AND NOT coalesce(n.is_active, false)""")
    if _has_columns(con, "hypothesis_tests", ("hypothesis", "conclusion")):
        selects.append(
            f"""SELECT 'verdict_changed', NULL, NULL, coalesce(n.hypothesis, p.hypothesis),
                       coalesce(p.conclusion, 'not tested'), coalesce(n.conclusion, 'not tested'), {run}
                FROM main.hypothesis_tests n FULL JOIN {prev}.hypothesis_tests p USING (hypothesis)
                WHERE n.conclusion IS DISTINCT FROM p.conclusion""")
    return selects


def write_run_changes(con: duckdb.DuckDBPyConnection, settings: Settings) -> int | None:
    """Write main.run_changes (one row per change) and main.run_changes_summary (one row of counts).

    Returns the number of changes, or None when there is no previous published run to compare with.
    """
    con.execute(RUN_CHANGES_DDL)
    previous = previous_published(settings)
    if previous is not None:
        path, run_id = previous
        con.execute(f"ATTACH {literal(str(path))} AS {PREVIOUS} (READ_ONLY)")
        try:
            selects = _change_selects(con, run_id)
            if selects:
                con.execute("INSERT INTO main.run_changes " + "\nUNION ALL\n".join(selects)
                            + " ORDER BY 1, 2, 3, 4")
        finally:
            con.execute(f"DETACH {PREVIOUS}")
    counts = ", ".join(f"count(*) FILTER (WHERE change = '{kind}') :: BIGINT AS {column}"
                       for kind, column in CHANGE_KINDS.items())
    previous_id = literal(previous[1]) if previous is not None else "NULL"
    con.execute(
        f"""CREATE OR REPLACE TABLE main.run_changes_summary AS
            SELECT {previous_id} :: VARCHAR AS previous_run_id, {previous is not None} AS compared, {counts}
            FROM main.run_changes""")
    return None if previous is None else con.execute("SELECT count(*) FROM main.run_changes").fetchone()[0]
