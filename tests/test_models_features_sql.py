"""The dbt model analytics.ml_account_features, run by real dbt against hand-built inputs.

The upstream models (stg_accounts, fct_deals, stg_negotiation_events,
int_account_monthly_value, int_as_of_date) are replaced by views over fixture tables with the
columns the model relies on, so the window, leakage and censoring rules are checked
on rows whose right answer is known, independently of the staging layer.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models.features import build_feature_blocks, query_frame, read_account_features

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO_ROOT / "dbt_project" / "models" / "analytics"
DBT_BIN = Path(sys.executable).with_name("dbt")

FIXTURE_SQL = """
create schema fixtures;
create table fixtures.accounts as select * from (values
    ('A', 'enterprise', 'retail', 'emea', 999, date '2020-01-01'),
    ('B', 'smb', null, null, null, date '2023-11-01'),
    ('C', 'smb', 'retail', 'emea', 10, date '2020-01-01'),
    ('D', 'mid_market', 'tech', 'na', 0, date '2020-01-01'),
    ('E', 'mid_market', 'tech', 'na', 50, date '2020-01-01')
) as t(account_id, segment, industry, region, employee_count, created_at);

create table fixtures.deals as select * from (values
    -- A: anchor 2022-03-15, first win closes 2022-03-20 (customer since 2022-03), observation
    -- window [2022-03-15, 2023-03-01), outcome window [2023-03-01, 2024-03-01)
    ('a1', 'A', date '2022-03-15', date '2022-03-20', 'won', true, 100.0, 120.0, 0.5, true),
    ('a2', 'A', date '2022-12-20', date '2023-04-01', 'won', true, 1000.0, 1000.0, -0.5, false),
    ('a3', 'A', date '2023-03-01', date '2023-05-01', 'won', true, 5000.0, 5000.0, 1.0, true),
    ('a4', 'A', date '2022-05-01', null, 'open', false, null, 50.0, null, false),
    -- B: anchor 2024-01-10, no score, never won: not a customer, no windows
    ('b1', 'B', date '2024-01-10', null, 'open', false, null, 10.0, null, false),
    -- D: a lost deal, then the first win in 2023-07: outcome window [2024-07, 2025-07) ends
    -- exactly with the data's last month (observed)
    ('d0', 'D', date '2023-01-05', date '2023-02-20', 'lost', false, null, 10.0, 0.25, false),
    ('d1', 'D', date '2023-07-05', date '2023-07-20', 'won', true, 10.0, 10.0, 0.25, false),
    -- E: first win in 2023-08: the outcome window ends one month after the data (censored)
    ('e1', 'E', date '2023-08-01', date '2023-08-20', 'won', true, 10.0, 10.0, 0.75, false)
) as t(deal_id, account_id, created_at, closed_at, stage, is_won, final_amount, list_amount,
       alignment_score, flagged_strategic);

create table fixtures.negotiation_events as select * from (values
    ('ev1', 'A', 'a1', date '2022-04-01', 'escalated_over_buyer', 'trust_eroding', 3),
    ('ev2', 'A', 'a3', date '2023-03-01', 'second_source_added', 'trust_eroding', 2),
    ('ev3', 'A', null, date '2022-02-28', 'joint_planning', 'trust_building', 1),
    ('ev4', 'A', 'a2', date '2023-02-28', 'commitment_kept', 'trust_building', 2),
    ('ev5', 'A', 'a2', date '2022-12-21', 'competitor_price_cut', 'competitive', 1),
    ('ev6', 'C', null, date '2022-01-01', 'commitment_broken', 'trust_eroding', 1)
) as t(event_id, account_id, deal_id, occurred_at, event_type, polarity, severity);

