"""The dbt project as Dagster sees it.

This module defines no `@dbt_assets`, so `dagster-dbt project prepare-and-package
--file pipelines/project.py` can build the manifest from it.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject

from dealscope.dbt_runner import dbt_env_overrides
from dealscope.settings import DBT_PROJECT_DIR, ENV_BUILD_DB, Settings

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

DBT_SOURCE_SUFFIXES = (".sql", ".yml", ".yaml", ".csv")
DBT_OUTPUT_DIRS = ("target", "logs", "dbt_packages")


def newest_source_mtime(project_dir: Path) -> float:
    return max(
        (
            path.stat().st_mtime
            for path in project_dir.rglob("*")
            if path.suffix in DBT_SOURCE_SUFFIXES and path.relative_to(project_dir).parts[0] not in DBT_OUTPUT_DIRS
        ),
        default=0.0,
    )


def ensure_manifest() -> None:
    """`@dbt_assets` needs target/manifest.json at import time: (re)parse when missing or stale.

    `dagster dev` re-parses on every load (prepare_if_dev); CLI runs, tests and CI parse
    only when a model, macro or YAML file is newer than the manifest.
    """
    # Parsing renders profiles.yml, which needs the build file's path; dagster-dbt's preparer runs
    # `dbt` from PATH (the overrides put this virtualenv's first).
    build_db = os.environ.get(ENV_BUILD_DB) or str(Settings.from_env().build_db)
    os.environ.update(dbt_env_overrides(Path(build_db)))
    dbt_project.prepare_if_dev()
    manifest = dbt_project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < newest_source_mtime(dbt_project.project_dir):
        dbt_project.preparer.prepare(dbt_project)
