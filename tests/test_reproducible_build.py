"""Reproducibility: dbt run twice on the same loaded warehouse gives the same tables, bit for bit, and so
does the statistics stage on inputs stored in another row order.

The loaded warehouse is the one real pipeline run of the shared fixture (tests/conftest.py); each
copy is rebuilt by a real `dbt run` and every table of every schema is compared with EXCEPT ALL.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from dbt_fixtures import run_dbt
from warehouse_compare import compared_table_count, differing_tables


def test_two_dbt_runs_on_the_same_input_give_identical_tables(pipeline_run, tmp_path):
    settings, _ = pipeline_run
    rebuilt = []
    for attempt in ("first", "second"):
        work = tmp_path / attempt
        work.mkdir()
        copy = work / "build.duckdb"
        shutil.copyfile(settings.warehouse, copy)
        run_dbt(["run"], build_db=copy, target_path=work / "target", log_path=work / "logs")
        rebuilt.append(copy)

    assert compared_table_count(rebuilt[0]) >= 20
    assert differing_tables(rebuilt[0], rebuilt[1]) == {}


def test_the_comparison_sees_a_last_digit_difference(tmp_path):
    """The check itself: a sum off in its last bit, or a missing table, is reported."""
    import duckdb

    paths = [tmp_path / "a.duckdb", tmp_path / "b.duckdb"]
    for path, value in zip(paths, ("0.1 + 0.2", "0.3")):
        connection = duckdb.connect(str(path))
        connection.execute(f"create table totals as select {value} :: double as total")
        if path == paths[0]:
            connection.execute("create schema raw; create table raw.extra as select 1 as x")
        connection.close()
    assert differing_tables(paths[0], paths[1]) == {
        "main.totals": "1 rows only in the first, 1 only in the second",
        "raw.extra": "present in only one file",
    }


def statistics_on_shuffled_inputs(published: Path, copy: Path) -> dict[str, str]:
    """Copy `published`, rewrite every table the statistics stage can read in a random row order,
    run the stage again, and return how its tables differ from the published ones."""
    from models.pipeline_stage import write_hypothesis_tests
    from models.tables import STATISTICS_TABLES
    from pipelines.assets.analysis import RANDOM_STATE

    written = {registered.name for registered in STATISTICS_TABLES}
    shutil.copyfile(published, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("select setseed(0.25)")
        inputs = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name in ('analytics', 'intermediate', 'staging', 'main')").fetchall()
        for schema, table in inputs:
            if f"{schema}.{table}" not in written:
                con.execute(f'create or replace table "{schema}"."{table}" as '
                            f'select * from "{schema}"."{table}" order by random()')
        write_hypothesis_tests(con, random_state=RANDOM_STATE)
    finally:
        con.close()
    return {name: why for name, why in differing_tables(published, copy).items() if name in written}


def test_the_statistics_do_not_depend_on_the_row_order_of_their_inputs(pipeline_run, tmp_path):
    """DuckDB returns an unordered read, and a parallel build writes a table, in whatever order its
    threads produce: the statistics (folds, bootstrap draws, permutations, the fits' sums, the
    forecast's feature sums) must not follow that order. Every input table rewritten in a random row
    order, the stage gives the same tables bit for bit."""
    settings, _ = pipeline_run
    assert statistics_on_shuffled_inputs(settings.warehouse, tmp_path / "shuffled.duckdb") == {}
