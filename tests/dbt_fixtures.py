"""A tiny raw schema for dbt tests, in the layouts of docs/architecture.md ("Raw tables").

The values are chosen so every mart number can be worked out by hand; the expected values
live in tests/test_dbt_marts.py next to the reasoning for them.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import duckdb

from dealscope import dbt_runner, deal_history

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = dbt_runner.DBT_PROJECT_DIR

# The raw tables the loader writes (docs/architecture.md), with _row_number/_source_file
# on the tables read from files.
RAW_DDL = """
create schema if not exists raw;
create schema if not exists main;
create table raw.accounts (
    account_id varchar, account_name varchar, segment varchar, industry varchar, region varchar,
    employee_count bigint, created_at date, _row_number bigint, _source_file varchar
);
create table raw.deals (
    deal_id varchar, account_id varchar, deal_type varchar, product_line varchar,
    created_at date, closed_at date, stage varchar, list_amount double, final_amount double,
    gross_margin_pct double, competitor varchar, loss_reason varchar, flagged_strategic boolean,
    owner varchar, updated_at timestamptz, _row_number bigint, _source_file varchar
);
create table raw.deals_history as select * from raw.deals where false;
create table raw.negotiation_events (
    event_id varchar, account_id varchar, deal_id varchar, occurred_at date, event_type varchar,
    event_label varchar, severity integer, notes varchar, _row_number bigint, _source_file varchar
);
create table raw.account_revenue (
    account_id varchar, month date, revenue double, gross_margin double,
    _row_number bigint, _source_file varchar
);
create table raw.strategy_plan (
    effective_from date, dimension varchar, value varchar, stance varchar, weight double,
    _row_number bigint, _source_file varchar
);
create table raw.event_types (event_type varchar, polarity varchar);
create table raw.load_summary (
    source varchar, source_file varchar, file_present boolean, rows_read bigint,
    rows_loaded bigint, rows_rejected bigint, loaded_at timestamptz
);
"""

# The optional deal columns (contract section 1: the owner team, the CRM pipeline stage and expected
# close date), added after the positional inserts: NULL unless a test sets them.
OPTIONAL_DEAL_COLUMNS_DDL = "".join(
    f"alter table raw.{table} add column {column} {sql_type};\n"
    for table in ("deals", "deals_history")
    for column, sql_type in (("owner_team", "varchar"), ("owner_manager", "varchar"), ("owner_office", "varchar"),
                             ("pipeline_stage", "varchar"), ("expected_close_date", "date"))
)

EVENT_TYPES = {
    "escalated_over_buyer": "trust_eroding",
    "buyer_management_took_over": "trust_eroding",
    "commitment_broken": "trust_eroding",
    "concession_reneged": "trust_eroding",
    "second_source_added": "trust_eroding",
    "surprise_price_increase": "trust_eroding",
    "commitment_kept": "trust_building",
    "joint_planning": "trust_building",
    "executive_sponsor_aligned": "trust_building",
    "value_review_delivered": "trust_building",
    "concession_reciprocated": "trust_building",
    "competitor_price_cut": "competitive",
}

FIXTURE_ROWS = """
insert into raw.accounts values
    ('A1', 'Alpha Retail', 'enterprise', 'Retail', 'EMEA', 500, '2023-01-01', 1, 'accounts.csv'),
    ('A2', 'Beta Bank', 'smb', 'Finance', 'NA', 20, '2023-02-01', 2, 'accounts.csv'),
    ('A3', 'Gamma (no deals)', 'mid_market', null, 'APAC', null, '2023-03-01', 3, 'accounts.csv'),
    ('A4', 'Delta Health', 'enterprise', 'Healthcare', 'NA', 900, '2023-04-01', 4, 'accounts.csv');

-- plan v1 (2024-01-01): segment enterprise +2 / smb -1, industry retail +1 (written in upper
-- case), product_line analytics +1 -> denominator 2 + 1 + 1 = 4.
-- plan v2 (2024-07-01): region na -3 / emea +1, deal_type new_business +1 -> denominator 3 + 1 = 4.
insert into raw.strategy_plan values
    ('2024-01-01', 'segment', 'enterprise', 'target', 2, 1, 'strategy_plan.csv'),
    ('2024-01-01', 'segment', 'smb', 'avoid', 1, 2, 'strategy_plan.csv'),
    ('2024-01-01', 'industry', 'RETAIL', 'target', 1, 3, 'strategy_plan.csv'),
    ('2024-01-01', 'product_line', 'Analytics', 'target', 1, 4, 'strategy_plan.csv'),
    ('2024-07-01', 'region', 'na', 'avoid', 3, 5, 'strategy_plan.csv'),
    ('2024-07-01', 'region', 'EMEA', 'target', 1, 6, 'strategy_plan.csv'),
    ('2024-07-01', 'deal_type', 'new_business', 'target', 1, 7, 'strategy_plan.csv');

