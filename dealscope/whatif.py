"""`dealscope whatif`: score the deal history under a draft strategic plan, without a rebuild.

The draft is read by the pipeline's own loader (same format, same validation, bad rows rejected
with reasons), into a scratch in-memory DuckDB that ATTACHes the published warehouse read-only.
Every formula is the dbt project's: the macros of dbt_project/macros/alignment.sql are rendered
by the build into the warehouse table whatif_statements, and that SQL runs in the scratch
database, with no dbt start. So the alignment, the bands and the outcomes by band are those of
the warehouse by construction, and the current plan's side is read from the published marts.
(A warehouse built before that table existed has its SQL rendered once by
`dbt run-operation whatif_sql`, cached beside it per version of the macros.)

The scenario is written into the published warehouse the way runs write: a copy is made beside
it under the writer lock, the scenario's rows replace those of the same name in the copy, and the
copy is renamed over the warehouse. Readers keep their snapshot and are never blocked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import duckdb
import pandas as pd

from dealscope.dbt_runner import installed_dbt_version, run_dbt
from dealscope.ingest import load_table
from dealscope.ingest.errors import InputFileError
from dealscope.settings import DBT_PROJECT_DIR, Settings
from dealscope.warehouse import memory_limit, replace_atomically, writer_lock

# Relation names the rendered SQL uses: the published warehouse is attached as `wh`; the deals
# (fct_deals' columns the what-if needs) and their accounts are first copied into the scratch
# database, which made the alignment query three times faster at 1 M deals than reading the
# attached file inside it.
PUBLISHED_ALIAS = "wh"
PUBLISHED_DEALS = f"{PUBLISHED_ALIAS}.main.fct_deals"
RAW_PLAN = "raw.strategy_plan"
DEALS = "whatif_deals"
# One row per account with the attributes alignment matches on (fct_deals carries them).
ACCOUNTS = "whatif_accounts"
DEAL_INPUT_COLUMNS = (
    "deal_id, account_id, segment, industry, region, product_line, deal_type, stage, created_at, "
    "flagged_strategic, is_closed, is_won, won_value, lost_value, list_amount, final_amount, discount_pct, "
    "gross_margin_pct, alignment_score, alignment_band, plan_effective_from, matched_targets, matched_avoids")
PLAN_ENTRIES = "whatif_plan_entries"
SCENARIO_DEALS = "whatif_scenario_deals"
ACCOUNT_VALUE = f"{PUBLISHED_ALIAS}.main.account_value"

CURRENT, DRAFT = "current", "draft"
BANDS = ("aligned", "partial", "misaligned", "no_plan")
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,79}$")

# The warehouse tables a scenario writes, each keyed by `scenario` (docs/CONTRACT.md, section 3).
WHATIF_TABLES = ("plan_whatif", "plan_whatif_deals", "plan_whatif_accounts", "plan_whatif_rejected_rows")


class WhatIfError(RuntimeError):
    """The what-if cannot run (no warehouse, unusable plan file, no plan row loaded, bad name)."""


# ------------------------------------------------------------------ the SQL, rendered by dbt

def _macro_fingerprint() -> str:
    """What the rendered SQL depends on: the macros, the project's vars, the dbt version."""
    digest = hashlib.sha256(installed_dbt_version().encode())
    for path in sorted((DBT_PROJECT_DIR / "macros").glob("*.sql")) + [DBT_PROJECT_DIR / "dbt_project.yml"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _work_dir(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.stem}.whatif")


# The relations the rendered SQL must name (dbt macro whatif_relations renders with these).
RELATIONS = {
    "raw_plan": RAW_PLAN, "deals": DEALS, "accounts": ACCOUNTS, "plan_entries": PLAN_ENTRIES,
    "scenario_deals": SCENARIO_DEALS, "account_value": ACCOUNT_VALUE,
}


def stored_sql(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """The what-if's SQL kept in the attached warehouse (table whatif_statements), or None when the
    warehouse has none or it was rendered for other relation names."""
    present = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name = 'whatif_statements'", [PUBLISHED_ALIAS]).fetchone()[0]
    if not present:
        return None
    rows = con.execute(f"SELECT statement, sql_text, relations FROM {PUBLISHED_ALIAS}.main.whatif_statements").fetchall()
    if not rows or any(json.loads(relations) != RELATIONS for _, _, relations in rows):
        return None
    return {statement: text for statement, text, _ in rows}


def rendered_sql(warehouse: Path) -> dict[str, str]:
    """The what-if's SQL rendered by `dbt run-operation` for a warehouse without whatif_statements:
    cached beside the warehouse, keyed by the macros' hash."""
    work = _work_dir(warehouse)
    work.mkdir(parents=True, exist_ok=True)
    arguments = RELATIONS
    key = hashlib.sha256((_macro_fingerprint() + json.dumps(arguments, sort_keys=True)).encode()).hexdigest()[:16]
    cache = work / f"sql-{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    # A fixed scratch file for dbt's connection keeps the profile, and so dbt's partial parse, stable.
    scratch = work / "dbt-scratch.duckdb"
    with writer_lock(scratch):
        result = run_dbt(["run-operation", "whatif_sql", "--args", json.dumps(arguments), "--quiet"], scratch,
                         target_path=work / "target", log_path=work / "logs")
    statements = _last_json_object(result.stdout)
    staging = cache.with_name(f".{cache.name}.{os.getpid()}")
    staging.write_text(json.dumps(statements))
    os.replace(staging, cache)
    return statements


def _last_json_object(output: str) -> dict[str, str]:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise WhatIfError(f"dbt run-operation whatif_sql printed no SQL:\n{output[-2000:]}")


# ------------------------------------------------------------------ scoring

@dataclass
class DraftLoad:
    plan_file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejected: pd.DataFrame


@dataclass
class WhatIfResult:
    scenario: str
    plan_file: str
    computed_at: datetime
    load: DraftLoad
    outcomes: pd.DataFrame
    changed_deals: pd.DataFrame
    changed_accounts: pd.DataFrame
    summary: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def scratch_connection(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the published warehouse attached read-only as `wh`."""
    if not warehouse.is_file():
        raise WhatIfError(f"no published warehouse at {warehouse}: run `dealscope run` first")
    # No reader relies on a scratch table's row order (every read has ORDER BY).
    con = duckdb.connect(config={"memory_limit": memory_limit(), "preserve_insertion_order": False})
    try:
        con.execute(f"ATTACH '{_sql_text(str(warehouse))}' AS {PUBLISHED_ALIAS} (READ_ONLY)")
        yield con
    finally:
        con.close()


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def load_draft_plan(con: duckdb.DuckDBPyConnection, plan_file: Path) -> DraftLoad:
    """Read the draft through the pipeline's loader (strategy_plan's contract) into raw.strategy_plan."""
    plan_file = Path(plan_file)
    if not plan_file.is_file():
        raise WhatIfError(f"{plan_file}: no such plan file")
    suffix = plan_file.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise WhatIfError(f"{plan_file}: a plan file is .csv or .parquet (the strategy_plan format)")
    with tempfile.TemporaryDirectory(prefix="dealscope-whatif-") as folder:
        # The loader reads <folder>/strategy_plan.<ext>; the rejects then name the user's file.
        shutil.copyfile(plan_file, Path(folder) / f"strategy_plan{suffix}")
        try:
            counts = load_table(con, "strategy_plan", Path(folder), datetime.now(timezone.utc))
        except InputFileError as error:
            raise WhatIfError(str(error).replace(f"strategy_plan{suffix}", plan_file.name)) from error
    con.execute("UPDATE main.rejected_rows SET source_file = ? WHERE source = 'strategy_plan'", [plan_file.name])
    rejected = con.execute(
        "SELECT source_file, row_number, record, reason, detail FROM main.rejected_rows "
        "WHERE source = 'strategy_plan' ORDER BY row_number, reason").df()
    return DraftLoad(str(plan_file), counts.rows_read, counts.rows_loaded, counts.rows_rejected, rejected)


def score_draft(con: duckdb.DuckDBPyConnection, sql: dict[str, str]) -> None:
    """Alignment of every deal of the published warehouse under the loaded draft (table draft_alignment)."""
    con.execute(f"CREATE OR REPLACE TABLE {DEALS} AS SELECT {DEAL_INPUT_COLUMNS} FROM {PUBLISHED_DEALS}")
    con.execute(f"CREATE OR REPLACE TABLE {ACCOUNTS} AS SELECT DISTINCT account_id, segment, industry, region FROM {DEALS}")
    con.execute(f"CREATE OR REPLACE TABLE {PLAN_ENTRIES} AS {sql['plan_entries']}")
    con.execute(f"CREATE OR REPLACE TABLE draft_alignment AS {sql['deal_alignment']}")


DEAL_COLUMNS = ("deal_id, account_id, is_closed, is_won, won_value, lost_value, final_amount, "
                "discount_pct, gross_margin_pct")


SCRATCH_TABLES = {
    "plan_whatif": "whatif_outcomes",
    "plan_whatif_deals": "whatif_changed_deals",
    "plan_whatif_accounts": "whatif_changed_accounts",
    "plan_whatif_rejected_rows": "whatif_rejected_rows",
}


def _compare(con: duckdb.DuckDBPyConnection, sql: dict[str, str], load: DraftLoad) -> None:
    """Outcomes by plan x band, and the deals and accounts whose band differs between the plans,
    as scratch tables (SCRATCH_TABLES)."""
    con.execute(f"""
        CREATE OR REPLACE TABLE {SCENARIO_DEALS} AS
        SELECT '{CURRENT}' AS plan, {DEAL_COLUMNS}, alignment_score, alignment_band, plan_effective_from
        FROM {DEALS}
        UNION ALL
        SELECT '{DRAFT}' AS plan, {', '.join('deals.' + c.strip() for c in DEAL_COLUMNS.split(','))},
               draft.alignment_score, draft.alignment_band, draft.plan_effective_from
        FROM {DEALS} AS deals INNER JOIN draft_alignment AS draft ON deals.deal_id = draft.deal_id""")
    con.execute(f"""
        CREATE OR REPLACE TABLE whatif_outcomes AS
        SELECT *, CAST(? AS BIGINT) AS plan_rows_read, CAST(? AS BIGINT) AS plan_rows_loaded,
               CAST(? AS BIGINT) AS plan_rows_rejected
        FROM ({sql['band_outcomes']}) AS outcomes""", [load.rows_read, load.rows_loaded, load.rows_rejected])
    con.execute(f"""
        CREATE OR REPLACE TABLE whatif_changed_deals AS
        SELECT deals.deal_id, deals.account_id, deals.segment, deals.industry, deals.region,
               deals.product_line, deals.deal_type, deals.stage, deals.created_at, deals.flagged_strategic,
               deals.list_amount, deals.final_amount,
               coalesce(deals.final_amount, deals.list_amount) AS deal_value,
               deals.alignment_score AS current_score, deals.alignment_band AS current_band,
               deals.matched_targets AS current_matched_targets, deals.matched_avoids AS current_matched_avoids,
               draft.alignment_score AS draft_score, draft.alignment_band AS draft_band,
               draft.matched_targets AS draft_matched_targets, draft.matched_avoids AS draft_matched_avoids
        FROM {DEALS} AS deals INNER JOIN draft_alignment AS draft ON deals.deal_id = draft.deal_id
        WHERE deals.alignment_band IS DISTINCT FROM draft.alignment_band""")
    con.execute(f"""
        CREATE OR REPLACE TABLE whatif_changed_accounts AS
        WITH account_means AS (
            SELECT plan, account_id, {sql['account_mean_alignment']} AS mean_alignment
            FROM {SCENARIO_DEALS} GROUP BY plan, account_id
        ),
        account_bands AS (
            SELECT plan, account_id, mean_alignment, {sql['account_band']} AS band FROM account_means
        )
        SELECT current_side.account_id, value.segment,
               current_side.mean_alignment AS current_mean_alignment, current_side.band AS current_band,
               draft_side.mean_alignment AS draft_mean_alignment, draft_side.band AS draft_band,
               value.lifetime_revenue, value.horizon_value, value.is_horizon_observed
        FROM account_bands AS current_side
        INNER JOIN account_bands AS draft_side
            ON current_side.account_id = draft_side.account_id AND draft_side.plan = '{DRAFT}'
        INNER JOIN {ACCOUNT_VALUE} AS value ON value.account_id = current_side.account_id
        WHERE current_side.plan = '{CURRENT}' AND current_side.band IS DISTINCT FROM draft_side.band""")
    con.execute("""
        CREATE OR REPLACE TABLE whatif_rejected_rows AS
        SELECT source_file, row_number, record, reason, detail FROM main.rejected_rows
        WHERE source = 'strategy_plan'""")


def run_whatif(con: duckdb.DuckDBPyConnection, warehouse: Path, plan_file: Path, scenario: str) -> WhatIfResult:
    """Score the history under `plan_file` and compare with the plan in force, in the scratch
    connection `con` (scratch_connection); nothing is written to the warehouse."""
    if not SCENARIO_NAME.match(scenario):
        raise WhatIfError(f"scenario name {scenario!r}: 1-80 letters, digits, spaces, '.', '_' or '-', "
                          "starting with a letter or digit")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    sql = stored_sql(con) or rendered_sql(warehouse)
    seconds["sql"] = time.perf_counter() - started
    started = time.perf_counter()
    load = load_draft_plan(con, plan_file)
    seconds["load plan"] = time.perf_counter() - started
    if load.rows_loaded == 0:
        raise WhatIfError(_nothing_loaded(load))
    started = time.perf_counter()
    score_draft(con, sql)
    _compare(con, sql, load)
    result = WhatIfResult(
        scenario, str(plan_file), datetime.now(timezone.utc), load,
        outcomes=con.execute("SELECT * FROM whatif_outcomes ORDER BY plan, alignment_band").df(),
        changed_deals=con.execute(
            "SELECT * FROM whatif_changed_deals ORDER BY deal_value DESC NULLS LAST, deal_id").df(),
        changed_accounts=con.execute(
            "SELECT * FROM whatif_changed_accounts ORDER BY lifetime_revenue DESC NULLS LAST, account_id").df(),
        seconds=seconds)
    seconds["score and compare"] = time.perf_counter() - started
    result.summary = summary_sentences(result)
    return result


def _nothing_loaded(load: DraftLoad) -> str:
    lines = [f"{load.plan_file}: no plan row loaded ({load.rows_read} read, {load.rows_rejected} rejected)"]
    lines += rejection_lines(load.rejected, stored=False)
    return "\n".join(lines)


def rejection_lines(rejected: pd.DataFrame, limit: int = 10, stored: bool = True) -> list[str]:
    """One line per rejected plan row (first `limit`), with a hint for the unfilled stance of a draft."""
    lines = [f"  row {row.row_number}: {row.reason}: {row.detail}" for row in rejected.head(limit).itertuples()]
    if len(rejected) > limit:
        where = " (all in table plan_whatif_rejected_rows)" if stored else ""
        lines.append(f"  ... and {len(rejected) - limit} more{where}")
    if (rejected["reason"] == "missing_required:stance").any():
        lines.append("  a row without a stance is refused: write target or avoid in its stance column, "
                     "or delete the row (a plan names only what it targets or avoids)")
    return lines


# ------------------------------------------------------------------ the plain-language comparison

def _amount(value: float) -> str:
    value = float(value)
    for size, unit in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:,.0f}"


def _cell(outcomes: pd.DataFrame, plan: str, band: str) -> pd.Series | None:
    rows = outcomes[(outcomes["plan"] == plan) & (outcomes["alignment_band"] == band)]
    return rows.iloc[0] if len(rows) else None


def _interval(row: pd.Series, measure: str, fmt) -> str:
    low, high = row.get(f"{measure}_ci_low"), row.get(f"{measure}_ci_high")
    if pd.isna(low) or pd.isna(high):
        return "no interval: too few"
    return f"95% CI {fmt(low)} to {fmt(high)}"


def summary_sentences(result: WhatIfResult) -> list[str]:
    """A few sentences a planner can read: what the draft changes, and what the history says of it."""
    outcomes, deals = result.outcomes, result.changed_deals
    sentences = []
    moved_value = deals["deal_value"].fillna(0).sum()
    sentences.append(
        f"The draft changes the band of {len(deals):,} past deals (worth {_amount(moved_value)}) and of "
        f"{len(result.changed_accounts):,} accounts; the other deals keep their band.")
    for band, word in (("misaligned", "misaligned"), ("aligned", "aligned")):
        draft, current = _cell(outcomes, DRAFT, band), _cell(outcomes, CURRENT, band)
        draft_deals = int(draft["deals"]) if draft is not None else 0
        current_deals = int(current["deals"]) if current is not None else 0
        newly = deals[(deals["draft_band"] == band) & (deals["current_band"] != band)]
        sentences.append(
            f"The draft would mark {draft_deals:,} past deals as {word} (the current plan: {current_deals:,}); "
            f"{len(newly):,} of them, worth {_amount(newly['deal_value'].fillna(0).sum())}, are not {word} today.")
    aligned, misaligned = _cell(outcomes, DRAFT, "aligned"), _cell(outcomes, DRAFT, "misaligned")
    if aligned is not None and misaligned is not None:
        a_value, m_value = aligned["mean_later_account_value"], misaligned["mean_later_account_value"]
        if pd.notna(a_value) and pd.notna(m_value) and a_value:
            difference = (m_value - a_value) / a_value
            sentences.append(
                f"Under the draft, the accounts of misaligned deals earned {_amount(m_value)} on average over the "
                f"value horizon ({_interval(misaligned, 'mean_later_account_value', _amount)}), "
                f"{abs(difference):.0%} {'less' if difference < 0 else 'more'} than those of aligned deals "
                f"({_amount(a_value)}, {_interval(aligned, 'mean_later_account_value', _amount)}).")
        if pd.notna(aligned["win_rate"]) and pd.notna(misaligned["win_rate"]):
            pct = lambda v: f"{float(v):.0%}"  # noqa: E731
            sentences.append(
                f"Win rate under the draft: aligned {pct(aligned['win_rate'])} "
                f"({_interval(aligned, 'win_rate', pct)}), misaligned {pct(misaligned['win_rate'])} "
                f"({_interval(misaligned, 'win_rate', pct)}).")
    no_plan = _cell(outcomes, DRAFT, "no_plan")
    if no_plan is not None:
        sentences.append(
            f"{int(no_plan['deals']):,} deals were created before the draft's first effective_from and have no "
            "alignment under it (band no_plan); give an earlier effective_from to score them.")
    if result.load.rows_rejected:
        sentences.append(
            f"{result.load.rows_rejected} of the draft's {result.load.rows_read} rows were rejected and not used "
            "(see the rejected rows).")
    sentences.append("These are associations in past deals, not the effect of adopting the plan.")
    return sentences


# ------------------------------------------------------------------ writing the scenario

def publish_scenario(con: duckdb.DuckDBPyConnection, result: WhatIfResult, settings: Settings) -> Path:
    """Write the scenario (the scratch tables of `con`) into a copy of the published warehouse,
    replacing only this scenario's rows, and rename the copy over the warehouse."""
    warehouse = settings.warehouse
    meta = "CAST(? AS VARCHAR) AS scenario, CAST(? AS VARCHAR) AS plan_file, CAST(? AS TIMESTAMPTZ) AS computed_at"
    parameters = [result.scenario, result.plan_file, result.computed_at]
    with writer_lock(settings.build_db):
        staging = warehouse.with_name(f".{warehouse.name}.whatif-{os.getpid()}")
        shutil.copyfile(warehouse, staging)
        try:
            con.execute(f"ATTACH '{_sql_text(str(staging))}' AS whatif_target")
            try:
                con.execute("BEGIN TRANSACTION")
                for table, scratch in SCRATCH_TABLES.items():
                    target = f"whatif_target.main.{table}"
                    rows = f"SELECT {meta}, * FROM {scratch}"
                    con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS {rows} LIMIT 0", parameters)
                    con.execute(f"DELETE FROM {target} WHERE scenario = ?", [result.scenario])
                    con.execute(f"INSERT INTO {target} BY NAME {rows}", parameters)
                con.execute("COMMIT")
                con.execute("CHECKPOINT whatif_target")
            finally:
                con.execute("DETACH whatif_target")
            replace_atomically(staging, warehouse)
        finally:
            staging.unlink(missing_ok=True)
    return warehouse


def carry_over_scenarios(con: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Copy the what-if tables of the published warehouse into a run's build file (con), so a run
    does not drop the scenarios users saved; returns the tables copied."""
    if not published.is_file():
        return []
    con.execute(f"ATTACH '{_sql_text(str(published))}' AS whatif_published (READ_ONLY)")
    try:
        present = {row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'whatif_published' AND schema_name = 'main'"
        ).fetchall()}
        copied = [table for table in WHATIF_TABLES if table in present]
        for table in WHATIF_TABLES:
            if table in present:
                con.execute(f"CREATE OR REPLACE TABLE main.{table} AS SELECT * FROM whatif_published.main.{table}")
            else:
                # The build file outlives runs: scenarios the published file no longer has must not return.
                con.execute(f"DROP TABLE IF EXISTS main.{table}")
        return copied
    finally:
        con.execute("DETACH whatif_published")


# ------------------------------------------------------------------ the command

def whatif_command(plan_file: Path, scenario: str | None, settings: Settings, out_dir: Path,
                   out: TextIO, err: TextIO) -> int:
    """`dealscope whatif`: score, write the scenario, write the page, print the comparison."""
    from dashboards.whatif import write_whatif_page

    scenario = scenario or Path(plan_file).stem
    started = time.perf_counter()
    try:
        with scratch_connection(settings.warehouse) as con:
            result = run_whatif(con, settings.warehouse, plan_file, scenario)
            if result.load.rows_rejected:
                print(f"{result.load.rows_rejected} of {result.load.rows_read} plan rows rejected (not used):",
                      file=out)
                for line in rejection_lines(result.load.rejected):
                    print(line, file=out)
            step = time.perf_counter()
            publish_scenario(con, result, settings)
            result.seconds["publish"] = time.perf_counter() - step
    except WhatIfError as error:
        print(f"dealscope whatif: {error}", file=err)
        return 2
    step = time.perf_counter()
    page = write_whatif_page(result, out_dir)
    result.seconds["page"] = time.perf_counter() - step
    for sentence in result.summary:
        print(sentence, file=out)
    timings = ", ".join(f"{name} {value:.1f} s" for name, value in result.seconds.items())
    print(f"scenario {scenario!r} written to {settings.warehouse} (plan_whatif, plan_whatif_deals, "
          f"plan_whatif_accounts, plan_whatif_rejected_rows)", file=out)
    print(f"page: {page}", file=out)
    print(f"done in {time.perf_counter() - started:.1f} s ({timings})", file=out)
    return 0
