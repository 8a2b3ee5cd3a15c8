"""The dbt project as Dagster sees it.

This module defines no `@dbt_assets`, so `dagster-dbt project prepare-and-package
--file pipelines/project.py` can build the manifest from it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from dagster_dbt import DbtProject

from dealscope.dbt_runner import dbt_env_overrides, manifest_target_path, profile_target_arg
from dealscope.settings import DBT_PROJECT_DIR, DEFAULT_ENGINE, ENGINES, ENV_BUILD_DB, Settings


@functools.cache
def dbt_project_for(engine: str) -> DbtProject:
    """The project for one engine (dealscope.settings.ENGINES): parsed, and run by the dbt resource,
    with that engine's profiles.yml target, its manifest in its own target folder."""
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                      target=profile_target_arg(engine), target_path=manifest_target_path(engine))


dbt_project = dbt_project_for(DEFAULT_ENGINE)

DBT_SOURCE_SUFFIXES = (".sql", ".yml", ".yaml", ".csv")
DBT_OUTPUT_DIRS = ("target", *(manifest_target_path(engine) for engine in ENGINES if engine != DEFAULT_ENGINE), "logs", "dbt_packages")


def newest_source_mtime(project_dir: Path) -> float:
    return max(
        (
            path.stat().st_mtime
            for path in project_dir.rglob("*")
            if path.suffix in DBT_SOURCE_SUFFIXES and path.relative_to(project_dir).parts[0] not in DBT_OUTPUT_DIRS
        ),
        default=0.0,
    )


def ensure_manifest(engine: str = DEFAULT_ENGINE) -> None:
    """`@dbt_assets` needs the engine's manifest.json to be built: (re)parse when missing or stale.

    `dagster dev` re-parses on every load (prepare_if_dev); CLI runs, tests and CI parse
    only when a model, macro or YAML file is newer than the manifest.
    """
    # Parsing renders profiles.yml, which needs the build file's path; dagster-dbt's preparer runs
    # `dbt` from PATH (the overrides put this virtualenv's first).
    build_db = os.environ.get(ENV_BUILD_DB) or str(Settings.from_env().build_db)
    os.environ.update(dbt_env_overrides(Path(build_db)))
    project = dbt_project_for(engine)
    project.prepare_if_dev()
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < newest_source_mtime(project.project_dir):
        project.preparer.prepare(project)
