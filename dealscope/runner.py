"""Run the Dagster asset graph in-process and report what happened, for the CLI and tests."""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from dealscope.coverage import read_analysis_coverage
from dealscope.onboarding.event_rules import describe_activity_matching
from dealscope.progress import LABEL_WIDTH, StageProgress
from dealscope.settings import Settings
from dealscope.warehouse import RunInProgressError, open_readonly, restrict_new_files, run_lock

PIPELINE_JOB = "dealscope_pipeline"


@dataclass
class RunOutcome:
    success: bool
    errors: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)


def root_cause(error) -> str:
    """The innermost error's message: what went wrong, not Dagster's wrapper around it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def execute(settings: Settings, log_level: str = "INFO", *, log_stream: TextIO | None = None,
            progress: StageProgress | None = None) -> RunOutcome:
    """Execute the whole job in this process against `settings`' paths.

    By default Dagster's console logger prints the run. With `log_stream`, the whole log
    (DEBUG included) goes there instead, and `progress`, if given, gets each stage's events.
    A run that finds another run writing the same warehouse fails at once, changing nothing.
    """
    restrict_new_files()
    try:
        with run_lock(settings.warehouse):
            return _execute_job(settings, log_level, log_stream=log_stream, progress=progress)
    except RunInProgressError as error:
        return RunOutcome(success=False, errors=[str(error)])


def _execute_job(settings: Settings, log_level: str, *, log_stream: TextIO | None,
                 progress: StageProgress | None) -> RunOutcome:
    # Imported late: loading the definitions parses the dbt project on first use.
    import dagster as dg

    from pipelines.definitions import build_definitions, prefetch_step_imports

    defs = build_definitions(settings)
    prefetch_step_imports()
    job = defs.resolve_job_def(PIPELINE_JOB)
    if log_stream is None:
        run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    else:
        from pipelines import run_log

        loggers = {"run_log_file": run_log.file_logger(log_stream)}
        if progress is not None:
            progress.totals.update(run_log.step_totals(defs))
            loggers["run_progress"] = run_log.progress_logger(progress)
        job = job.with_logger_defs(loggers)
        # Dagster starts only the loggers named in the run config (else its console logger).
        run_config = {"loggers": {name: {"config": {}} for name in loggers}}

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)
    errors = [
        f"{event.step_key}: {root_cause(event.step_failure_data.error)}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error is not None
    ]
    step_seconds = {
        stats.step_key: stats.end_time - stats.start_time
        for stats in instance.get_run_step_stats(result.run_id)
        if stats.start_time is not None and stats.end_time is not None
    }
    return RunOutcome(success=result.success, errors=errors, step_seconds=step_seconds)


def run_log_path(settings: Settings) -> Path:
    """warehouse/logs/run-<UTC timestamp>.log, beside the published warehouse."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return settings.warehouse.parent / "logs" / f"run-{stamp}.log"