insert into raw.deals values
    ('D1', 'A1', 'new_business', 'Analytics', '2023-06-01', '2023-09-15', 'won', 1000, 800, 0.5,
        null, null, false, 'ann', null, 1, 'deals.csv'),
    ('D2', 'A1', 'new_business', 'Analytics', '2024-02-10', '2024-03-20', 'won', 2000, 1500, 0.4,
        null, null, true, 'ann', '2024-03-20 10:00:00+00', 2, 'deals.csv'),
    ('D3', 'A2', 'expansion', 'Platform', '2024-03-01', '2024-05-01', 'lost', 3000, null, null,
        'Acme', 'price', true, 'bob', null, 3, 'deals.csv'),
    ('D4', 'A2', 'new_business', 'analytics', '2024-07-01', '2024-09-10', 'won', 1000, 1000, null,
        null, null, false, 'bob', null, 4, 'deals.csv'),
    ('D5', 'A4', 'renewal', 'Platform', '2024-08-15', '2024-09-30', 'lost', 500, null, null,
        'Acme', 'timing', false, null, null, 5, 'deals.csv'),
    ('D6', 'A1', 'expansion', 'Platform', '2024-09-01', null, 'open', 4000, null, null,
        null, null, false, 'ann', null, 6, 'deals.csv'),
    ('D7', 'A4', 'new_business', 'Platform', '2024-10-01', '2024-11-15', 'won', 0, 0, 0.3,
        null, null, false, 'ann', null, 7, 'deals.csv');

insert into raw.deals_history values
    ('D2', 'A1', 'new_business', 'Analytics', '2024-02-10', null, 'open', 2000, null, null,
        null, null, false, 'ann', '2024-02-10 09:00:00+00', 8, 'deals.csv');

insert into raw.negotiation_events values
    ('E1', 'A1', 'D2', '2024-02-20', 'commitment_kept', 'kept commitment', 1, null, 1, 'negotiation_events.csv'),
    ('E2', 'A1', 'D2', '2024-03-01', 'joint_planning', 'joint_planning', 2, 'confidential', 2, 'negotiation_events.csv'),
    ('E3', 'A2', 'D3', '2024-03-15', 'escalated_over_buyer', 'executive escalation', 3, null, 3, 'negotiation_events.csv'),
    ('E4', 'A2', null, '2024-06-01', 'surprise_price_increase', 'surprise_price_increase', 1, null, 4, 'negotiation_events.csv'),
    ('E5', 'A4', 'D5', '2024-09-01', 'competitor_price_cut', 'competitor_price_cut', 1, null, 5, 'negotiation_events.csv');
"""

ACCOUNT_REVENUE_ROWS = """
insert into raw.account_revenue values
    ('A1', '2024-09-01', 100, 40, 1, 'account_revenue.csv'),
    ('A1', '2024-11-01', 200, 50, 2, 'account_revenue.csv'),
    ('A2', '2024-03-01', 50, -10, 3, 'account_revenue.csv');
