"""Presentation and publication: the dashboard site, then the warehouse readers open.

dashboards (Plotly) is imported when its step runs, like models/ in pipelines.assets.analysis.
"""

import time
from datetime import datetime, timezone

import dagster as dg

from dealscope import change_report, history
from pipelines.assets.analysis import analysis_coverage, calibration_worlds, statistics
from pipelines.resources import WarehouseResource


RUN_CHANGES_DESCRIPTION = ("What changed since the previous published run: deals added or removed, stage, amount and "
                           "close-date changes, accounts lost, verdicts changed (dealscope/change_report.py).")


@dg.multi_asset(
    name="run_changes",
    specs=[
        dg.AssetSpec(["main", "run_changes"], group_name="reporting", deps=[statistics],
                     description=RUN_CHANGES_DESCRIPTION + " One row per change."),
        dg.AssetSpec(["main", "run_changes_summary"], group_name="reporting", deps=[statistics],
                     description=RUN_CHANGES_DESCRIPTION + " One row of counts."),
    ],
)
def run_changes(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.build_connection() as con:
        changes = change_report.write_run_changes(con, warehouse.settings)
    metadata = {"changes": -1 if changes is None else changes, "compared_with_previous_run": changes is not None}
    yield dg.MaterializeResult(asset_key=["main", "run_changes"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["main", "run_changes_summary"], metadata=metadata)


@dg.asset(
    group_name="reporting",
    deps=[statistics, calibration_worlds, analysis_coverage, run_changes],  # and every dbt model: reporting_assets
    description="Self-contained Plotly pages (one shared plotly.min.js beside them; no network needed).",
)
def dashboards(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from dashboards import build_site

    out_dir = warehouse.settings.dashboards_dir
    with warehouse.build_connection() as con:
        pages = build_site(con, out_dir)
    return dg.MaterializeResult(
        metadata={"index": dg.MetadataValue.path(str(pages[0])), "pages": [p.name for p in pages]}
    )


@dg.asset(
    group_name="reporting",
    deps=[dashboards],
    description="The build file, recorded in run_history, copied atomically over the warehouse analysts open and kept as a version. Runs last: a failed run never publishes.",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    run_stats = context.instance.get_run_stats(context.run.run_id)
    started_at = datetime.fromtimestamp(run_stats.start_time or time.time(), tz=timezone.utc)
    path, run_id = history.publish_recorded(warehouse.settings, started_at)
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size, "run_id": run_id}
    )


def reporting_assets(dbt_models: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    """The reporting assets, run_changes and dashboards also downstream of every dbt model (the
    marts the pages read) of the engine's dbt step (pipelines.assets.transform.dbt_models_for)."""
    with_dbt_upstream = dg.map_asset_specs(lambda spec: spec.merge_attributes(deps=list(dbt_models.keys)),
                                           [run_changes, dashboards])
    return [*with_dbt_upstream, published_warehouse]
