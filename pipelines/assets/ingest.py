"""Loading: one asset per input table, each a thin call into dealscope.ingest."""


from datetime import datetime, timezone

import dagster as dg

from dealscope import ingest, loading
from pipelines.resources import WarehouseResource

INGEST_GROUP = "ingest"
# Tables whose rows are checked against other tables ("must exist in accounts") load after them.
UPSTREAM_TABLES: dict[str, list[str]] = {
    "accounts": [],
    "strategy_plan": [],
    "deals": ["accounts"],
    "negotiation_events": ["accounts", "deals", "event_types"],
    "account_revenue": ["accounts"],
}

# The rejection gate runs once accounts and deals are both loaded: a failure there skips every
# downstream step, so nothing is published.
GATE_AFTER = ("deals",)


@dg.asset(
    key=["raw", "event_types"],
    group_name=INGEST_GROUP,
    description="The event-type map (config/event_types.yml): canonical types, polarities and aliases.",
)
def raw_event_types(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    loading.read_mapping(warehouse.settings)  # a broken mapping stops the run before any table is written
    with warehouse.build_connection() as con:
        ingest.prepare_warehouse(con)
        n_types = ingest.load_event_types(con, warehouse.settings.event_types)
    return dg.MaterializeResult(metadata={"event_types": n_types, "map": str(warehouse.settings.event_types)})


def build_table_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=table,
        key_prefix=["raw"],
        group_name=INGEST_GROUP,
        deps=[dg.AssetKey(["raw", upstream]) for upstream in UPSTREAM_TABLES[table]],
        description=f"Validated rows of {table}.csv/.parquet (or the file the mapping names); failing rows go to "
        "main.rejected_rows.",
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        loaded_at = datetime.now(timezone.utc)
        settings = warehouse.settings
        mapping = loading.read_mapping(settings)
        with warehouse.build_connection() as con:
            ingest.prepare_warehouse(con)
            counts = loading.load_input_table(con, settings, mapping, table, loaded_at)
            if table in GATE_AFTER:
                loading.enforce_rejection_gate(con, settings, mapping)
        context.log.info(
            f"{table}: read {counts.rows_read}, loaded {counts.rows_loaded}, rejected {counts.rows_rejected}"
        )
        return dg.MaterializeResult(
            metadata={
                "source_file": counts.source_file or "(absent)",
                "rows_read": counts.rows_read,
                "rows_loaded": counts.rows_loaded,
                "rows_rejected": counts.rows_rejected,
            }
        )

    return _load


raw_table_assets = [build_table_asset(table) for table in UPSTREAM_TABLES]