"""


def create_raw_fixture(db_path: Path, *, with_account_revenue: bool) -> None:
    """Write the tiny raw schema into a new DuckDB file; account_revenue empty and marked
    absent in raw.load_summary unless with_account_revenue."""
    with duckdb.connect(str(db_path)) as con:
        con.execute(RAW_DDL)
        con.executemany("insert into raw.event_types values (?, ?)", list(EVENT_TYPES.items()))
        con.execute(FIXTURE_ROWS)
        if with_account_revenue:
            con.execute(ACCOUNT_REVENUE_ROWS)
        con.execute(OPTIONAL_DEAL_COLUMNS_DDL)
        deal_history.write_history_inputs(con, None, None)  # a single export: no carried history
        con.execute(
            """
            insert into raw.load_summary
            select source, source || '.csv', present, n, n, 0, now()
            from (values ('accounts', true, 4), ('deals', true, 8),
                         ('negotiation_events', true, 5), ('strategy_plan', true, 7),
                         ('account_revenue', ?, ?)) as t(source, present, n)
            """,
            [with_account_revenue, 3 if with_account_revenue else 0],
        )


def create_accounts_and_deals_only_fixture(db_path: Path, *, empty: bool) -> None:
    """The raw schema of an export with only accounts.csv and deals.csv (the other files absent, as
    the loader writes them: empty tables, file_present false); empty=True: both files header only."""
    with duckdb.connect(str(db_path)) as con:
        con.execute(RAW_DDL)
        con.executemany("insert into raw.event_types values (?, ?)", list(EVENT_TYPES.items()))
        if not empty:
            con.execute(FIXTURE_ROWS)
            for table in ("negotiation_events", "strategy_plan"):
                con.execute(f"delete from raw.{table}")
        con.execute(OPTIONAL_DEAL_COLUMNS_DDL)
        deal_history.write_history_inputs(con, None, None)  # a single export: no carried history
        con.execute(
            """
            insert into raw.load_summary
            select source, case when present then source || '.csv' end, present, n, n, 0, now()
            from (select 'accounts', true, count(*) from raw.accounts
                  union all select 'deals', true, count(*) from raw.deals
                  union all select 'negotiation_events', false, 0
                  union all select 'strategy_plan', false, 0
                  union all select 'account_revenue', false, 0) as t(source, present, n)
            """
        )


def run_dbt(args: list[str], *, build_db: Path, target_path: Path | None = None,
            log_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI on dbt_project/ against build_db in a subprocess (so no DuckDB handle
    stays open in the test process). Raises with dbt's output when dbt fails."""
    return dbt_runner.run_dbt(args, build_db, target_path=target_path, log_path=log_path)


# ------------------------------------------------------------------ timeline fixture
# A second, time-based raw fixture for the metrics that follow accounts over months: the event
# study, escalation paths, "won the deal, lost the customer", horizon value, cohort retention,
# competitor response and move precedents. Every expected number is worked out by hand in
# tests/test_dbt_metrics.py. Built with TIMELINE_VARS (short windows, as of 2024-12-31).
#
# smb accounts T1, T2 (escalated in June 2024), C1, C2 (comparison; C2 escalates in November,
# too late to be followed), L1 (first deal in November); enterprise R1, R2 (2022 revenue cohort).

TIMELINE_VARS = {
    "as_of_date": "2024-12-31",
    "event_window_months": 2,
    "takeover_window_months": 3,
    "second_source_window_months": 6,
    "won_lost_window_months": 2,
    "value_horizon_months": 3,
    "move_window_months": 2,
}

