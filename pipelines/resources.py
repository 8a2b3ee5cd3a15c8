"""Dagster resources: where the warehouse and inputs are, from dealscope.settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Optional

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version

from dealscope import dbt_runner, spark_engine, warehouse
from dealscope.settings import DEFAULT_CALIBRATION_RESULTS, DEFAULT_ENGINE, DEFAULT_VERSIONS_KEPT, Settings


class WarehouseResource(dg.ConfigurableResource):
    """Paths of one dealscope deployment; defaults come from the DEALSCOPE_* environment."""

    data_dir: str
    warehouse: str
    dashboards_dir: str
    event_types: str
    calibration_results: str = str(DEFAULT_CALIBRATION_RESULTS)
    mapping: Optional[str] = None
    max_rejected_share: Optional[float] = None
    accept_rejections: bool = False
    versions_kept: int = DEFAULT_VERSIONS_KEPT
    include_notes: bool = False
    engine: str = DEFAULT_ENGINE
    export_date: Optional[str] = None
    force_older_export: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        return cls(
            data_dir=str(settings.data_dir),
            warehouse=str(settings.warehouse),
            dashboards_dir=str(settings.dashboards_dir),
            event_types=str(settings.event_types),
            calibration_results=str(settings.calibration_results),
            mapping=str(settings.mapping) if settings.mapping is not None else None,
            max_rejected_share=settings.max_rejected_share,
            accept_rejections=settings.accept_rejections,
            versions_kept=settings.versions_kept,
            include_notes=settings.include_notes,
            engine=settings.engine,
            export_date=settings.export_date,
            force_older_export=settings.force_older_export,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir),
            warehouse=Path(self.warehouse),
            dashboards_dir=Path(self.dashboards_dir),
            event_types=Path(self.event_types),
            calibration_results=Path(self.calibration_results),
            mapping=Path(self.mapping) if self.mapping else None,
            max_rejected_share=self.max_rejected_share,
            accept_rejections=self.accept_rejections,
            versions_kept=self.versions_kept,
            include_notes=self.include_notes,
            engine=self.engine,
            export_date=self.export_date,
            force_older_export=self.force_older_export,
        )

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """A run holds the warehouse's run lock from before its first step to after its last (the
        in-process executor sets resources up once per run), however it was launched: `dealscope
        run` (which already holds it), the Dagster UI, a schedule or a sensor. A second run fails at
        once, changing nothing. A sensor's or schedule's evaluation (no run) only reads paths and
        does not take it."""
        if context.run is None:
            yield self
            return
        with warehouse.run_lock(Path(self.warehouse)):
            try:
                yield self
            finally:
                # A Spark run that stopped before dbt (a failed load, the rejection gate) leaves no
                # validation JVM behind.
                if self.engine == "spark":
                    spark_engine.stop_validation_session()

    @contextlib.contextmanager
    def build_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.build_connection(self.settings.build_db) as con:
            yield con


class LocalDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource for the dbt installed beside this Python.

    DbtCliResource learns the dbt version by running `dbt --version` before every invocation:
    a whole dbt start-up that also asks the package registry for the latest release (seconds,
    and a network call from a pipeline that must run offline). The version of the installed
    dbt-core package is the same answer.

    It also loads dbt's profile, project and adapter into this process before every invocation
    (2.6 s on a 2-core machine), for `fetch_column_metadata` and `fetch_row_counts`, which dealscope
    does not call: the dbt subprocess does the work, and the events need no adapter.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(dbt_runner.installed_dbt_version())

    def _initialize_dbt_core_adapter(self, args):
        return None
