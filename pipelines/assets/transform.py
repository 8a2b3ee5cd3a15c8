"""dbt models as Dagster assets; dbt tests become asset checks."""


import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dealscope.dbt_runner import dbt_env_overrides
from dealscope.stage_pause import pause_point
from dealscope.warehouse import writer_lock
from pipelines.project import dbt_project
from pipelines.resources import WarehouseResource


class DealscopeTranslator(DagsterDbtTranslator):
    """Sources map onto the assets that write them: the loader's raw/<table>, and <schema>/<table> for the
    others (main/calibration_worlds); models are grouped by dbt folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props.get("source_name", "raw") != "raw":
                return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        # fqn = [project, folder, ..., model]: staging / intermediate / marts / analytics
        return fqn[1] if len(fqn) > 2 else "transform"


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=DealscopeTranslator(), project=dbt_project)
def dealscope_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    settings = warehouse.settings
    # profiles.yml reads the build file's path and DuckDB's settings from the environment of the
    # dbt subprocess, which DbtCliResource copies from this process.
    os.environ.update(dbt_env_overrides(settings.build_db))
    with writer_lock(settings.build_db):
        # One target folder per deployment, reused: dbt then finds its partial parse from the
        # previous run with the same profile instead of parsing the whole project again.
        for event in dbt.cli(["build"], context=context, target_path=settings.dbt_target_dir).stream():
            yield event
            pause_point("dbt")