TIMELINE_ROWS = """
insert into raw.accounts values
    ('T1', 'Treated One', 'smb', 'Retail', 'EMEA', 10, '2023-12-01', 1, 'accounts.csv'),
    ('T2', 'Treated Two', 'smb', 'Retail', 'EMEA', 10, '2023-12-01', 2, 'accounts.csv'),
    ('C1', 'Control One', 'smb', 'Retail', 'EMEA', 10, '2023-12-01', 3, 'accounts.csv'),
    ('C2', 'Control Two', 'smb', 'Retail', 'EMEA', 10, '2023-12-01', 4, 'accounts.csv'),
    ('L1', 'Late One', 'smb', 'Retail', 'EMEA', 10, '2024-10-01', 5, 'accounts.csv'),
    ('R1', 'Retained One', 'enterprise', 'Finance', 'NA', 2000, '2021-11-01', 6, 'accounts.csv'),
    ('R2', 'Retained Two', 'enterprise', 'Finance', 'NA', 2000, '2022-06-01', 7, 'accounts.csv');

-- One plan: enterprise targeted, smb avoided -> enterprise deals aligned (1), smb deals misaligned (-1).
insert into raw.strategy_plan values
    ('2021-01-01', 'segment', 'enterprise', 'target', 1, 1, 'strategy_plan.csv'),
    ('2021-01-01', 'segment', 'smb', 'avoid', 1, 2, 'strategy_plan.csv');

-- (deal_id, account, type, product, created, closed, stage, list, final, margin, competitor, reason, flagged, owner)
insert into raw.deals
select *, null::timestamptz, row_number() over (), 'deals.csv' from (values
    ('T1-JAN', 'T1', 'new_business', 'core', '2024-01-05'::date, '2024-01-20'::date, 'won', 100.0, 100.0, 0.5, 'Rival', null, false, 'ann'),
    ('T2-JAN', 'T2', 'new_business', 'core', '2024-01-05', '2024-01-20', 'won', 100, 100, 0.5, null, null, false, 'ann'),
    ('C1-JAN', 'C1', 'new_business', 'core', '2024-01-05', '2024-01-20', 'won', 100, 100, 0.5, null, null, false, 'bob'),
    ('C2-JAN', 'C2', 'new_business', 'core', '2024-01-05', '2024-01-20', 'won', 100, 100, 0.5, null, null, false, 'bob'),
    ('T1-APR', 'T1', 'renewal', 'core', '2024-04-10', '2024-04-30', 'won', 100, 80, 0.5, 'Rival', null, false, 'ann'),
    ('T1-JUL', 'T1', 'expansion', 'core', '2024-07-10', '2024-07-31', 'won', 100, 60, 0.3, null, null, true, 'ann'),
    ('T1-AUG', 'T1', 'renewal', 'core', '2024-08-01', '2024-08-21', 'lost', 50, null, null, 'Rival', 'price', false, 'ann'),
    ('C1-MAY', 'C1', 'renewal', 'core', '2024-05-05', '2024-05-25', 'won', 100, 90, 0.4, null, null, false, 'bob'),
    ('C1-AUG', 'C1', 'renewal', 'core', '2024-08-05', '2024-08-25', 'won', 100, 90, 0.4, null, null, false, 'bob'),
    ('C2-OCT', 'C2', 'renewal', 'core', '2024-10-01', '2024-10-15', 'won', 100, 100, 0.4, null, null, false, 'bob'),
    ('L1-NOV', 'L1', 'new_business', 'core', '2024-11-01', '2024-11-20', 'won', 100, 100, 0.5, null, null, false, 'bob'),
    ('R1-DEC', 'R1', 'new_business', 'core', '2021-12-01', '2022-01-10', 'won', 1000, 900, 0.5, null, null, false, 'cy')
) as d;

insert into raw.negotiation_events
select *, null, row_number() over (), 'negotiation_events.csv' from (values
    ('EV1', 'T1', null, '2024-06-15'::date, 'escalated_over_buyer', 'escalated_over_buyer', 2),
    ('EV2', 'T1', null, '2024-07-20', 'buyer_management_took_over', 'buyer_management_took_over', 1),
    ('EV3', 'T1', null, '2024-09-10', 'second_source_added', 'second_source_added', 1),
    ('EV4', 'T1', 'T1-JAN', '2024-01-10', 'competitor_price_cut', 'competitor_price_cut', 1),
    ('EV5', 'T1', 'T1-AUG', '2024-08-10', 'competitor_price_cut', 'competitor_price_cut', 1),
    ('EV6', 'T2', null, '2024-06-03', 'escalated_over_buyer', 'escalated_over_buyer', 1),
    ('EV7', 'T2', null, '2024-07-15', 'joint_planning', 'joint_planning', 1),
    ('EV8', 'C2', null, '2024-11-05', 'escalated_over_buyer', 'escalated_over_buyer', 1)
) as e;

-- Revenue as runs of equal months: (account, first month, last month, revenue, gross margin).
insert into raw.account_revenue
select run.account_id, cast(months.month as date), run.revenue, run.gross_margin,
       row_number() over (), 'account_revenue.csv'
from (values
    ('T1', '2024-01-01'::date, '2024-05-01'::date, 100.0, 50.0),
    ('T1', '2024-06-01', '2024-06-01', 80, 40),
    ('T1', '2024-07-01', '2024-08-01', 50, 25),
    ('T1', '2024-09-01', '2024-12-01', 50, 10),
    ('T2', '2024-01-01', '2024-06-01', 300, 150),
    ('T2', '2024-07-01', '2024-07-01', 310, 124),
    ('T2', '2024-08-01', '2024-12-01', 290, 116),
    ('C1', '2024-01-01', '2024-12-01', 100, 50),
    ('C2', '2024-01-01', '2024-06-01', 200, 100),
    ('C2', '2024-07-01', '2024-10-01', 220, 110),
    ('C2', '2024-11-01', '2024-12-01', 230, 115),
    ('R1', '2022-01-01', '2022-12-01', 100, 50),
    ('R1', '2023-01-01', '2023-12-01', 150, 75),
    ('R2', '2022-07-01', '2023-06-01', 100, 50),
    ('R2', '2023-07-01', '2024-06-01', 50, 25)
) as run (account_id, first_month, last_month, revenue, gross_margin)
cross join lateral generate_series(run.first_month, run.last_month, interval 1 month) as months (month);
"""


