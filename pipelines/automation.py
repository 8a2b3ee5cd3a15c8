"""Running unattended: the pipeline job, a daily schedule and an input-folder sensor."""


import dagster as dg

from dealscope.input_folder import fingerprint
from pipelines.resources import WarehouseResource

# Dagster's run queue lets one run with this tag through at a time (dagster.yaml), so two
# runs never interleave writes to the build file; the file lock in dealscope.warehouse backs it up.
WAREHOUSE_CONCURRENCY_TAG = {"dealscope/warehouse": "build"}

full_pipeline_job = dg.define_asset_job(
    name="dealscope_pipeline",
    selection=dg.AssetSelection.all(),
    description="Load the exports, run dbt, test the hypotheses, build the dashboards, publish the warehouse.",
    tags=WAREHOUSE_CONCURRENCY_TAG,
)

daily_schedule = dg.ScheduleDefinition(
    name="dealscope_daily",
    job=full_pipeline_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(
    job=full_pipeline_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the pipeline when a file in the input folder is added, removed or changed.",
)
def input_folder_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    current = fingerprint(warehouse.settings.data_dir, warehouse.settings.mapping_file)
    if current == context.cursor:
        return dg.SkipReason(f"no change in {warehouse.settings.data_dir}")
    context.update_cursor(current)
    return dg.RunRequest(run_key=current)