def execute_quietly(settings: Settings, out: TextIO, log_path: Path) -> RunOutcome:
    """Run with one progress line per stage on `out`; everything else goes to the `log_path` file.

    dbt's own output (which dagster-dbt echoes to stdout), warnings and any other output of
    the libraries are redirected into the same file for the duration of the run.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"dealscope: run log {log_path}", file=out, flush=True)
    progress = StageProgress(out)
    started = time.monotonic()
    with open(log_path, "a", encoding="utf-8", buffering=1) as log_stream:
        try:
            with contextlib.redirect_stdout(log_stream), contextlib.redirect_stderr(log_stream):
                progress.stage_started("start-up")
                settings.export()  # the module's own definitions are then this run's engine's (one dbt parse)
                from pipelines import definitions  # noqa: F401  (imports; parses dbt if its manifest is stale)

                progress.stage_finished("start-up")
                outcome = execute(settings, log_stream=log_stream, progress=progress)
        except BaseException:
            log_stream.write(traceback.format_exc())
            progress.fail_current()
            raise
        finally:
            progress.close()
    print(f"  {'total':<{LABEL_WIDTH}} {'':<48} {time.monotonic() - started:6.1f} s", file=out, flush=True)
    return outcome


def load_counts(settings: Settings) -> list[tuple]:
    con = open_readonly(settings.warehouse)
    try:
        return con.execute(
            "SELECT source, coalesce(source_file, '(absent)'), rows_read, rows_loaded, rows_rejected "
            "FROM raw.load_summary ORDER BY source"
        ).fetchall()
    finally:
        con.close()


def headline_verdicts(settings: Settings) -> list[str]:
    """The sentence of each primary hypothesis (no ':' in its name), as the statistics wrote it."""
    con = open_readonly(settings.warehouse)
    try:
        columns = {row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = 'hypothesis_tests'").fetchall()}
        if "verdict" not in columns:
            return []
        return [row[0] for row in con.execute(
            "SELECT verdict FROM main.hypothesis_tests WHERE hypothesis NOT LIKE '%:%' ORDER BY hypothesis"
        ).fetchall()]
    finally:
        con.close()


def print_analysis_coverage(settings: Settings, out: TextIO) -> None:
    """Which analyses ran, which ran on a substitute or in part, which were skipped, and why."""
    con = open_readonly(settings.warehouse)
    try:
        rows = read_analysis_coverage(con)
    finally:
        con.close()
    if not rows:
        return
    ran = [row.analysis for row in rows if row.status == "ran"]
    print(f"\nanalyses run ({len(ran)}): {', '.join(ran) or 'none'}", file=out)
    for label, status in (("run with a substitute", "ran_with_substitute"), ("run in part", "partial"),
                          ("SKIPPED", "skipped")):
        chosen = [row for row in rows if row.status == status]
        if chosen:
            print(f"analyses {label} ({len(chosen)}):", file=out)
            for row in chosen:
                print(f"  {row.analysis}: {row.reason.removeprefix('ran: ')}", file=out)


def run_pipeline(settings: Settings, out: TextIO, verbose: bool = False) -> int:
    restrict_new_files()  # before the run log is created
    mapping = settings.mapping_file
    print(f"dealscope: loading {settings.data_dir}" + (f" with mapping {mapping}" if mapping else ""), file=out, flush=True)
    if verbose:
        outcome, log_path = execute(settings), None
    else:
        log_path = run_log_path(settings)
        try:
            outcome = execute_quietly(settings, out, log_path)
        except Exception as error:  # before or around Dagster's run (e.g. the dbt project does not parse)
            outcome = RunOutcome(success=False, errors=[f"{type(error).__name__}: {str(error).strip()[-2000:]}"])
    if not outcome.success:
        print("dealscope: the run FAILED; the published warehouse was left as it was.", file=out)
        for error in outcome.errors or ["a step failed without an error message (see the run log)"]:
            print(f"  {error}", file=out)
        if log_path is not None:
            print(f"full log: {log_path}", file=out)
        return 1
    print(f"\n{'table':<20} {'file':<26} {'read':>10} {'loaded':>10} {'rejected':>10}", file=out)
    for source, source_file, read, loaded, rejected in load_counts(settings):
        print(f"{source:<20} {source_file:<26} {read:>10,} {loaded:>10,} {rejected:>10,}", file=out)
    con = open_readonly(settings.warehouse)
    try:
        for line in describe_activity_matching(con):
            print(line, file=out)
    finally:
        con.close()
    print_analysis_coverage(settings, out)
    for verdict in headline_verdicts(settings):
        print(f"\n{verdict}", file=out)
    print(f"\nwarehouse:  {settings.warehouse}", file=out)
    print(f"dashboards: {settings.dashboards_dir / 'index.html'}", file=out)
    print("rejected rows: SELECT reason, count(*) FROM rejected_rows GROUP BY ALL;", file=out)
    if log_path is not None:
        print(f"run log:    {log_path}", file=out)
    return 0
