"""Where dealscope reads and writes: the one place paths are configured.

Every path comes from an environment variable with a default, so the CLI, Dagster
(`dagster dev`, schedules, sensors), dbt's profiles.yml and the tests agree without
passing paths around.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_EVENT_TYPES = REPO_ROOT / "config" / "event_types.yml"
# The calibration study's per-world results (`python -m models.calibration --out ...`): a CSV, or a folder
# whose every *.csv is loaded (the default world's and each stress world's), into main.calibration_worlds;
# dbt's calibration_summary summarises them for the Evidence page.
DEFAULT_CALIBRATION_RESULTS = REPO_ROOT / "data" / "calibration"

ENV_DATA_DIR = "DEALSCOPE_DATA_DIR"
ENV_WAREHOUSE = "DEALSCOPE_WAREHOUSE"
ENV_DASHBOARDS = "DEALSCOPE_DASHBOARDS"
ENV_EVENT_TYPES = "DEALSCOPE_EVENT_TYPES"
ENV_CALIBRATION_RESULTS = "DEALSCOPE_CALIBRATION_RESULTS"
ENV_MAPPING = "DEALSCOPE_MAPPING"
ENV_MAX_REJECTED_SHARE = "DEALSCOPE_MAX_REJECTED_SHARE"
ENV_ACCEPT_REJECTIONS = "DEALSCOPE_ACCEPT_REJECTIONS"
ENV_VERSIONS_KEPT = "DEALSCOPE_VERSIONS_KEPT"
# Free-text notes (negotiation_events.notes) are confidential: left out of the published warehouse
# unless this is true (dealscope.confidential).
ENV_INCLUDE_NOTES = "DEALSCOPE_INCLUDE_NOTES"
# The export's date (ISO date) when the export cannot tell it (dealscope.deal_history, docs/CONTRACT.md).
ENV_EXPORT_DATE = "DEALSCOPE_EXPORT_DATE"
# Accept an export dated before the last published one (it is then inserted into the deal history).
ENV_FORCE_OLDER_EXPORT = "DEALSCOPE_FORCE_OLDER_EXPORT"
# Published warehouses kept beside the current one for rollback (dealscope.history), newest first.
DEFAULT_VERSIONS_KEPT = 5
# The mapping file looked for in the export folder when none is given (dealscope.mapping).
MAPPING_FILE_NAME = "dealscope.yml"
# A run whose accounts or deals lose more than this share of rows to rejection stops before publishing.
DEFAULT_MAX_REJECTED_SHARE = 0.5
# Read by dbt_project/profiles.yml: the working copy dbt builds into (see Settings.build_db).
ENV_BUILD_DB = "DEALSCOPE_BUILD_DB"
# Which engine runs the dbt models: DuckDB in the build file (the default) or Spark
# (docs/scale-out.md; needs the optional extra `spark`).
ENV_ENGINE = "DEALSCOPE_ENGINE"
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
# Read by profiles.yml's spark target: the local Spark warehouse (Parquet tables and catalog).
ENV_SPARK_WAREHOUSE = "DEALSCOPE_SPARK_WAREHOUSE"


def checked_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return engine


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse: Path
    dashboards_dir: Path
    event_types: Path
    calibration_results: Path = DEFAULT_CALIBRATION_RESULTS
    # An explicit mapping file; None means DATA_DIR/dealscope.yml when present (see mapping_file).
    mapping: Path | None = None
    # None: the mapping's max_rejected_share, else DEFAULT_MAX_REJECTED_SHARE.
    max_rejected_share: float | None = None
    accept_rejections: bool = False
    versions_kept: int = DEFAULT_VERSIONS_KEPT
    include_notes: bool = False
    engine: str = DEFAULT_ENGINE
    # None: the export's date comes from the deals file (dealscope.deal_history.export_date_sql).
    export_date: str | None = None
    force_older_export: bool = False

    def __post_init__(self) -> None:
        checked_engine(self.engine)

    @property
    def mapping_file(self) -> Path | None:
        """The mapping in use: the one given, else dealscope.yml in the export folder, else none."""
        if self.mapping is not None:
            return self.mapping
        found = self.data_dir / MAPPING_FILE_NAME
        return found if found.is_file() else None

    def rejection_limit(self, mapping_share: float | None) -> float:
        """The largest share of accounts or deals rows that may be rejected: CLI/env, mapping, default."""
        if self.max_rejected_share is not None:
            return self.max_rejected_share
        return mapping_share if mapping_share is not None else DEFAULT_MAX_REJECTED_SHARE

    @property
    def build_db(self) -> Path:
        """The working copy every run writes into; published to `warehouse` only on success.

        Readers of the published file are never blocked by a run, and a failed run
        leaves the published warehouse as it was.
        """
        return self.warehouse.with_name(f".{self.warehouse.stem}.build.duckdb")

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target folder for this deployment's runs, reused run after run so dbt's
        partial parse (target/partial_parse.msgpack) survives: parsing depends on the build
        file's path, so one shared folder would re-parse whenever deployments alternate."""
        return self.warehouse.with_name(f".{self.warehouse.stem}.dbt")

    @classmethod
    def from_env(cls) -> "Settings":
        def path(var: str, default: Path | str) -> Path:
            return Path(os.environ.get(var) or default).expanduser().resolve()

        return cls(
            data_dir=path(ENV_DATA_DIR, "data/sample"),
            warehouse=path(ENV_WAREHOUSE, "warehouse/dealscope.duckdb"),
            dashboards_dir=path(ENV_DASHBOARDS, "site"),
            event_types=path(ENV_EVENT_TYPES, DEFAULT_EVENT_TYPES),
            calibration_results=path(ENV_CALIBRATION_RESULTS, DEFAULT_CALIBRATION_RESULTS),
            mapping=path(ENV_MAPPING, "") if os.environ.get(ENV_MAPPING) else None,
            max_rejected_share=float(os.environ[ENV_MAX_REJECTED_SHARE]) if os.environ.get(ENV_MAX_REJECTED_SHARE) else None,
            accept_rejections=os.environ.get(ENV_ACCEPT_REJECTIONS, "").lower() in ("1", "true", "yes"),
            versions_kept=int(os.environ.get(ENV_VERSIONS_KEPT) or DEFAULT_VERSIONS_KEPT),
            include_notes=os.environ.get(ENV_INCLUDE_NOTES, "").lower() in ("1", "true", "yes"),
            engine=os.environ.get(ENV_ENGINE) or DEFAULT_ENGINE,
            export_date=os.environ.get(ENV_EXPORT_DATE) or None,
            force_older_export=os.environ.get(ENV_FORCE_OLDER_EXPORT, "").lower() in ("1", "true", "yes"),
        )

    def export(self) -> None:
        """Put these paths in the environment, for dbt subprocesses and Dagster code loaded later."""
        os.environ[ENV_DATA_DIR] = str(self.data_dir)
        os.environ[ENV_WAREHOUSE] = str(self.warehouse)
        os.environ[ENV_DASHBOARDS] = str(self.dashboards_dir)
        os.environ[ENV_EVENT_TYPES] = str(self.event_types)
        os.environ[ENV_CALIBRATION_RESULTS] = str(self.calibration_results)
        os.environ[ENV_BUILD_DB] = str(self.build_db)
        for var, value in (
            (ENV_MAPPING, str(self.mapping) if self.mapping is not None else None),
            (ENV_MAX_REJECTED_SHARE, str(self.max_rejected_share) if self.max_rejected_share is not None else None),
            (ENV_ACCEPT_REJECTIONS, "true" if self.accept_rejections else None),
            (ENV_VERSIONS_KEPT, str(self.versions_kept)),
            (ENV_INCLUDE_NOTES, "true" if self.include_notes else None),
            (ENV_ENGINE, self.engine if self.engine != DEFAULT_ENGINE else None),
            (ENV_EXPORT_DATE, self.export_date),
            (ENV_FORCE_OLDER_EXPORT, "true" if self.force_older_export else None),
        ):
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
