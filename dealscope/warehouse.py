"""The build-aside warehouse: runs write a working copy, readers see only published files.

DuckDB lets one process hold a file read-write, and that process blocks every reader
(see STACK_NOTES.md). So a run never opens the file analysts read: it writes the build
file under an exclusive lock, and `publish` swaps a complete copy into place with an
atomic rename. A reader keeps its snapshot until it reopens; a failed run never
publishes, so the previous warehouse stays whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb

from dealscope.stage_pause import pause_point

LOCK_TIMEOUT_SECONDS = 600.0
ENV_MEMORY_LIMIT = "DEALSCOPE_DUCKDB_MEMORY_LIMIT"
# DuckDB's memory cap for every connection of a run (the loader, the statistics, dbt via
# profiles.yml). DuckDB's own default, 80% of RAM, let one dbt build of 1 M deals take 8 GB. The
# default is a quarter of RAM, never more than 2 GB, so a run stays within a few GB on any machine;
# DuckDB spills to disk beyond it (docs/benchmarks.md has the cost).
MAX_DEFAULT_MEMORY_LIMIT_MB = 2048
DEFAULT_MEMORY_SHARE = 0.25


def total_memory_mb() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return None


def default_memory_limit(total_mb: int | None = None) -> str:
    """min(2 GB, a quarter of RAM), in DuckDB's notation; 2 GB when RAM is unknown."""
    total_mb = total_memory_mb() if total_mb is None else total_mb
    if not total_mb:
        return f"{MAX_DEFAULT_MEMORY_LIMIT_MB}MB"
    return f"{max(256, min(MAX_DEFAULT_MEMORY_LIMIT_MB, int(total_mb * DEFAULT_MEMORY_SHARE)))}MB"


def memory_limit(environ: Mapping[str, str] | None = None) -> str:
    """DEALSCOPE_DUCKDB_MEMORY_LIMIT (any DuckDB size, e.g. '3GB' or '50%') or the default."""
    environ = os.environ if environ is None else environ
    return environ.get(ENV_MEMORY_LIMIT) or default_memory_limit()


ENV_MEDIANS_MEMORY_LIMIT = "DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT"
# DuckDB cannot spill a grouped median (an ordered-set aggregate keeps every value of its group in
# memory), so the model that takes medians over every closed deal (open_deal_comparables) gets its own,
# larger cap while it runs: at 10,000,000 deals it needs about 2.9 GB; the other models keep the run's
# cap, which keeps the 1,000,000-deal run within 4 GB (a 4 GB cap for every model took it to 4.4 GB).
MAX_DEFAULT_MEDIANS_MEMORY_LIMIT_MB = 4096
DEFAULT_MEDIANS_MEMORY_SHARE = 0.4


def default_medians_memory_limit(total_mb: int | None = None) -> str:
    """min(4 GB, 40% of RAM), never below the run's default cap; 4 GB when RAM is unknown."""
    total_mb = total_memory_mb() if total_mb is None else total_mb
    if not total_mb:
        return f"{MAX_DEFAULT_MEDIANS_MEMORY_LIMIT_MB}MB"
    run_cap_mb = int(default_memory_limit(total_mb).removesuffix("MB"))
    share_mb = min(MAX_DEFAULT_MEDIANS_MEMORY_LIMIT_MB, int(total_mb * DEFAULT_MEDIANS_MEMORY_SHARE))
    return f"{max(run_cap_mb, share_mb)}MB"


def medians_memory_limit(environ: Mapping[str, str] | None = None) -> str:
    """DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT, else DEALSCOPE_DUCKDB_MEMORY_LIMIT when that is set (a
    user's cap holds for every model), else the default."""
    environ = os.environ if environ is None else environ
    return environ.get(ENV_MEDIANS_MEMORY_LIMIT) or environ.get(ENV_MEMORY_LIMIT) or default_medians_memory_limit()


# Files a run writes (warehouse, kept versions, logs, site, lock files) are readable by their owner
# and group only: they hold deal values and, when included, confidential notes.
PRIVATE_UMASK = 0o027
PRIVATE_FILE_MODE = 0o640


