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


@dg.asset(
    key=["main", "calibration_worlds"],
    group_name="analysis",
    description="Every simulated world's test results from the calibration study (models/calibration.py), "
                "from each CSV in data/calibration/; dbt summarises them into main.calibration_summary.",
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
