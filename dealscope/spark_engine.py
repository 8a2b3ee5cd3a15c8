"""The Spark engine's hand-offs: raw tables out of the build file as Parquet, and the account-level
tables Spark built back into it (docs/scale-out.md).

With `--engine spark` Spark reads and validates the input files (dealscope.ingest.spark_validate:
the loader's checks rendered in Spark SQL) and its results are copied into the build file (so
`rejected_rows`, `load_summary` and the rejection gate read the same tables as with DuckDB); the raw
tables then go to Spark as Parquet, dbt builds every model on Spark (dbt-spark, profiles.yml target
`spark`), and the tables the statistics, dashboards and analysts read (the marts in `main`, the
feature tables in `analytics`) come back through Parquet into the DuckDB build file. Staging and
intermediate stay on Spark. No Dagster here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from dealscope.ingest.sql import ident, literal
from dealscope.warehouse import memory_limit

# The dbt schemas copied back from Spark into the DuckDB warehouse: the contract tables and marts,
# and the per-account feature tables the statistics read. Both are small (one row per account,
# deal or cell) whatever the size of the raw inputs.
SCHEMAS_COPIED_BACK = ("main", "analytics")
# Models of the other layers that the statistics and the pages read too (models/forecast.py: the
# account-month value history, accounts and events; dashboards/brief.py: the plan and event types).
MODELS_COPIED_BACK = ("intermediate.int_account_monthly_value", "staging.stg_accounts",
                      "staging.stg_negotiation_events", "staging.stg_event_types", "staging.stg_strategy_plan")

# SQL text rendered for the engine that built it: the what-if runs on the DuckDB file, so a Spark
# build leaves this table out and the first what-if renders DuckDB's SQL once (dealscope/whatif.py).
ENGINE_SPECIFIC_MODELS = ("main.whatif_statements",)


def tables_to_copy_back(manifest_path: Path) -> list[str]:
    """"schema.table" of every dbt model to bring back from Spark, from dbt's manifest."""
    manifest = json.loads(manifest_path.read_text())
    names = [f"{node['schema']}.{node['alias'] or node['name']}" for node in manifest["nodes"].values()
             if node["resource_type"] == "model"]
    return sorted(name for name in names
                  if (name.split(".")[0] in SCHEMAS_COPIED_BACK or name in MODELS_COPIED_BACK)
                  and name not in ENGINE_SPECIFIC_MODELS)


def spark_warehouse_dir(build_db: Path) -> Path:
    """The local Spark warehouse of a deployment (tables as Parquet, and its catalog), beside the
    build file."""
    return build_db.with_name(f".{build_db.stem.lstrip('.')}.spark")


def raw_parquet_dir(build_db: Path) -> Path:
    """Where the loader's raw tables are written as Parquet for Spark, one folder per table."""
    return spark_warehouse_dir(build_db) / "raw_parquet"


def validation_staging_dir(build_db: Path) -> Path:
    """Where the loader's Spark validation hands its results to the build file, one folder per table."""
    return spark_warehouse_dir(build_db) / "validation"


