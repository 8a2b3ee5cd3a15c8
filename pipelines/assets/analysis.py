"""Statistics: the hypothesis tests, a thin call into models/."""


import dagster as dg

from models.pipeline_stage import write_hypothesis_tests
from pipelines.resources import WarehouseResource

RANDOM_STATE = 0


@dg.asset(
    key=["main", "hypothesis_tests"],
    group_name="analysis",
    deps=[dg.AssetKey(["analytics", "ml_account_features"])],
    description="Do strategic alignment and trust-eroding events predict later account value? (docs/statistics.md)",
)
def hypothesis_tests(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.build_connection() as con:
        results = write_hypothesis_tests(con, random_state=RANDOM_STATE)
    preview = results[["hypothesis", "estimate", "ci_low", "ci_high", "p_value", "supported"]]
    return dg.MaterializeResult(
        metadata={"rows": len(results), "results": dg.MetadataValue.text(preview.to_string(index=False))}
    )