create table fixtures.account_monthly_value as select * from (values
    ('A', date '2022-02-01', 999.0, 999.0),
    ('A', date '2022-03-01', 10.0, -5.0),
    ('A', date '2023-02-01', 20.0, 4.0),
    ('A', date '2023-03-01', 100.0, 30.0),
    ('A', date '2024-02-01', 200.0, -50.0),
    ('A', date '2024-03-01', 5000.0, 5000.0),
    ('D', date '2025-06-01', 7.0, 1.0),
    -- after the as-of month: not covered, so the data's last month is the as-of month 2025-06
    ('D', date '2025-07-01', 70.0, 10.0)
) as t(account_id, month, revenue, gross_margin);
"""

STUB_MODELS = {
    "stg_accounts": "select * from fixtures.accounts",
    "fct_deals": "select * from fixtures.deals",
    "stg_negotiation_events": "select * from fixtures.negotiation_events",
    # a single export: the trust analyses' events are the recorded ones (no observed amount cuts)
    "int_trust_events": "select *, 'recorded' as event_source from fixtures.negotiation_events",
    "int_account_monthly_value": "select * from fixtures.account_monthly_value",
    "int_as_of_date": "select date '2025-06-20' as as_of_date",
}

DBT_PROJECT_YML = """
name: stub_project
version: "1.0"
profile: stub
# the project's metric macros (copied below) dispatch within the 'dealscope' namespace
dispatch:
  - macro_namespace: dealscope
    search_order: [stub_project]
models:
  stub_project:
    analytics:
      +schema: analytics
