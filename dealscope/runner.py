"""Run the Dagster asset graph in-process and report what happened, for the CLI and tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TextIO

from dealscope.coverage import read_analysis_coverage
from dealscope.onboarding.event_rules import describe_activity_matching
from dealscope.settings import Settings
from dealscope.warehouse import open_readonly

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


def execute(settings: Settings, log_level: str = "INFO") -> RunOutcome:
    """Execute the whole job in this process against `settings`' paths."""
    # Imported late: loading the definitions parses the dbt project on first use.
    import dagster as dg

    from pipelines.definitions import build_definitions

    defs = build_definitions(settings)

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(PIPELINE_JOB).execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
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


def run_pipeline(settings: Settings, out: TextIO) -> int:
    mapping = settings.mapping_file
    print(f"dealscope: loading {settings.data_dir}" + (f" with mapping {mapping}" if mapping else ""), file=out, flush=True)
    outcome = execute(settings)
    if not outcome.success:
        print("dealscope: the run FAILED; the published warehouse was left as it was.", file=out)
        for error in outcome.errors or ["a step failed without an error message (see the Dagster log above)"]:
            print(f"  {error}", file=out)
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
    return 0
