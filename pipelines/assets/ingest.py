"""Loading: one asset per input table, each a thin call into dealscope.ingest."""


from datetime import datetime, timezone

import dagster as dg

from dealscope import deal_history, ingest, loading
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


class DealHistoryConfig(dg.Config):
    """force_older_export: run an export dated before the last published one (else refused)."""

    force_older_export: bool = False


@dg.multi_asset(
    name="carried_deal_history",
    specs=[
        dg.AssetSpec(["raw", "deal_history_prior"], group_name=INGEST_GROUP, deps=[dg.AssetKey(["raw", "deals"])],
                     description="The published warehouse's deal_state_history, copied into the build for dbt to "
                     "extend with this export (empty when there is none); dealscope/deal_history.py."),
        dg.AssetSpec(["raw", "export_history"], group_name=INGEST_GROUP, deps=[dg.AssetKey(["raw", "deals"])],
                     description="The published exports' dates plus this export's (the version dates of the deal "
                     "history). An export older than the last published one stops the run here unless forced."),
    ],
)
def carried_deal_history(context: dg.AssetExecutionContext, config: DealHistoryConfig, warehouse: WarehouseResource):
    settings = warehouse.settings
    if config.force_older_export:
        from dataclasses import replace

        settings = replace(settings, force_older_export=True)
    with warehouse.build_connection() as con:
        metadata = deal_history.carry_history(con, settings)
    context.log.info(f"export dated {metadata['export_date']} ({metadata['export_date_source']}); "
                     f"last published export {metadata['last_published_export']}")
    yield dg.MaterializeResult(asset_key=["raw", "deal_history_prior"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["raw", "export_history"], metadata=metadata)