"""

# Use the folder's schema name as it is (dbt would otherwise prefix the target schema).
SCHEMA_MACRO = """
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
"""


def _write_stub_project(project: Path, db_path: Path) -> None:
    (project / "models" / "stubs").mkdir(parents=True)
    (project / "macros").mkdir()
    # Only the model under test: the event-window model reads the intermediate panel, not stubbed here.
    shutil.copytree(MODEL_DIR, project / "models" / "analytics",
                    ignore=shutil.ignore_patterns("ml_event_windows.sql"))
    for name, sql in STUB_MODELS.items():
        (project / "models" / "stubs" / f"{name}.sql").write_text(sql)
    (project / "dbt_project.yml").write_text(DBT_PROJECT_YML)
    (project / "macros" / "schema.sql").write_text(SCHEMA_MACRO)
    for macros in ("metrics.sql", "engines.sql"):  # the metric macros and the engine-dispatched types they use
        shutil.copyfile(REPO_ROOT / "dbt_project" / "macros" / macros, project / "macros" / macros)
    shutil.copytree(REPO_ROOT / "dbt_project" / "tests" / "generic", project / "tests" / "generic")
    (project / "profiles.yml").write_text(
        f"stub:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: '{db_path}'\n      threads: 1\n"
    )


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ml_features")
    db_path = root / "stub.duckdb"
    with duckdb.connect(str(db_path)) as con:
        con.execute(FIXTURE_SQL)
    project = root / "project"
    _write_stub_project(project, db_path)
    result = subprocess.run(
        [str(DBT_BIN), "build", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return db_path


@pytest.fixture(scope="module")
def rows(built_db: Path) -> dict[str, dict]:
    with duckdb.connect(str(built_db), read_only=True) as con:
        frame = con.execute("select * from analytics.ml_account_features").df()
    return {record["account_id"]: record for record in frame.to_dict("records")}


def test_one_row_per_account_with_deals(rows: dict[str, dict]) -> None:
    assert sorted(rows) == ["A", "B", "D", "E"]  # C has events but no deal


def test_deal_features_use_only_the_observation_window(rows: dict[str, dict]) -> None:
    a = rows["A"]
    assert str(a["anchor_date"])[:10] == "2022-03-15"
    assert str(a["observation_end"])[:10] == "2023-03-01"
    assert a["deals_created"] == 3  # a1, a2, a4; a3 is created on observation_end
    assert a["n_deals_scored"] == 2
    assert a["mean_alignment"] == pytest.approx(0.0)  # (0.5 - 0.5) / 2; a3's 1.0 is outside
    assert a["deals_won"] == 1  # a2 was won, but only after the window closed
    assert a["value_won"] == pytest.approx(100.0)
    assert a["deals_flagged_strategic"] == 1


def test_event_features_use_only_the_observation_window(rows: dict[str, dict]) -> None:
    a = rows["A"]
    assert a["n_trust_eroding_events"] == 1 and a["trust_eroding_severity"] == 3
    assert a["n_trust_building_events"] == 1 and a["trust_building_severity"] == 2  # ev3 precedes the anchor
    assert a["n_competitive_events"] == 1
    assert a["n_trust_eroding__escalated_over_buyer"] == 1
    assert a["n_trust_eroding__second_source_added"] == 0  # on observation_end: outcome side
    assert a["n_trust_building__commitment_kept"] == 1
    assert rows["B"]["n_trust_eroding_events"] == 0


def test_revenue_windows_and_outcome(rows: dict[str, dict]) -> None:
    a = rows["A"]
    assert a["early_revenue"] == pytest.approx(30.0)  # 2022-03 + 2023-02; 2022-02 precedes the window
    assert a["early_gross_margin"] == pytest.approx(-1.0)
    assert a["is_outcome_observed"]
    assert a["outcome_revenue"] == pytest.approx(300.0)  # 2023-03 .. 2024-02; 2024-03 is after it
    assert a["outcome_gross_margin"] == pytest.approx(-20.0)


def test_censoring_flag_and_null_outcome(rows: dict[str, dict]) -> None:
    # value data runs to 2025-07 but the warehouse is as of 2025-06-20: the earlier month wins
    assert str(rows["D"]["data_last_month"])[:10] == "2025-06-01"
    assert rows["D"]["is_outcome_observed"]  # last outcome month == data's last month
    assert rows["D"]["outcome_revenue"] == pytest.approx(7.0)  # 2025-07 is after the outcome window
    assert not rows["E"]["is_outcome_observed"]  # one month short
    assert not rows["B"]["is_outcome_observed"]
    assert rows["E"]["outcome_revenue"] is None or math.isnan(rows["E"]["outcome_revenue"])


def test_windows_start_at_the_first_win_and_never_won_accounts_have_none(rows: dict[str, dict]) -> None:
    d = rows["D"]
    assert str(d["anchor_date"])[:10] == "2023-01-05"  # the lost deal: features count from here
    assert str(d["customer_since"])[:10] == "2023-07-01"
    assert str(d["observation_end"])[:10] == "2024-07-01"  # customer_since + 12 months
    assert str(d["outcome_end"])[:10] == "2025-07-01"  # + 12 more
    assert d["months_to_first_win"] == 6 and d["deals_created"] == 2
    assert rows["A"]["months_to_first_win"] == 0 and rows["A"]["is_customer"]
    b = rows["B"]
    assert not b["is_customer"] and pd.isna(b["customer_since"])
    assert pd.isna(b["observation_end"]) and b["deals_created"] == 0 and not b["is_outcome_observed"]


def test_controls(rows: dict[str, dict]) -> None:
    assert rows["A"]["log_employee_count"] == pytest.approx(math.log(1000))
    assert rows["A"]["cohort_year"] == 2022
    b = rows["B"]
    assert b["log_employee_count"] is None or math.isnan(b["log_employee_count"])
    assert b["mean_alignment"] is None or math.isnan(b["mean_alignment"])
    assert b["n_deals_scored"] == 0


def test_python_reader_excludes_and_counts_censored_and_non_customers(built_db: Path) -> None:
    with duckdb.connect(str(built_db), read_only=True) as con:
        features = read_account_features(con)
    blocks = build_feature_blocks(features)
    assert blocks.n_excluded_censored == 1  # E
    assert blocks.n_excluded_not_customer == 1  # B
    assert sorted(blocks.account_ids) == ["A", "D"]


@pytest.mark.parametrize("rows", ["", " where i is not null", " limit 0"])
def test_query_frame_gives_what_duckdb_df_gives(rows: str) -> None:
    """The Arrow read has .df()'s columns, dtypes and values for every type our marts use, with and
    without NULLs (a nullable integer or boolean stays a pandas nullable type, a date datetime64[us])."""
    con = duckdb.connect()
    query = f"""select * from (values
        (1::INTEGER, 2::BIGINT, 3::SMALLINT, 1.5::DOUBLE, true, date '2020-01-01', timestamp '2020-01-01 10:00',
         'x', 2.5::DECIMAL(10, 2), 9223372036854775807::BIGINT, 7::UTINYINT),
        (null, null, null, null, null, null, null, null, null, null, null),
        (4, 5, 6, -0.5, false, date '1999-12-31', timestamp '1999-12-31 23:59:59', 'x', -1.25, -1, 8)
    ) as t(i, bi, si, d, b, dt, ts, s, dec, big, u){rows}"""
    frame = query_frame(con, query)
    pd.testing.assert_frame_equal(frame, con.execute(query).df())
    if not rows:
        assert str(frame["bi"].dtype) == "Int64" and frame.loc[2, "big"] == -1
        assert frame.loc[0, "big"] == 9223372036854775807  # no trip through float
