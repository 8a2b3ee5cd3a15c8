"""Statistics: the hypothesis tests, a thin call into models/.

models/ (scikit-learn, scipy) is imported when a statistics step runs, not when the definitions
load: start-up stays short, and `pipelines.definitions.prefetch_step_imports` imports it in the
background while loading and dbt run.
"""


import dagster as dg

from dealscope.coverage import write_analysis_coverage
from dealscope.ingest.spec import TABLES
from pipelines.resources import WarehouseResource

RANDOM_STATE = 0


@dg.asset(
    key=["main", "analysis_coverage"],
    group_name="analysis",
    deps=[dg.AssetKey(["raw", table]) for table in TABLES],
    description="Which analyses this export supports, which were skipped and why (dealscope/coverage.py).",
)
def analysis_coverage(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.build_connection() as con:
        rows = write_analysis_coverage(con)
    skipped = [f"{row.analysis}: {row.reason}" for row in rows if not row.ran]
    for line in skipped:
        context.log.warning(f"skipped {line}")
    return dg.MaterializeResult(metadata={"ran": sum(row.ran for row in rows), "skipped": len(skipped),
                                          "skipped_analyses": dg.MetadataValue.text("\n".join(skipped) or "none")})


@dg.asset(
    key=["main", "hypothesis_tests"],
    group_name="analysis",
    deps=[dg.AssetKey(["analytics", "ml_account_features"]), analysis_coverage],
    description="Do strategic alignment and trust-eroding events predict later account value? (docs/statistics.md)",
)
def hypothesis_tests(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from models.pipeline_stage import write_hypothesis_tests

    with warehouse.build_connection() as con:
        results = write_hypothesis_tests(con, random_state=RANDOM_STATE)
    preview = results[["hypothesis", "estimate", "ci_low", "ci_high", "p_value", "supported"]]
    return dg.MaterializeResult(
        metadata={"rows": len(results), "results": dg.MetadataValue.text(preview.to_string(index=False))}
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["main", "calibration_worlds"], group_name="analysis", deps=[hypothesis_tests],
                     description="Every simulated world's test results from the calibration study (models/calibration.py)."),
        dg.AssetSpec(["main", "calibration_summary"], group_name="analysis", deps=[hypothesis_tests],
                     description="Do the tests keep their promises? Rejection rates, power and interval coverage "
                                 "over the calibration study's worlds."),
    ],
)
def calibration_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The study is run by its own command (it simulates hundreds of worlds); this loads its results."""
    from models.calibration import write_calibration_tables

    results_csv = warehouse.settings.calibration_results
    with warehouse.build_connection() as con:
        summary = write_calibration_tables(con, results_csv)
    if summary.empty:
        context.log.warning(f"no calibration results at {results_csv}: the calibration tables are empty")
    worlds = int(summary["worlds"].max()) if not summary.empty else 0
    for key in (["main", "calibration_worlds"], ["main", "calibration_summary"]):
        yield dg.MaterializeResult(asset_key=key, metadata={"source": dg.MetadataValue.path(str(results_csv)),
                                                            "worlds_per_kind": worlds})
