"""Dagster loggers for `dealscope run`: the full log to a file, stage progress to the terminal.

Both are ordinary Dagster loggers (`@dg.logger`), attached to the job for one run. The
progress logger reads the structured event Dagster attaches to each log record
(step start/success/failure, materializations, asset-check evaluations) and feeds
dealscope.progress; it never parses message text.
"""

from __future__ import annotations

import logging
from typing import TextIO

import dagster as dg

from dealscope.progress import StageProgress, load_detail

FILE_FORMAT = "%(asctime)s - %(levelname)s - %(message)s"


def _own_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


def file_logger(stream: TextIO) -> dg.LoggerDefinition:
    """Every record of the run, DEBUG included, as Dagster's console would print it, into `stream`."""

    @dg.logger(description="The whole run log, written to dealscope's run log file.")
    def run_log_file(init_context: dg.InitLoggerContext) -> logging.Logger:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
        return _own_logger(f"dealscope.run_log.file.{id(stream)}", handler)

    return run_log_file


def _metadata_value(metadata, name: str):
    entry = metadata.get(name)
    return getattr(entry, "value", entry)


class ProgressHandler(logging.Handler):
    """Turns the Dagster event on each record into StageProgress calls."""

    def __init__(self, progress: StageProgress) -> None:
        super().__init__(level=logging.DEBUG)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        # Dagster puts the structured event on every record it dispatches to a job's loggers.
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.progress.stage_started(step)
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            self.progress.stage_finished(step)
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self.progress.stage_finished(step, failed=True)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            self.progress.check_done(step, passed=bool(event.event_specific_data.passed))
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self.progress.model_done(step)
            self._describe(step, event.event_specific_data.materialization.metadata)

    def _describe(self, step: str, metadata) -> None:
        if "rows_read" in metadata:
            self.progress.set_detail(step, load_detail(
                int(_metadata_value(metadata, "rows_read")), int(_metadata_value(metadata, "rows_loaded")),
                int(_metadata_value(metadata, "rows_rejected"))))
        elif "event_types" in metadata:
            self.progress.set_detail(step, f"{_metadata_value(metadata, 'event_types')} event types")
        elif "pages" in metadata:
            self.progress.set_detail(step, f"{len(_metadata_value(metadata, 'pages'))} pages")
        elif "bytes" in metadata:
            self.progress.set_detail(step, f"{int(_metadata_value(metadata, 'bytes')) / 2**20:,.1f} MiB")


def progress_logger(progress: StageProgress) -> dg.LoggerDefinition:
    @dg.logger(description="One line per stage of the run on the terminal.")
    def run_progress(init_context: dg.InitLoggerContext) -> logging.Logger:
        return _own_logger(f"dealscope.run_log.progress.{id(progress)}", ProgressHandler(progress))

    return run_progress


def step_totals(defs: dg.Definitions) -> dict[str, tuple[int, int]]:
    """Per step of a multi-asset (the dbt models): how many assets and checks it will report."""
    totals = {}
    for assets_def in defs.assets or []:
        if isinstance(assets_def, dg.AssetsDefinition) and len(assets_def.keys) > 2:
            totals[assets_def.node_def.name] = (len(assets_def.keys), len(assets_def.check_keys))
    return totals
