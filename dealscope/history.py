"""Run history and kept versions: every published warehouse is recorded and the last N are kept.

The ledger of record is `versions/history.jsonl` beside the warehouse: one JSON line per published
run or rollback, appended after the event. Each build copies it, plus its own row, into
`main.run_history`, so analysts query the history in the warehouse they already open. A kept
version is a byte copy of a published file, `versions/<run_id>.duckdb`; `rollback` publishes one
of them again through the same atomic rename as a run, so the restored file is byte-identical to
what that run published (its own run_history ends at that run; the ledger and the next build
record the rollback).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import asdict, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TextIO

import duckdb

from dealscope import warehouse as warehouse_files
from dealscope.confidential import withhold_notes
from dealscope.loading import read_mapping
from dealscope.settings import Settings
from dealscope.whatif import carry_over_scenarios

LEDGER_NAME = "history.jsonl"
REPO_ROOT = Path(__file__).resolve().parents[1]

# Column order and types of main.run_history; nested values are JSON.
HISTORY_COLUMNS = {
    "run_id": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
    "status": "VARCHAR",
    "restored_run_id": "VARCHAR",
    "code_version": "VARCHAR",
    "input_files": "JSON",
    "table_rows": "JSON",
    "settings": "JSON",
    "headline_verdicts": "JSON",
}


class UnknownRunError(LookupError):
    pass


def versions_dir(warehouse: Path) -> Path:
    return warehouse.parent / "versions"


def ledger_path(warehouse: Path) -> Path:
    return versions_dir(warehouse) / LEDGER_NAME


def version_path(warehouse: Path, run_id: str) -> Path:
    return versions_dir(warehouse) / f"{run_id}.duckdb"


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across runs started in the same second."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def code_version() -> str:
    """`git describe` of the checkout when there is one, else the installed package's version."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"], cwd=REPO_ROOT,
            capture_output=True, text=True, timeout=10,
        )
        if described.returncode == 0 and described.stdout.strip():
            return f"git:{described.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"dealscope {metadata.version('dealscope')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_ledger(warehouse: Path) -> list[dict]:
    """Every recorded event, oldest first."""
    path = ledger_path(warehouse)
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _append_ledger(warehouse: Path, record: dict) -> None:
    path = ledger_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _run_record(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str,
                started_at: datetime, finished_at: datetime) -> dict:
    """This run's row: inputs with checksums, load counts and verdicts read from the build file."""
    load_rows = con.execute(
        "SELECT source, source_file, rows_read, rows_loaded, rows_rejected FROM raw.load_summary ORDER BY source"
    ).fetchall()
    input_files = []
    for source, source_file, *_ in load_rows:
        path = settings.data_dir / source_file if source_file else None
        if path is not None and path.is_file():
            input_files.append({"table": source, "file": str(path), "bytes": path.stat().st_size,
                                "sha256": file_checksum(path)})
    has_verdicts = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = 'hypothesis_tests' AND column_name = 'verdict'"
    ).fetchone()[0]
    verdicts = [row[0] for row in con.execute(
        "SELECT verdict FROM main.hypothesis_tests WHERE hypothesis NOT LIKE '%:%' ORDER BY hypothesis"
    ).fetchall()] if has_verdicts else []
    return {
        "run_id": run_id,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "status": "published",
        "restored_run_id": None,
        "code_version": code_version(),
        "input_files": input_files,
        "table_rows": [{"table": source, "rows_read": read, "rows_loaded": loaded, "rows_rejected": rejected}
                       for source, _, read, loaded, rejected in load_rows],
        "settings": {key: str(value) if value is not None else None for key, value in asdict(settings).items()},
        "headline_verdicts": verdicts,
    }


