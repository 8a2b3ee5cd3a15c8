"""What `dealscope run` shows while it works: one line per stage, its counts and its time.

No Dagster here: pipelines/run_log.py turns Dagster's events into the calls below. On a
terminal the current stage's line is redrawn in place (counts so far, seconds so far);
elsewhere (CI logs, pipes, tests) each stage prints one finished line.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

REDRAW_SECONDS = 0.5
# The longest label ("load negotiation_events") fits, so the counts line up.
LABEL_WIDTH = 23


STAGE_LABELS = {
    "dealscope_dbt_models": "dbt build",
    "main__analysis_coverage": "analysis coverage",
    "statistics": "statistics",
    "main__calibration_worlds": "calibration results",
    "main__run_changes": "changes since last run",
    "run_changes": "changes since last run",
    "dashboards": "dashboards",
    "published_warehouse": "publish warehouse",
}


def stage_label(step_key: str) -> str:
    """'raw__deals' -> 'load deals', 'dealscope_dbt_models' -> 'dbt build', ..."""
    if step_key.startswith("raw__"):
        return f"load {step_key.removeprefix('raw__')}"
    return STAGE_LABELS.get(step_key, step_key)


@dataclass
class Stage:
    label: str
    started: float
    models_total: int = 0
    checks_total: int = 0
    models_done: int = 0
    checks_done: int = 0
    checks_failed: int = 0
    detail: str = ""
    finished: float | None = None
    failed: bool = False
    unit: str = "models"  # what a step materializes: dbt models, or the tables a Python step writes

    def counts(self) -> str:
        if self.detail:
            return self.detail
        parts = []
        if self.models_total:
            parts.append(f"{self.models_done}/{self.models_total} {self.unit}")
        if self.checks_total:
            failed = f" ({self.checks_failed} failed)" if self.checks_failed else ""
            parts.append(f"{self.checks_done}/{self.checks_total} tests{failed}")
        return ", ".join(parts)


@dataclass
class StageProgress:
    """Receives stage start/finish and counts; writes lines to `out`.

    `totals` maps a step to (models, checks) it will produce, for "12/30 models" counters.
    """

    out: TextIO
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    live: bool | None = None
    stages: dict[str, Stage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _current: str | None = None
    _ticker: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.live is None:
            self.live = bool(getattr(self.out, "isatty", lambda: False)())

    # ---- what the run reports
    def stage_started(self, step_key: str) -> None:
        models, checks = self.totals.get(step_key, (0, 0))
        with self._lock:
            self.stages[step_key] = Stage(stage_label(step_key), time.monotonic(), models, checks,
                                          unit="models" if step_key == "dealscope_dbt_models" else "tables")
            self._current = step_key
            self._draw(step_key)
        if self.live and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def model_done(self, step_key: str) -> None:
        self._update(step_key, models=1)

    def check_done(self, step_key: str, passed: bool) -> None:
        self._update(step_key, checks=1, failed=0 if passed else 1)

    def set_detail(self, step_key: str, detail: str) -> None:
        with self._lock:
            if step_key in self.stages:
                self.stages[step_key].detail = detail

    def stage_finished(self, step_key: str, failed: bool = False) -> None:
        with self._lock:
            stage = self.stages.get(step_key)
            if stage is None or stage.finished is not None:
                return
            stage.finished = time.monotonic()
            stage.failed = failed
            self._write_line(stage, final=True)
            if self._current == step_key:
                self._current = None

    def fail_current(self) -> None:
        """Mark the stage under way, if any, as failed (the run stopped with an exception)."""
        if self._current is not None:
            self.stage_finished(self._current, failed=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)

    # ---- drawing
    def _update(self, step_key: str, models: int = 0, checks: int = 0, failed: int = 0) -> None:
        with self._lock:
            stage = self.stages.get(step_key)
            if stage is None:
                return
            stage.models_done += models
            stage.checks_done += checks
            stage.checks_failed += failed
            self._draw(step_key)

    def _tick(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            with self._lock:
                if self._current is not None:
                    self._draw(self._current)

    def _draw(self, step_key: str) -> None:
        if self.live:
            self._write_line(self.stages[step_key], final=False)

    def _write_line(self, stage: Stage, final: bool) -> None:
        end = stage.finished if stage.finished is not None else time.monotonic()
        status = "FAILED" if stage.failed else ""
        seconds = f"{end - stage.started:6.1f} s"
        line = f"  {stage.label:<{LABEL_WIDTH}} {stage.counts():<48} {seconds} {status}".rstrip()
        if self.live:
            self.out.write("\r\033[K" + line + ("\n" if final else ""))
        elif final:
            self.out.write(line + "\n")
        self.out.flush()


def load_detail(rows_read: int, rows_loaded: int, rows_rejected: int) -> str:
    return f"{rows_read:,} read, {rows_loaded:,} loaded, {rows_rejected:,} rejected"