def _create_fixture(db_path: Path, rows_sql: str) -> None:
    """Write the raw schema with `rows_sql`'s rows (every file present) into a new DuckDB file."""
    with duckdb.connect(str(db_path)) as con:
        con.execute(RAW_DDL)
        con.executemany("insert into raw.event_types values (?, ?)", list(EVENT_TYPES.items()))
        con.execute(rows_sql)
        con.execute(OPTIONAL_DEAL_COLUMNS_DDL)
        deal_history.write_history_inputs(con, None, None)  # a single export: no carried history
        con.execute(
            """
            insert into raw.load_summary
            select source, source || '.csv', true, n, n, 0, now()
            from (select 'accounts', count(*) from raw.accounts
                  union all select 'deals', count(*) from raw.deals
                  union all select 'negotiation_events', count(*) from raw.negotiation_events
                  union all select 'strategy_plan', count(*) from raw.strategy_plan
                  union all select 'account_revenue', count(*) from raw.account_revenue) as t(source, n)
            """
        )


def create_timeline_fixture(db_path: Path) -> None:
    """Write the timeline raw schema (all files present) into a new DuckDB file."""
    _create_fixture(db_path, TIMELINE_ROWS)


# --- shared by the dbt test files -----------------------------------------------------------

WILSON_Z = 1.959964
# The analytics folder belongs to the statistics models; the dbt tests cover the layers below it.
EXCLUDE_ANALYTICS = ["--exclude", "path:models/analytics"]


def wilson_interval(successes: int, trials: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Reference Wilson score interval, written independently of the SQL macro."""
    p = successes / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def query(db_path: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


# ------------------------------------------------------------------ first-won-deal fixture
# Three smb accounts whose first won deals all closed in 2024-Q1, none with revenue before it, and
# one enterprise account alone in its quarter. Built with FIRST_WIN_VARS; the expected numbers are
# worked out in tests/test_dbt_metrics.py.

FIRST_WIN_VARS = {"as_of_date": "2024-12-31", "won_lost_window_months": 2}

FIRST_WIN_ROWS = """
insert into raw.accounts values
    ('P1', 'Pushed One', 'smb', 'Retail', 'EMEA', 10, '2024-01-01', 1, 'accounts.csv'),
    ('P2', 'Peer Two', 'smb', 'Retail', 'EMEA', 10, '2024-01-01', 2, 'accounts.csv'),
    ('P3', 'Peer Three', 'smb', 'Retail', 'EMEA', 10, '2024-01-01', 3, 'accounts.csv'),
    ('E1', 'Lone Enterprise', 'enterprise', 'Retail', 'EMEA', 900, '2024-01-01', 4, 'accounts.csv');

insert into raw.deals
select *, null::timestamptz, row_number() over (), 'deals.csv' from (values
    ('P1-FIRST', 'P1', 'new_business', 'core', '2024-02-01'::date, '2024-03-10'::date, 'won', 100.0, 100.0, 0.5, null, null, false, 'ann'),
    ('P2-FIRST', 'P2', 'new_business', 'core', '2024-01-05', '2024-02-20', 'won', 100, 100, 0.5, null, null, false, 'bob'),
    ('P3-FIRST', 'P3', 'new_business', 'core', '2024-02-01', '2024-03-25', 'won', 100, 100, 0.5, null, null, false, 'bob'),
    ('E1-FIRST', 'E1', 'new_business', 'core', '2024-02-01', '2024-03-05', 'won', 100, 100, 0.5, null, null, false, 'cy')
) as d;

insert into raw.negotiation_events
select *, null, row_number() over (), 'negotiation_events.csv' from (values
    ('F1', 'P1', null, '2024-03-20'::date, 'escalated_over_buyer', 'escalated_over_buyer', 3),
    ('F2', 'E1', null, '2024-03-20', 'escalated_over_buyer', 'escalated_over_buyer', 3)
) as e;

insert into raw.account_revenue
select run.account_id, cast(months.month as date), run.revenue, run.revenue / 2,
       row_number() over (), 'account_revenue.csv'
from (values
    ('P1', '2024-03-01'::date, '2024-12-01'::date, 50.0),
    ('P2', '2024-02-01', '2024-12-01', 200),
    ('P3', '2024-03-01', '2024-12-01', 100),
    ('E1', '2024-03-01', '2024-12-01', 10)
) as run (account_id, first_month, last_month, revenue)
cross join lateral generate_series(run.first_month, run.last_month, interval 1 month) as months (month);
"""


def create_first_win_fixture(db_path: Path) -> None:
    """Write the first-won-deal raw schema (all files present) into a new DuckDB file."""
    _create_fixture(db_path, FIRST_WIN_ROWS)
