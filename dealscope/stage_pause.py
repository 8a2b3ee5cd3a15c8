"""A pause at a named moment of a run, for the tests that kill a run there (tests/test_crash_safety.py).

Inert unless the environment names the stage: `DEALSCOPE_TEST_PAUSE_AT=<stage>` makes the run, on
reaching `pause_point(<stage>)`, write its process id to the file `DEALSCOPE_TEST_PAUSE_MARKER` and
sleep (at most `DEALSCOPE_TEST_PAUSE_SECONDS`, default 300, then carry on). A test waits for the
marker, so it kills the run at that moment and not at a guessed time. Stages: `loading` (inside
the first table's load transaction), `dbt` (while dbt builds), `statistics` (inside the hypothesis
tests' connection), `publish` (the new file copied beside the warehouse, not yet renamed over it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV_PAUSE_AT = "DEALSCOPE_TEST_PAUSE_AT"
ENV_PAUSE_MARKER = "DEALSCOPE_TEST_PAUSE_MARKER"
ENV_PAUSE_SECONDS = "DEALSCOPE_TEST_PAUSE_SECONDS"
STAGES = ("loading", "dbt", "statistics", "publish")


def pause_point(stage: str) -> None:
    if os.environ.get(ENV_PAUSE_AT) != stage:
        return
    marker = os.environ.get(ENV_PAUSE_MARKER)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get(ENV_PAUSE_SECONDS) or 300))
