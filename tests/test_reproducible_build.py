"""Reproducibility: dbt run twice on the same loaded warehouse gives the same tables, bit for bit.

The loaded warehouse is the one real pipeline run of the shared fixture (tests/conftest.py); each
copy is rebuilt by a real `dbt run` and every table of every schema is compared with EXCEPT ALL.
"""

from __future__ import annotations

import shutil

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
