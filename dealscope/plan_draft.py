"""`dealscope plan draft`: a starting strategic plan written from the published warehouse.

One row per value of every plan dimension (segment, industry, region, product_line, deal_type)
found in the deals, in strategy_plan.csv's format, with `stance` and `weight` left empty for the
user. The figures that help choose (deals, closed deals, win rate with its 95% interval, value won
and lost) come from the marts (fct_deals, win_loss) and are written as extra columns, which the
loader keeps in the raw layer and ignores (docs/CONTRACT.md, section 1). A row whose stance is
still empty is rejected by the loader (`missing_required:stance`), never read as a stance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

import duckdb

from dealscope.ingest.spec import STRATEGY_PLAN
from dealscope.ingest.sql import literal

PLAN_DIMENSIONS: tuple[str, ...] = next(c.allowed for c in STRATEGY_PLAN.columns if c.name == "dimension")
FIGURE_COLUMNS = ("deals", "deals_closed", "win_rate", "win_rate_ci_low", "win_rate_ci_high", "value_won", "value_lost")


def draft_plan_sql() -> str:
    """Plan rows for every dimension value that occurs in fct_deals, with win_loss's figures."""
    values = "\nUNION ALL\n".join(
        f"SELECT '{dimension}' AS dimension, CAST({dimension} AS VARCHAR) AS value, count(*) AS deals "
        f"FROM main.fct_deals WHERE {dimension} IS NOT NULL GROUP BY {dimension}"
        for dimension in PLAN_DIMENSIONS
    )
    order = ", ".join(f"'{dimension}'" for dimension in PLAN_DIMENSIONS)
    return f"""
        WITH plan_values AS ({values}),
        first_deal AS (SELECT min(created_at) AS effective_from FROM main.fct_deals)
        SELECT strftime(first_deal.effective_from, '%Y-%m-%d') AS effective_from,
               plan_values.dimension, plan_values.value,
               CAST(NULL AS VARCHAR) AS stance, CAST(NULL AS VARCHAR) AS weight,
               plan_values.deals, coalesce(win_loss.deals_closed, 0) AS deals_closed,
               round(win_loss.win_rate, 4) AS win_rate, round(win_loss.win_rate_ci_low, 4) AS win_rate_ci_low,
               round(win_loss.win_rate_ci_high, 4) AS win_rate_ci_high,
               round(win_loss.value_won, 2) AS value_won, round(win_loss.value_lost, 2) AS value_lost
        FROM plan_values
        CROSS JOIN first_deal
        LEFT JOIN main.win_loss AS win_loss
            ON win_loss.dimension = plan_values.dimension AND win_loss.value = plan_values.value
        ORDER BY list_position([{order}], plan_values.dimension), plan_values.deals DESC, plan_values.value"""


def write_draft_plan(warehouse: Path, out_file: Path) -> int:
    """Write the draft (write aside, then rename); returns its number of plan rows."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"no published warehouse at {warehouse}: run `dealscope run` first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(f"SELECT count(*) FROM ({draft_plan_sql()})").fetchone()[0]
        out_file.parent.mkdir(parents=True, exist_ok=True)
        staging = out_file.with_name(f".{out_file.name}.{os.getpid()}")
        con.execute(f"COPY ({draft_plan_sql()}) TO {literal(str(staging))} (FORMAT csv, HEADER true)")
    finally:
        con.close()
    os.replace(staging, out_file)
    return rows


def plan_draft_command(warehouse: Path, out_file: Path, force: bool, out: TextIO, err: TextIO) -> int:
    """`dealscope plan draft --out FILE`."""
    if out_file.exists() and not force:
        print(f"dealscope plan draft: {out_file} exists; pass --force to overwrite it", file=err)
        return 2
    try:
        rows = write_draft_plan(warehouse, out_file)
    except FileNotFoundError as error:
        print(f"dealscope plan draft: {error}", file=err)
        return 2
    print(f"{rows} plan rows written to {out_file} (effective_from = the first deal's created_at).", file=out)
    print("Fill `stance` with target or avoid (and `weight` if not 1) in the rows you keep and delete the others:",
          file=out)
    print("a row left without a stance is rejected (missing_required:stance). The columns after `weight` "
          f"({', '.join(FIGURE_COLUMNS)}) are for reading; the loader ignores them.", file=out)
    print(f"Then: dealscope whatif --plan {out_file} --name NAME", file=out)
    return 0
