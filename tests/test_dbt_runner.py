"""dealscope.dbt_runner: the one way dbt is found, configured and run (pure functions + real dbt calls)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dealscope import dbt_runner, warehouse
from dealscope.settings import DBT_PROJECT_DIR, ENV_BUILD_DB


def test_dbt_executable_is_the_one_beside_this_python():
    beside = Path(sys.executable).with_name("dbt")
    assert beside.exists(), "the project's virtualenv installs dbt next to its python"
    assert dbt_runner.dbt_executable() == str(beside)


def test_args_name_the_project_and_its_profile():
    args = dbt_runner.dbt_args(["build", "--select", "fct_deals"], target_path=Path("/t"), log_path=Path("/l"))
    assert args[:3] == ["build", "--select", "fct_deals"]
    assert args[args.index("--project-dir") + 1] == str(DBT_PROJECT_DIR)
    assert args[args.index("--profiles-dir") + 1] == str(DBT_PROJECT_DIR)
    assert args[args.index("--target-path") + 1] == "/t"
    assert args[args.index("--log-path") + 1] == "/l"
    assert "--target-path" not in dbt_runner.dbt_args(["parse"])


def test_env_carries_the_build_file_and_a_memory_cap(tmp_path):
    base = {"PATH": "/usr/bin", "HOME": "/home/x"}
    env = dbt_runner.dbt_env(tmp_path / "b.duckdb", base=base)
    assert env[ENV_BUILD_DB] == str(tmp_path / "b.duckdb")
    assert env["HOME"] == "/home/x"
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"
    assert env[warehouse.ENV_MEMORY_LIMIT] == warehouse.default_memory_limit()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    # a cap set by the user wins, and the PATH is not prefixed twice
    env = dbt_runner.dbt_env(None, base={**env, warehouse.ENV_MEMORY_LIMIT: "3GB"})
    assert env[warehouse.ENV_MEMORY_LIMIT] == "3GB"
    assert env["PATH"].split(os.pathsep).count(str(Path(sys.executable).parent)) == 1


def test_the_medians_model_gets_its_own_cap_unless_the_user_set_one():
    """open_deal_comparables (grouped medians, which DuckDB cannot spill) runs under
    DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT; a cap the user set holds for it too unless they set that one."""
    base = {"PATH": "/usr/bin"}
    env = dbt_runner.dbt_env(None, base=base)
    assert env[warehouse.ENV_MEDIANS_MEMORY_LIMIT] == warehouse.default_medians_memory_limit()
    env = dbt_runner.dbt_env(None, base={**base, warehouse.ENV_MEMORY_LIMIT: "3GB"})
    assert env[warehouse.ENV_MEDIANS_MEMORY_LIMIT] == "3GB"
    env = dbt_runner.dbt_env(None, base={**base, warehouse.ENV_MEMORY_LIMIT: "3GB",
                                         warehouse.ENV_MEDIANS_MEMORY_LIMIT: "5GB"})
    assert env[warehouse.ENV_MEDIANS_MEMORY_LIMIT] == "5GB" and env[warehouse.ENV_MEMORY_LIMIT] == "3GB"
    model = (Path(__file__).parents[1] / "dbt_project" / "models" / "marts" / "open_deal_comparables.sql").read_text()
    assert "DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT" in model and "DEALSCOPE_DUCKDB_MEMORY_LIMIT" in model


@pytest.mark.parametrize("total_mb, expected",
                         [(24 * 1024, "4096MB"), (4096, "1638MB"), (512, "256MB"), (None, "4096MB")])
def test_default_medians_cap_is_40_percent_of_ram_at_most_4gb_never_below_the_run_cap(total_mb, expected,
                                                                                     monkeypatch):
    if total_mb is None:
        monkeypatch.setattr(warehouse, "total_memory_mb", lambda: None)
    assert warehouse.default_medians_memory_limit(total_mb) == expected


@pytest.mark.parametrize("total_mb, expected",
                         [(24 * 1024, "2048MB"), (4096, "1024MB"), (512, "256MB"), (None, "2048MB")])
def test_default_memory_cap_is_a_quarter_of_ram_at_most_2gb(total_mb, expected, monkeypatch):
    if total_mb is None:
        monkeypatch.setattr(warehouse, "total_memory_mb", lambda: None)
    assert warehouse.default_memory_limit(total_mb) == expected


def test_run_dbt_runs_the_real_cli_and_reports_failures(tmp_path):
    folders = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs"}
    result = dbt_runner.run_dbt(
        ["ls", "--select", "fct_deals", "--resource-type", "model", "--output", "name", "--quiet"],
        tmp_path / "unused.duckdb", **folders)
    assert result.stdout.split() == ["fct_deals"]
    with pytest.raises(dbt_runner.DbtFailed, match="no_such_model"):
        dbt_runner.run_dbt(["run", "--select", "no_such_model", "--warn-error"], tmp_path / "unused.duckdb", **folders)


def test_the_dagster_dbt_resource_knows_the_version_without_starting_dbt(monkeypatch):
    import dagster_dbt.core.resource
    from dbt.version import __version__ as dbt_core_version

    from pipelines.resources import LocalDbtCliResource

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"started a process: {args}")

    # dagster-dbt's DbtCliResource runs `dbt --version` through this function
    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    resource = LocalDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_runner.dbt_executable())
    assert str(resource._cli_version) == dbt_core_version == dbt_runner.installed_dbt_version()


def test_the_dagster_dbt_resource_loads_no_dbt_adapter_into_the_pipeline_process():
    import inspect

    from dagster_dbt import DbtCliResource

    from pipelines.resources import LocalDbtCliResource

    # dagster-dbt's cli() builds an adapter through this method before every invocation; if an upgrade
    # renames it, the override below no longer applies and this fails
    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)
    resource = LocalDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_runner.dbt_executable())
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_engine_chooses_the_profile_target_and_spark_gets_the_raw_parquet_tables(tmp_path):
    from dealscope import spark_engine

    build_db = tmp_path / ".dealscope.build.duckdb"
    assert dbt_runner.engine_args("duckdb", build_db, ["deals"]) == []
    args = dbt_runner.engine_args("spark", build_db, ["accounts", "deals"])
    assert args[:2] == ["--target", "spark"]
    import json
    assert json.loads(args[args.index("--vars") + 1]) == {
        "raw_parquet_dir": str(spark_engine.raw_parquet_dir(build_db)), "raw_tables": ["accounts", "deals"]}
    assert dbt_runner.dbt_env(build_db, base={})["DEALSCOPE_SPARK_WAREHOUSE"] == str(
        spark_engine.spark_warehouse_dir(build_db))
    # Dagster's dbt resource gets the target from the engine's project (pipelines.project), the vars here.
    assert dbt_runner.engine_vars("spark", build_db, ["accounts", "deals"]) == args[2:]
    assert dbt_runner.engine_vars("duckdb", build_db, ["deals"]) == []
    # Each engine's manifest is parsed into its own folder: test ids differ between targets.
    assert dbt_runner.manifest_target_path("duckdb") == "target"
    assert dbt_runner.manifest_target_path("spark") != "target"
    with pytest.raises(ValueError, match="unknown engine 'oracle'"):
        dbt_runner.engine_args("oracle", build_db)
