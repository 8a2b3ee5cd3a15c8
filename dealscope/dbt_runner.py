"""How dealscope runs dbt: the executable, its environment and its arguments, in one place.

The pipeline (Dagster's dbt resource), the calibration study and the dbt tests all run the
same project against a build file. They get the dbt beside this Python (so nothing needs an
activated virtualenv), the build file's path in DEALSCOPE_BUILD_DB (read by profiles.yml),
and DuckDB's memory caps in DEALSCOPE_DUCKDB_MEMORY_LIMIT and DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT
(dealscope/warehouse.py). The engine (dealscope.settings.ENGINES) chooses the profiles.yml target:
DuckDB's `dev`, or `spark` with its local warehouse beside the build file and the raw Parquet tables
passed as vars (dealscope/spark_engine.py).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dealscope import spark_engine
from dealscope.settings import DBT_PROJECT_DIR, DEFAULT_ENGINE, ENV_BUILD_DB, ENV_SPARK_WAREHOUSE, checked_engine
from dealscope.warehouse import ENV_MEDIANS_MEMORY_LIMIT, ENV_MEMORY_LIMIT, medians_memory_limit, memory_limit

class DbtFailed(RuntimeError):
    pass


def installed_dbt_version() -> str:
    """dbt-core's version in this environment: the dbt that dbt_executable() runs."""
    return importlib.metadata.version("dbt-core")


def dbt_executable() -> str:
    """The dbt installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


# profiles.yml target of each engine.
DBT_TARGETS = {"duckdb": "dev", "spark": "spark"}


def dbt_target(engine: str = DEFAULT_ENGINE) -> str:
    return DBT_TARGETS[checked_engine(engine)]


def profile_target_arg(engine: str = DEFAULT_ENGINE) -> str | None:
    """The target to pass to dbt: None for DuckDB (profiles.yml's default, so a DuckDB run's
    arguments, and with them dbt's partial parse, are what they always were)."""
    return None if checked_engine(engine) == DEFAULT_ENGINE else dbt_target(engine)


def manifest_target_path(engine: str = DEFAULT_ENGINE) -> str:
    """The project's target folder whose manifest.json Dagster builds its dbt assets from. One per
    engine: a manifest is parsed for one target, and test ids differ between targets (a quoted
    column is named "window" on DuckDB and `window` on Spark)."""
    return "target" if checked_engine(engine) == DEFAULT_ENGINE else f"target-{engine}"


def engine_vars(engine: str, build_db: Path | None, raw_tables: Sequence[str] = ()) -> list[str]:
    """The dbt vars an engine adds to a run: none for DuckDB; for Spark where the loader's raw
    Parquet tables are (the on-run-start hook registers them)."""
    if checked_engine(engine) == DEFAULT_ENGINE or build_db is None:
        return []
    raw_vars = {"raw_parquet_dir": str(spark_engine.raw_parquet_dir(build_db)), "raw_tables": list(raw_tables)}
    return ["--vars", json.dumps(raw_vars)]


def engine_args(engine: str, build_db: Path | None, raw_tables: Sequence[str] = ()) -> list[str]:
    """The dbt arguments an engine adds to a run: its target and its vars (none for DuckDB)."""
    target = profile_target_arg(engine)
    return ([] if target is None else ["--target", target]) + engine_vars(engine, build_db, raw_tables)


def dbt_env_overrides(build_db: Path | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """What dealscope adds to the environment dbt runs in (`base`, default os.environ).

    The memory cap is written out even when it is the default, so profiles.yml, and with it
    dbt's partial-parse check, sees the same value in every process. The interpreter's folder
    goes first on PATH: tools that call `dbt` by name (dagster-dbt's manifest preparer) find
    the dbt of this virtualenv even when it is not activated.
    """
    base = os.environ if base is None else base
    overrides = {ENV_MEMORY_LIMIT: memory_limit(base), ENV_MEDIANS_MEMORY_LIMIT: medians_memory_limit(base),
                 "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if build_db is not None:
        overrides[ENV_BUILD_DB] = str(build_db)
        overrides[ENV_SPARK_WAREHOUSE] = str(spark_engine.spark_warehouse_dir(build_db))
    interpreter_bin = str(Path(sys.executable).parent)
    path = base.get("PATH", "")
    if interpreter_bin not in path.split(os.pathsep):
        overrides["PATH"] = interpreter_bin + (os.pathsep + path if path else "")
    return overrides


def dbt_env(build_db: Path | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a dbt subprocess: `base` (default os.environ) plus the overrides."""
    base = os.environ if base is None else base
    return {**base, **dbt_env_overrides(build_db, base)}


def dbt_args(command: Sequence[str], *, target_path: Path | None = None, log_path: Path | None = None,
             project_dir: Path = DBT_PROJECT_DIR) -> list[str]:
    """`dbt <command> --project-dir ... --profiles-dir ...` (+ own target/log folders when given)."""
    args = [*command, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    if log_path is not None:
        args += ["--log-path", str(log_path)]
    return args


def run_dbt(command: Sequence[str], build_db: Path, *, target_path: Path | None = None,
            log_path: Path | None = None, engine: str = DEFAULT_ENGINE,
            raw_tables: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI in a subprocess (no DuckDB handle stays open here); raises with dbt's
    output when dbt fails. With engine spark, `raw_tables` are the loader's Parquet tables."""
    command = [*command, *engine_args(engine, build_db, raw_tables)]
    result = subprocess.run([dbt_executable(), *dbt_args(command, target_path=target_path, log_path=log_path)],
                            env=dbt_env(build_db), capture_output=True, text=True, cwd=DBT_PROJECT_DIR)
    if result.returncode != 0:
        raise DbtFailed(f"dbt {' '.join(command)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
    return result