def _write_history_table(con: duckdb.DuckDBPyConnection, records: list[dict]) -> None:
    """(Re)create main.run_history from the ledger's records plus this run's, in one statement."""
    columns = ", ".join(f"{name} {kind}" for name, kind in HISTORY_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TABLE main.run_history ({columns})")
    con.executemany(
        f"INSERT INTO main.run_history VALUES ({', '.join('?' for _ in HISTORY_COLUMNS)})",
        [[json.dumps(record.get(name)) if kind == "JSON" else record.get(name)
          for name, kind in HISTORY_COLUMNS.items()] for record in records],
    )


def _keep_version(published: Path, run_id: str, keep: int) -> Path:
    """Copy the published file to versions/<run_id>.duckdb (write aside, then rename) and prune."""
    target = version_path(published, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.copying-{os.getpid()}")
    shutil.copyfile(published, staging)
    os.chmod(staging, warehouse_files.PRIVATE_FILE_MODE)
    os.replace(staging, target)
    prune_versions(published, keep)
    return target


def prune_versions(warehouse: Path, keep: int) -> list[Path]:
    """Delete kept versions beyond the newest `keep` (run ids sort by start time); returns the deleted."""
    kept = sorted(versions_dir(warehouse).glob("*.duckdb"))
    doomed = kept[:-keep] if keep > 0 else kept
    for path in doomed:
        path.unlink()
    return doomed


def publish_recorded(settings: Settings, started_at: datetime) -> tuple[Path, str]:
    """Record this run in the build file's run_history, publish it, keep a version, log it.

    Returns the published path and the run id.
    """
    finished_at = datetime.now(timezone.utc)
    run_id = new_run_id(started_at)
    with warehouse_files.build_connection(settings.build_db) as con:
        if not settings.include_notes:
            withhold_notes(con, read_mapping(settings))
        record = _run_record(con, settings, run_id, started_at, finished_at)
        _write_history_table(con, [*read_ledger(settings.warehouse), record])
        # Plan what-if scenarios are saved by users into the published file: keep them.
        carry_over_scenarios(con, settings.warehouse)
    published = warehouse_files.publish(settings.build_db, settings.warehouse)
    _keep_version(published, run_id, settings.versions_kept)
    _append_ledger(settings.warehouse, record)
    return published, run_id


def rollback(settings: Settings, run_id: str) -> Path:
    """Make `run_id`'s kept warehouse current again, atomically, and record the rollback."""
    source = version_path(settings.warehouse, run_id)
    if not source.is_file():
        kept = sorted(path.stem for path in versions_dir(settings.warehouse).glob("*.duckdb"))
        raise UnknownRunError(
            f"no kept warehouse for run {run_id!r} in {versions_dir(settings.warehouse)}; "
            f"kept runs: {', '.join(kept) or 'none'}")
    started_at = datetime.now(timezone.utc)
    # The writer lock of the build file: a rollback and a run never publish at the same time.
    with warehouse_files.writer_lock(settings.build_db):
        warehouse_files.replace_atomically(source, settings.warehouse)
    _append_ledger(settings.warehouse, {
        "run_id": new_run_id(started_at),
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "status": "rollback",
        "restored_run_id": run_id,
        "code_version": code_version(),
        "input_files": None,
        "table_rows": None,
        "settings": None,
        "headline_verdicts": None,
    })
    return settings.warehouse


def history_rows(warehouse: Path) -> list[dict]:
    """Recorded runs and rollbacks, newest first, with whether each run's file is still kept."""
    rows = []
    for record in reversed(read_ledger(warehouse)):
        kept = record["status"] == "published" and version_path(warehouse, record["run_id"]).is_file()
        rows.append({**record, "kept": kept})
    return rows


def print_history(warehouse: Path, *, as_json: bool, out: TextIO) -> int:
    """`dealscope history`: a table (or JSON list) of runs and rollbacks, newest first."""
    rows = history_rows(warehouse)
    if as_json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    if not rows:
        print(f"no recorded runs for {warehouse} (the history starts with the next published run)", file=out)
        return 0
    current = current_run_id(rows)
    print(f"{'run_id':<25} {'started_at (UTC)':<20} {'status':<10} {'kept':<5} {'code':<22} detail", file=out)
    for row in rows:
        started = row["started_at"][:19].replace("T", " ")
        if row["status"] == "rollback":
            detail = f"restored {row['restored_run_id']}"
        else:
            detail = ", ".join(f"{item['table']} {item['rows_loaded']:,}" for item in row["table_rows"] or [])
        marker = " (current)" if row["run_id"] == current else ""
        print(f"{row['run_id']:<25} {started:<20} {row['status']:<10} {'yes' if row['kept'] else 'no':<5} "
              f"{row['code_version'][:22]:<22} {detail}{marker}", file=out)
    return 0


def current_run_id(rows_newest_first: list[dict]) -> str | None:
    """The run whose file is published now: the newest run, or the one the newest rollback restored."""
    for row in rows_newest_first:
        return row["restored_run_id"] if row["status"] == "rollback" else row["run_id"]
    return None


def run_rollback(warehouse: Path, run_id: str, *, out: TextIO, err: TextIO) -> int:
    """`dealscope rollback RUN_ID`."""
    settings = Settings.from_env()
    settings = replace(settings, warehouse=warehouse)
    try:
        rollback(settings, run_id)
    except UnknownRunError as error:
        print(f"dealscope rollback: {error}", file=err)
        return 1
    print(f"dealscope: {warehouse} is now the warehouse run {run_id} published (recorded in the history).", file=out)
    return 0
