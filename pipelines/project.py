"""The dbt project as Dagster sees it.

This module defines no `@dbt_assets`, so `dagster-dbt project prepare-and-package
--file pipelines/project.py` can build the manifest from it.
"""

from __future__ import annotations

from dagster_dbt import DbtProject

from dealscope.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> None:
    """`@dbt_assets` needs target/manifest.json at import time: parse once when it is missing.

    `dagster dev` re-parses on every load (prepare_if_dev); CLI runs, tests and CI parse once.
    """
    dbt_project.prepare_if_dev()
    if not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)