def validation_session():
    """The local Spark session the loader validates in: one per process, kept for the run's tables
    and stopped with its JVM by stop_validation_session() before dbt-spark starts its own session
    in dbt's process. Cores, driver memory and shuffle partitions follow the same environment
    variables, with the same defaults, as the `spark` target of dbt_project/profiles.yml."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master(f"local[{os.environ.get('DEALSCOPE_SPARK_CORES', '*')}]")
               .appName("dealscope-load")
               .config("spark.driver.memory", os.environ.get("DEALSCOPE_SPARK_DRIVER_MEMORY", "2g"))
               .config("spark.sql.shuffle.partitions", os.environ.get("DEALSCOPE_SPARK_SHUFFLE_PARTITIONS", "4"))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session


# How long the loader's JVM gets to exit once told to before it is killed.
JVM_EXIT_SECONDS = 30


def stop_validation_session() -> None:
    """Stop the loader's Spark session and the JVM that runs it, so that no JVM of this process
    lives on beside dbt-spark's (about 2.6 GB resident at 1,000,000 deals). SparkSession.stop()
    alone leaves PySpark's py4j gateway JVM running; it exits when its stdin closes. A no-op when
    no session was started (PySpark not even imported); the next validation_session() starts a
    new JVM. A gateway PySpark did not launch (no process of its own: a notebook's, a cluster
    driver's) is left alone."""
    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    try:
        session = SparkSession._instantiatedSession
        if session is not None:
            session.stop()
        elif SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
    finally:
        _stop_gateway_jvm()


def _stop_gateway_jvm() -> None:
    """End the py4j gateway JVM that PySpark launched, and forget it so the next session starts one."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    java = getattr(gateway, "proc", None)
    if java is None:
        return
    try:
        gateway.shutdown()
    finally:
        SparkContext._gateway = None
        SparkContext._jvm = None
        # PySpark's gateway server exits at the end of its stdin (the pipe PySpark opened for it).
        if java.stdin is not None:
            java.stdin.close()
        try:
            java.wait(timeout=JVM_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            java.kill()
            java.wait()


# dbt sources the pipeline writes outside raw before dbt runs (pipelines.assets.analysis.calibration_worlds).
SOURCES_OUTSIDE_RAW = ("main.calibration_worlds",)

# The loader's staging copies of the input files (raw.landing_*): no model reads them.
LANDING_PREFIX = "landing_"


def connect(build_db: Path) -> duckdb.DuckDBPyConnection:
    """The build file, read-write (the caller holds the writer lock, dealscope.warehouse)."""
    return duckdb.connect(str(build_db), config={"memory_limit": memory_limit()})


def export_raw_tables(build_db: Path) -> list[str]:
    """Write every validated table of the build file's schema raw as Parquet under
    raw_parquet_dir(build_db)/<table>/, and the SOURCES_OUTSIDE_RAW present under <schema.table>/,
    replacing what a previous run left; returns their names (dbt's var raw_tables)."""
    folder = raw_parquet_dir(build_db)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    con = connect(build_db)
    try:
        tables = [name for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and table_catalog = current_database() order by table_name").fetchall()
            if not name.startswith(LANDING_PREFIX)]
        for table in tables:
            (folder / table).mkdir()
            target = literal(str(folder / table / "part-0.parquet"))
            con.execute(f"copy raw.{ident(table)} to {target} (format parquet)")
        # dbt sources outside raw that the pipeline writes before dbt (the calibration study's rows),
        # named "schema.table": registered in that Spark schema, never copied back.
        present = {f"{schema}.{name}" for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()").fetchall()}
        for name in SOURCES_OUTSIDE_RAW:
            if name in present:
                (folder / name).mkdir()
                schema, table = name.split(".")
                target = literal(str(folder / name / "part-0.parquet"))
                con.execute(f"copy {ident(schema)}.{ident(table)} to {target} (format parquet)")
                tables.append(name)
    finally:
        con.close()
    return tables


def spark_table_folders(warehouse_dir: Path, schema: str) -> dict[str, Path]:
    """The tables dbt-spark wrote in one schema: <warehouse>/<schema>.db/<table>/ (Parquet)."""
    schema_dir = warehouse_dir / f"{schema}.db"
    if not schema_dir.is_dir():
        return {}
    return {path.name: path for path in sorted(schema_dir.iterdir())
            if path.is_dir() and any(path.glob("*.parquet"))}


def copy_back_tables(build_db: Path, manifest_path: Path) -> list[str]:
    """Replace the tables_to_copy_back in the DuckDB build file by the Parquet files Spark wrote;
    raises when one is missing (dbt did not build it). Returns their "schema.table" names."""
    warehouse_dir = spark_warehouse_dir(build_db)
    tables = tables_to_copy_back(manifest_path)
    missing = []
    con = connect(build_db)
    try:
        copied = _copy_back(con, warehouse_dir, tables, missing)
    finally:
        con.close()
    if missing:
        raise RuntimeError(f"Spark built no Parquet table for {', '.join(missing)} under {warehouse_dir}")
    return copied


def _copy_back(con: duckdb.DuckDBPyConnection, warehouse_dir: Path, tables: list[str], missing: list[str]) -> list[str]:
    copied = []
    for name in tables:
        schema, table = name.split(".")
        folder = spark_table_folders(warehouse_dir, schema).get(table)
        if folder is None:
            missing.append(name)
            continue
        files = literal(str(folder / "*.parquet"))
        con.execute(f"create schema if not exists {ident(schema)}")
        # A DuckDB run of the same deployment left staging models as views.
        kind = con.execute("select table_type from information_schema.tables where table_catalog = current_database() "
                           "and table_schema = ? and table_name = ?", [schema, table]).fetchone()
        if kind is not None and kind[0] == "VIEW":
            con.execute(f"drop view {ident(schema)}.{ident(table)}")
        con.execute(f"create or replace table {ident(schema)}.{ident(table)} as "
                    f"select * from read_parquet({files})")
        copied.append(name)
    return copied
