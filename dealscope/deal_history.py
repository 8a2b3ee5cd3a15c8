"""Deal history across exports: the published warehouse's history carried into the next build.

Each export shows only every deal's latest state. The dbt model `deal_state_history` keeps each
deal's state per export as a slowly changing history (one row per version, valid_from / valid_to =
export dates). A build cannot read its own previous output, so before dbt this module copies the
published warehouse's `main.deal_state_history` and `main.export_history` into the build file as
`raw.deal_history_prior` and `raw.export_history` (the latter with this export's row added);
dbt merges this export into them. No published warehouse, or one built before the history existed:
the history starts empty.

An export's date (the version date) is, in this order: the `export_date` setting; else the latest
`updated_at` of the deals file; else the latest `created_at` / `closed_at` in it (docs/CONTRACT.md,
"Deal history across exports", gives the reason). An export dated before the last published one is
refused unless `force_older_export` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import yaml

from dealscope.ingest.sql import literal
from dealscope.settings import DBT_PROJECT_DIR, Settings
from dealscope.warehouse import table_exists

PREVIOUS = "published_history"


def _tracked_columns() -> tuple[str, ...]:
    """The deal columns the history tracks: the dbt project's var deal_history_tracked_columns
    ([name, type] pairs in dbt_project.yml), the one list the models use too."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return tuple(name for name, _type in project["vars"]["deal_history_tracked_columns"])


# A new version starts when a tracked column (or presence in the export) changes. deal_id is the
# key, account_id rides along.
TRACKED_COLUMNS = _tracked_columns()
HISTORY_COLUMNS = ("deal_id", "account_id", *TRACKED_COLUMNS, "in_export", "valid_from")
EXPORT_HISTORY_DDL = """
CREATE OR REPLACE TABLE raw.export_history (
    export_date DATE NOT NULL,
    export_date_source VARCHAR NOT NULL,
    deals_in_export BIGINT NOT NULL,
    is_this_export BOOLEAN NOT NULL
)"""


class OlderExportError(RuntimeError):
    """This export is dated before the last published one and the run was not forced."""


@dataclass(frozen=True)
class ExportDate:
    value: date
    source: str  # 'setting', 'updated_at', 'latest_deal_date', 'run_date' (an export without deals)


def export_date(con: duckdb.DuckDBPyConnection, setting: str | None) -> ExportDate:
    """This export's date, by the documented rule (module docstring), from the loaded raw.deals."""
    if setting:
        try:
            return ExportDate(date.fromisoformat(setting), "setting")
        except ValueError:
            raise ValueError(f"the export date setting {setting!r} is not a date (YYYY-MM-DD)") from None
    latest_update, latest_deal_date = con.execute(
        "SELECT max(updated_at)::DATE, max(greatest(created_at, coalesce(closed_at, created_at)))::DATE "
        "FROM raw.deals").fetchone()
    if latest_update is not None:
        return ExportDate(latest_update, "updated_at")
    if latest_deal_date is not None:
        return ExportDate(latest_deal_date, "latest_deal_date")
    # No loaded deal: nothing enters the history, so the run's own date only orders the export.
    return ExportDate(date.today(), "run_date")


def _published_history(settings: Settings) -> Path | None:
    """The warehouse readers see now (its kept copy when there is one), if it holds a deal history."""
    from dealscope.change_report import previous_published

    previous = previous_published(settings)
    return None if previous is None else previous[0]


def _published_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = 'main' "
        "AND table_name = ?", [PREVIOUS, table]).fetchall()}


def carry_history(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict:
    """Write raw.deal_history_prior and raw.export_history into the build file (`con`), from the
    warehouse readers see now.

    Raises OlderExportError, writing nothing, when this export is dated before the last published
    export and settings.force_older_export is false.
    """
    return write_history_inputs(con, _published_history(settings), settings.export_date, settings.force_older_export)


def write_history_inputs(con: duckdb.DuckDBPyConnection, published: Path | None, export_date_setting: str | None,
                         force_older_export: bool = False) -> dict:
    """raw.deal_history_prior and raw.export_history from `published` (None: the history starts with
    this export, as for a world of the calibration study)."""
    this = export_date(con, export_date_setting)
    deals_in_export = con.execute("SELECT count(*) FROM raw.deals").fetchone()[0]
    if published is not None:
        con.execute(f"ATTACH {literal(str(published))} AS {PREVIOUS} (READ_ONLY)")
    try:
        carried = published is not None and all(table_exists(con, "main", table, catalog=PREVIOUS)
                                                for table in ("deal_state_history", "export_history"))
        last = (con.execute(f"SELECT max(export_date) FROM {PREVIOUS}.main.export_history").fetchone()[0]
                if carried else None)
        if last is not None and this.value < last and not force_older_export:
            raise OlderExportError(
                f"this export is dated {this.value} (from {this.source}), before the last published export "
                f"({last}): an older export would rewrite the deal history backwards, so the run stopped and "
                "nothing was published. Run it with --force-older-export (DEALSCOPE_FORCE_OLDER_EXPORT=true) "
                "to insert it into the history at its date anyway, or set --export-date if its date is wrong."
            )
        columns = ", ".join(HISTORY_COLUMNS)
        con.execute(
            f"CREATE OR REPLACE TABLE raw.deal_history_prior AS SELECT {', '.join(HISTORY_COLUMNS[:-2])}, "
            "true AS in_export, NULL::DATE AS valid_from FROM raw.deals LIMIT 0")
        con.execute(EXPORT_HISTORY_DDL)
        if carried:
            # A history published before a tracked column existed carries NULL for it.
            published_columns = _published_columns(con, "deal_state_history")
            selected = ", ".join(c if c in published_columns else f"NULL AS {c}" for c in HISTORY_COLUMNS)
            con.execute(f"INSERT INTO raw.deal_history_prior ({columns}) SELECT {selected} "
                        f"FROM {PREVIOUS}.main.deal_state_history")
            # An export of the same date replaces that date's entry: it is a re-run or a corrected export.
            con.execute(
                "INSERT INTO raw.export_history SELECT export_date, export_date_source, deals_in_export, false "
                f"FROM {PREVIOUS}.main.export_history WHERE export_date <> ?", [this.value])
        con.execute("INSERT INTO raw.export_history VALUES (?, ?, ?, true)", [this.value, this.source, deals_in_export])
        prior_versions = con.execute("SELECT count(*) FROM raw.deal_history_prior").fetchone()[0]
    finally:
        if published is not None:
            con.execute(f"DETACH {PREVIOUS}")
    return {"export_date": str(this.value), "export_date_source": this.source,
            "last_published_export": str(last) if last is not None else "none",
            "prior_versions": prior_versions, "older_export_forced": last is not None and this.value < last}
