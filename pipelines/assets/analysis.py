"""Statistics: thin calls into models/. Every table the analysis step writes is an asset, declared from
the registry of the statistics tables (models.tables) with the tables it reads as upstream.

The estimators (scikit-learn, scipy) are imported when a statistics step runs, not when the
definitions load: start-up stays short, and `pipelines.definitions.prefetch_step_imports` imports
them in the background while loading and dbt run.
"""


import dagster as dg

from dealscope.coverage import write_analysis_coverage
from dealscope.ingest.spec import TABLES
from dealscope.stage_pause import pause_point
from dealscope.warehouse import table_exists
from models import tables
from pipelines.resources import WarehouseResource

RANDOM_STATE = 0
ACCOUNT_FEATURES = dg.AssetKey(["analytics", "ml_account_features"])
EVENT_WINDOWS = dg.AssetKey(["analytics", "ml_event_windows"])
FORECAST_FEATURES = dg.AssetKey(["analytics", "ml_forecast_features"])


def table_spec(registered: tables.Table, deps: list) -> dg.AssetSpec:
    return dg.AssetSpec(registered.name.split("."), group_name="analysis", deps=deps,
                        description=registered.description,
                        metadata={"columns": dg.MetadataValue.text(", ".join(registered.column_names))})


@dg.asset(
    key=tables.ANALYSIS_COVERAGE.name.split("."),
    group_name="analysis",
    deps=[dg.AssetKey(["raw", table]) for table in TABLES],
    description=tables.ANALYSIS_COVERAGE.description,
)
def analysis_coverage(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.build_connection() as con:
        rows = write_analysis_coverage(con)
    skipped = [f"{row.analysis}: {row.reason}" for row in rows if not row.ran]
    for line in skipped:
        context.log.warning(f"skipped {line}")
    return dg.MaterializeResult(metadata={"ran": sum(row.ran for row in rows), "skipped": len(skipped),
                                          "skipped_analyses": dg.MetadataValue.text("\n".join(skipped) or "none")})


HYPOTHESIS_DEPS = [ACCOUNT_FEATURES, EVENT_WINDOWS, analysis_coverage]
STATISTICS_SPECS = [
    table_spec(tables.HYPOTHESIS_TESTS, HYPOTHESIS_DEPS),
    table_spec(tables.HYPOTHESIS_DIAGNOSTICS, HYPOTHESIS_DEPS),
    table_spec(tables.PERMUTATION_NULL, [ACCOUNT_FEATURES, analysis_coverage]),
    table_spec(tables.MODEL_COMPARISON, [ACCOUNT_FEATURES]),
    table_spec(tables.FEATURE_IMPORTANCE, [ACCOUNT_FEATURES]),
    *(table_spec(registered, [FORECAST_FEATURES]) for registered in (
        tables.ACCOUNT_VALUE_FORECAST, tables.ACCOUNT_VALUE_FORECAST_EVALUATION, tables.ACCOUNT_VALUE_FORECAST_DECILES)),
]


@dg.multi_asset(name="statistics", specs=STATISTICS_SPECS)
def statistics(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Do strategic alignment and trust-eroding events predict later account value? (docs/statistics.md)"""
    from models.pipeline_stage import write_hypothesis_tests

    with warehouse.build_connection() as con:
        results = write_hypothesis_tests(con, random_state=RANDOM_STATE)
        pause_point("statistics")  # the tests' tables written, not yet checkpointed
        counts = {registered.name: _row_count(con, registered) for registered in tables.STATISTICS_TABLES}
    preview = results[["hypothesis", "estimate", "ci_low", "ci_high", "p_value", "supported"]]
    for spec in STATISTICS_SPECS:
        name = ".".join(spec.key.path)
        metadata = {"rows": counts[name]}
        if name == tables.HYPOTHESIS_TESTS.name:
            metadata["results"] = dg.MetadataValue.text(preview.to_string(index=False))
        yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)


@dg.asset(
    key=["main", "calibration_worlds"],
    group_name="analysis",
    description=tables.CALIBRATION_WORLDS.description,
)
def calibration_worlds(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The study is run by its own command (it simulates hundreds of worlds); this loads its results.
    No upstream asset: the files are its only input, and dbt's calibration_summary reads it."""
    from models.calibration import write_calibration_worlds

    results = warehouse.settings.calibration_results
    with warehouse.build_connection() as con:
        rows = write_calibration_worlds(con, results)
    if not rows:
        context.log.warning(f"no calibration results at {results}: main.calibration_worlds is empty")
    return dg.MaterializeResult(metadata={"source": dg.MetadataValue.path(str(results)), "rows": rows})


def _row_count(con, registered: tables.Table) -> int:
    """Rows in the table; 0 when it was not written (the forecast needs enough history)."""
    if not table_exists(con, registered.schema, registered.table):
        return 0
    return con.execute(f"select count(*) from {registered.name}").fetchall()[0][0]
