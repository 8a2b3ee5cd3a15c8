"""The one Dagster `Definitions` of dealscope (`dagster dev -m pipelines.definitions`)."""

from __future__ import annotations

import importlib
import threading

import dagster as dg

from dealscope.dbt_runner import dbt_executable
from dealscope.settings import Settings
from dealscope.warehouse import restrict_new_files
from pipelines.assets import analysis, ingest, reporting, transform
from pipelines.automation import daily_schedule, full_pipeline_job, input_folder_sensor
from pipelines.project import dbt_project_for
from pipelines.resources import LocalDbtCliResource, WarehouseResource


# What the statistics and reporting steps import when they run (scikit-learn, scipy, Plotly: seconds).
STEP_MODULES = ("models.pipeline_stage", "models.calibration", "dashboards")


def prefetch_step_imports() -> threading.Thread:
    """Import STEP_MODULES in a background thread, so the import overlaps loading and the dbt
    subprocess instead of delaying the start; a step that needs a module first waits for it."""
    thread = threading.Thread(target=lambda: [importlib.import_module(name) for name in STEP_MODULES],
                              name="dealscope-prefetch-imports", daemon=True)
    thread.start()
    return thread


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything Dagster runs, pointed at one deployment's paths and run on its engine."""
    settings.export()  # dbt subprocesses read DEALSCOPE_BUILD_DB from the environment
    restrict_new_files()  # runs launched from the UI or a schedule write private files too
    # The dbt assets come from the manifest parsed for the engine's target (parsed here when stale).
    dbt_models = transform.dbt_models_for(settings.engine)
    return dg.Definitions(
        assets=[
            ingest.raw_event_types,
            *ingest.raw_table_assets,
            ingest.carried_deal_history,
            dbt_models,
            analysis.analysis_coverage,
            analysis.statistics,
            analysis.calibration_worlds,
            *reporting.reporting_assets(dbt_models),
        ],
        jobs=[full_pipeline_job],
        schedules=[daily_schedule],
        sensors=[input_folder_sensor],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "dbt": LocalDbtCliResource(project_dir=dbt_project_for(settings.engine), dbt_executable=dbt_executable()),
        },
        # One process: dagster_dbt's import alone costs ~5 s per step under the multiprocess
        # executor, and on 2 cores serial steps also keep DuckDB writers one at a time.
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
