"""The loader's Spark session ends with its JVM once the inputs are validated, and on failure.

With `--engine spark` the loader validates the input files in a local Spark session of the
pipeline's own process (dealscope.spark_engine.validation_session); dbt-spark then starts its own
JVM. stop_validation_session must end the loader's JVM (SparkSession.stop() alone leaves PySpark's
gateway JVM running) and leave the process able to start a new session. A real table is validated
through the real loader into a real DuckDB file; a real Dagster run and `dealscope check` that
fail while loading leave no JVM behind. Needs the optional extra `spark` and Java 17; skipped, saying which is
missing, without.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from conftest import settings_for
from test_spark_engine import execute_restoring_environment, missing_spark_requirement

pytestmark = pytest.mark.skipif(missing_spark_requirement() is not None, reason=str(missing_spark_requirement()))

LOADED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def live_java_children() -> list[int]:
    """Process ids of the running (not exited) java processes whose parent is this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
        command = stat[stat.index("(") + 1:stat.rindex(")")]
        state, parent = stat[stat.rindex(")") + 2:].split()[:2]
        if command == "java" and int(parent) == os.getpid() and state != "Z":
            found.append(int(entry.name))
    return found


def gateway_process():
    from pyspark import SparkContext

    return SparkContext._gateway.proc


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    from dealscope.sample import write_sample

    folder = tmp_path_factory.mktemp("export")
    write_sample(folder, seed=3, n_accounts=20, world="planted", messy_rate=0.05)
    return folder


def load_on_spark(settings, tables: list[str]) -> dict[str, int]:
    from dealscope.ingest import load_event_types, prepare_warehouse
    from dealscope.loading import load_input_table

    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.build_db))
    try:
        prepare_warehouse(con)
        load_event_types(con, settings.event_types)
        return {table: load_input_table(con, settings, None, table, LOADED_AT).rows_loaded for table in tables}
    finally:
        con.close()


def test_stopping_the_validation_session_ends_its_jvm_and_a_later_session_starts_anew(export, tmp_path):
    from dealscope.spark_engine import stop_validation_session

    settings = replace(settings_for(tmp_path, export), engine="spark")
    assert load_on_spark(settings, ["accounts"])["accounts"] > 0
    first_java = gateway_process()
    assert first_java.poll() is None and first_java.pid in live_java_children()

    stop_validation_session()
    assert first_java.poll() is not None
    assert live_java_children() == []
    with pytest.raises(ProcessLookupError):
        os.kill(first_java.pid, 0)
    stop_validation_session()  # nothing left to stop: no error

    # The same process validates again, in a new JVM.
    assert load_on_spark(settings, ["accounts", "deals"])["deals"] > 0
    second_java = gateway_process()
    assert second_java.pid != first_java.pid and second_java.poll() is None
    stop_validation_session()
    assert second_java.poll() is not None and live_java_children() == []


@pytest.fixture(scope="module")
def broken_export(export, tmp_path_factory) -> Path:
    """The export with deal_id removed from deals.csv: accounts validates on Spark (the JVM
    starts), then deals cannot be read at all."""
    broken = tmp_path_factory.mktemp("broken_export")
    for path in export.iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
    with open(export / "deals.csv", newline="", encoding="utf-8") as source:
        rows = [row[1:] for row in csv.reader(source)]
    with open(broken / "deals.csv", "w", newline="", encoding="utf-8") as target:
        csv.writer(target).writerows(rows)
    return broken


def test_a_spark_run_that_fails_while_loading_leaves_no_jvm(broken_export, tmp_path):
    from pyspark import SparkContext

    settings = replace(settings_for(tmp_path / "run", broken_export), engine="spark")
    outcome = execute_restoring_environment(settings)
    assert not outcome.success
    assert any("deals" in error and "deal_id" in error for error in outcome.errors), outcome.errors
    assert any("accounts" in step for step in outcome.step_seconds), outcome.step_seconds
    assert SparkContext._gateway is None
    assert live_java_children() == []
    assert not settings.warehouse.exists()  # nothing published


def test_dealscope_check_on_spark_leaves_no_jvm_when_a_file_cannot_be_read(broken_export, tmp_path):
    from pyspark import SparkContext

    from dealscope.check import EXIT_UNUSABLE, run_check
    from dealscope.spark_engine import spark_warehouse_dir

    settings = replace(settings_for(tmp_path, broken_export), engine="spark")
    out = io.StringIO()
    staging = tmp_path / "staging"
    assert run_check(settings, out, spark_staging=staging) == EXIT_UNUSABLE
    assert "CANNOT RUN" in out.getvalue() and "deal_id" in out.getvalue()
    assert (staging / "accounts" / "out_accounts").is_dir()  # accounts was validated on Spark
    assert not spark_warehouse_dir(settings.build_db).exists()  # nothing beside the build file
    assert run_check(settings, io.StringIO()) == EXIT_UNUSABLE  # its own temporary folder, removed
    assert not spark_warehouse_dir(settings.build_db).exists()
    assert SparkContext._gateway is None
    assert live_java_children() == []