class WarehouseBusyError(RuntimeError):
    pass


class RunInProgressError(RuntimeError):
    """Another dealscope run holds this warehouse's run lock."""


def restrict_new_files() -> None:
    """Make every file and folder this process creates from now on private to owner and group."""
    os.umask(PRIVATE_UMASK)


def run_lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.stem}.run.lock")


# Run locks this process holds. `dealscope run` takes the lock before Dagster starts (a clear refusal
# before anything runs); the job's warehouse resource takes it again, which covers runs launched from
# the Dagster UI, a schedule or a sensor, and is a no-op inside a run that already holds it.
_held_run_locks: set[Path] = set()


@contextlib.contextmanager
def run_lock(warehouse: Path) -> Iterator[None]:
    """Hold the one-run-at-a-time lock of `warehouse` for a whole run, or fail at once.

    The per-step writer lock keeps two writers off the build file at the same moment, but two runs
    would still interleave their steps in the one build file. The lock is an flock on a file beside
    the warehouse: the kernel releases it when its holder dies, even by SIGKILL, so a crashed run
    never leaves the warehouse locked. Re-entrant within one process.
    """
    path = run_lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    held = path.resolve()
    if held in _held_run_locks:
        yield
        return
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunInProgressError(
                f"another dealscope run is already writing {warehouse} ({holder}); this run did not start "
                "and changed nothing. Run again when that one has finished (dealscope history lists it)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
        handle.flush()
        _held_run_locks.add(held)
        try:
            yield
        finally:
            _held_run_locks.discard(held)
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


@contextlib.contextmanager
def writer_lock(build_db: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the one-writer lock of `build_db` (a lock file beside it), waiting up to `timeout`."""
    build_db.parent.mkdir(parents=True, exist_ok=True)
    lock_file = build_db.with_name(build_db.name + ".lock")
    with open(lock_file, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusyError(
                        f"another dealscope run has been writing {build_db} for over {timeout:.0f} s"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def build_connection(build_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the build file, held under the writer lock."""
    with writer_lock(build_db):
        con = duckdb.connect(str(build_db), config={"memory_limit": memory_limit()})
        try:
            yield con
        finally:
            con.close()


def publish(build_db: Path, warehouse: Path) -> Path:
    """Copy the finished build file over `warehouse` atomically; returns the published path."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(build_db):
        # Fold the WAL into the file so the copy is complete on its own.
        con = duckdb.connect(str(build_db))
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
        replace_atomically(build_db, warehouse)
    return warehouse


def replace_atomically(source: Path, warehouse: Path) -> None:
    """Copy a complete, checkpointed DuckDB file over `warehouse` with one rename (the caller
    holds the writer lock): readers see the old file or the new one, never a partial copy."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    # A publish killed between its copy and its rename leaves a partial copy: never read, removed here.
    for leftover in warehouse.parent.glob(f".{warehouse.name}.publishing-*"):
        leftover.unlink(missing_ok=True)
    staging = warehouse.with_name(f".{warehouse.name}.publishing-{os.getpid()}")
    shutil.copyfile(source, staging)
    os.chmod(staging, PRIVATE_FILE_MODE)
    pause_point("publish")
    # A WAL left by a writer killed on the old file would not match the new one.
    stale_wal = wal_path(warehouse)
    if stale_wal.exists():
        stale_wal.unlink()
    os.replace(staging, warehouse)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str, *, catalog: str | None = None) -> bool:
    """Whether `schema.table` exists in the connection's current database (or in `catalog`, an
    attached database, when given).

    information_schema.tables lists the tables of every attached database: without the catalog
    filter a session that has ATTACHed another file would find that file's table of the same name,
    which an unqualified `schema.table` query does not read.
    """
    [(found,)] = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = coalesce(?, current_database()) "
        "AND table_schema = ? AND table_name = ?", [catalog, schema, table]).fetchall()
    return found > 0


def open_readonly(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection, the way dashboards and analysts should read."""
    return duckdb.connect(str(warehouse), read_only=True)
