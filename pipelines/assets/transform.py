"""dbt models as Dagster assets; dbt tests become asset checks."""

import functools
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dealscope import spark_engine
from dealscope.dbt_runner import dbt_env_overrides, engine_vars
from dealscope.stage_pause import pause_point
from dealscope.warehouse import writer_lock
from pipelines.project import dbt_project_for, ensure_manifest
from pipelines.resources import WarehouseResource


# The dbt step's name (dealscope.progress labels it "dbt build").
DBT_MODELS_STEP = "dealscope_dbt_models"


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


@functools.cache
def dbt_models_for(engine: str) -> dg.AssetsDefinition:
    """Every dbt model as an asset and every dbt test as a check, from the manifest parsed for the
    engine's profiles.yml target (pipelines.project.ensure_manifest)."""
    project = dbt_project_for(engine)
    ensure_manifest(engine)

    @dbt_assets(manifest=project.manifest_path, dagster_dbt_translator=DealscopeTranslator(), project=project,
                name=DBT_MODELS_STEP)
    def dealscope_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        settings = warehouse.settings
        # profiles.yml reads the build file's path and DuckDB's settings from the environment of the
        # dbt subprocess, which DbtCliResource copies from this process.
        os.environ.update(dbt_env_overrides(settings.build_db))
        with writer_lock(settings.build_db):
            raw_tables: list[str] = []
            if settings.engine == "spark":
                # Every input table is validated by now: the loader's JVM ends before dbt-spark starts its own.
                spark_engine.stop_validation_session()
                # Spark reads the loader's validated raw tables as Parquet (docs/scale-out.md).
                raw_tables = spark_engine.export_raw_tables(settings.build_db)
            # One target folder per deployment, reused: dbt then finds its partial parse from the
            # previous run with the same profile instead of parsing the whole project again. The
            # resource's project gives the engine's target; the engine adds its vars.
            for event in dbt.cli(["build", *engine_vars(settings.engine, settings.build_db, raw_tables)],
                                 context=context, target_path=settings.dbt_target_dir).stream():
                yield event
                pause_point("dbt")
            if settings.engine == "spark":
                # The marts and what the statistics read come back into the DuckDB build file.
                spark_engine.copy_back_tables(settings.build_db, settings.dbt_target_dir / "manifest.json")

    return dealscope_dbt_models
