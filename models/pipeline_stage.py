"""The statistical stage of the pipeline: warehouse features in, `main.hypothesis_tests` out
(with `main.permutation_null`, `main.hypothesis_diagnostics`, `main.model_comparison` and
`main.feature_importance`; every table as registered in `models.tables`).

The Dagster asset calls only `write_hypothesis_tests`; this module does not import Dagster.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from joblib.externals.loky import ProcessPoolExecutor  # a scikit-learn dependency

from dealscope.coverage import skipped_hypotheses
from models.diagnostics import add_sizes_and_verdicts
from models.estimators import STATISTICS_PROCESSES
from models.features import FEATURES_TABLE, Outcome, read_account_features
from models.forecast import export_forecast_features, forecast_from_file, write_forecast_tables
from models.hypotheses import DEFAULT_PERMUTATIONS, event_type_rows, run_statistics
from models.predictive import run_predictive_value
from models.tables import (
    FEATURE_IMPORTANCE,
    HYPOTHESIS_DIAGNOSTICS,
    HYPOTHESIS_TESTS,
    MODEL_COMPARISON,
    PERMUTATION_NULL,
    replace_tables,
)
from models.within_account import design_rows, export_event_windows, read_event_windows_file, with_design_rows


# Parts the per-event-type effects are shared out in (about one event type each on the generator's data).
EVENT_TYPE_PARTS = 6


def write_hypothesis_tests(
    con: duckdb.DuckDBPyConnection,
    random_state: int = 0,
    *,
    features_table: str = FEATURES_TABLE,
    outcome: Outcome = "revenue",
    n_permutations: int = DEFAULT_PERMUTATIONS,
    forecast: bool = True,
    predictive: bool = True,
) -> pd.DataFrame:
    """Read the account features, run the tests, replace main.hypothesis_tests (one row per
    hypothesis key, with a generated `verdict`), main.permutation_null (the block permutation
    null distributions, for the Evidence page) and main.hypothesis_diagnostics (overlap, effect by
    segment, benchmarks, MDE curve: `models.diagnostics`); with predictive=True also main.model_comparison
    and main.feature_importance (`models.predictive.run_predictive_value`: linear vs non-linear
    learners on nested feature sets, grouped permutation importance), in the same transaction;
    then (forecast=True) the forward-looking main.account_value_forecast tables
    (`models.forecast.run_forecast`).
    predictive=False (the calibration study) leaves main.model_comparison and
    main.feature_importance as they are. Returns the hypothesis_tests rows written.
    """
    features = read_account_features(con, features_table)
    # Hypotheses whose input the export lacks are not run (main.analysis_coverage says why).
    not_run = skipped_hypotheses(con)
    # The model comparison, the within-account design, the forecast and the per-event-type effects need
    # nothing the primary hypotheses' tests compute: the model comparison starts in a second process at
    # once, so the statistics use both cores of a small machine (on a larger one, a large cross-fit also
    # spreads its folds over each process's share of the cores: models.estimators.fold_jobs). The rest is
    # shared (SharedWork): the within-account design, the forecast, then the per-type effects in
    # EVENT_TYPE_PARTS parts, each taken by whichever process is free first; run_statistics computes what
    # the second process has not started when its own tests are done.
    within = outcome == "revenue"
    with (tempfile.TemporaryDirectory(prefix="dealscope-statistics-") as handoff,
          ProcessPoolExecutor(max_workers=STATISTICS_PROCESSES - 1) as second_process):
        value = second_process.submit(run_predictive_value, features, random_state, outcome=outcome) if predictive else None
        # large inputs go to whichever process computes them as files (DuckDB writes them): this process
        # never holds the event windows (many rows per account)
        first = {}
        if within:
            first["design"] = partial(_design_rows_from_file, features, export_event_windows(con, Path(handoff)),
                                      random_state, not_run)
        if forecast:
            first["forecast"] = partial(forecast_from_file, export_forecast_features(con, Path(handoff)), random_state)
        per_type = [partial(event_type_rows, features, random_state, outcome=outcome, not_run=not_run,
                            part=(index, EVENT_TYPE_PARTS)) for index in range(EVENT_TYPE_PARTS)]
        shared = SharedWork(second_process, [value] if value is not None else [], [*first.values(), *per_type])
        results = run_statistics(features, random_state, outcome=outcome, n_permutations=n_permutations,
                                 not_run=not_run,
                                 type_rows=lambda: [row for part in shared.result()[len(first):] for row in part])
        computed = dict(zip(first, shared.result()))
        tests, diagnostics = results.tests, results.diagnostics
        if within:
            # the within-account design decides H1 and H2; the cross-sectional rows become secondary
            tests = with_design_rows(tests, computed["design"], not_run=not_run)
            # sizes for the new layout, then every row worded again by models.verdicts (each sentence names
            # the design that produced it); the diagnostics follow the DML rows to their ':cross_sectional' keys
            tests = add_sizes_and_verdicts(tests, features, outcome)
            moved = {key.removesuffix(":cross_sectional") for key in tests["hypothesis"]
                     if key.endswith(":cross_sectional")}
            diagnostics = diagnostics.assign(hypothesis=[f"{key}:cross_sectional" if key in moved else key
                                                         for key in diagnostics["hypothesis"]])
        tests = tests.assign(note=tests["note"].replace("", None))
        rows = [(HYPOTHESIS_TESTS, tests), (PERMUTATION_NULL, results.permutation_null),
                (HYPOTHESIS_DIAGNOSTICS, _nulls_for_empty_notes(diagnostics))]
        if value is not None:
            comparison = value.result()
            rows += [(MODEL_COMPARISON, _nulls_for_empty_notes(comparison.comparison)),
                     (FEATURE_IMPORTANCE, _nulls_for_empty_notes(comparison.importance))]
    replace_tables(con, rows)
    if forecast:
        write_forecast_tables(con, computed["forecast"])
    return tests


class SharedWork:
    """Computations two processes share: once the futures `after` are done, `executor` takes them one at
    a time, in order, while the caller's `result()` computes each one not taken yet; `result()` returns
    all their results, in order. Each computation runs once, in one of the two processes."""

    def __init__(self, executor: Executor, after: list[Future], computations: list[Callable[[], Any]]) -> None:
        self._lock = threading.Lock()
        self._computations = computations
        self._taken = 0
        self._futures: dict[int, Future] = {}
        self._computed_here: dict[int, Any] = {}
        threading.Thread(target=self._offer, args=(executor, after), daemon=True).start()

    def _take(self) -> int | None:
        """The next computation nobody has taken (call with the lock held)."""
        if self._taken == len(self._computations):
            return None
        self._taken += 1
        return self._taken - 1

    def _offer(self, executor: Executor, after: list[Future]) -> None:
        wait(after)
        while True:
            with self._lock:
                index = self._take()
                if index is None:
                    return
                try:
                    future = executor.submit(self._computations[index])
                except RuntimeError:  # the executor shut down: the caller failed before asking
                    self._taken -= 1
                    return
                self._futures[index] = future
            wait([future])  # one at a time, so the caller takes what is left meanwhile

    def result(self) -> list[Any]:
        while True:
            with self._lock:
                index = self._take()
            if index is None:
                break
            self._computed_here[index] = self._computations[index]()
        return [self._computed_here[index] if index in self._computed_here else self._futures[index].result()
                for index in range(len(self._computations))]


def _design_rows_from_file(features: pd.DataFrame, windows_file: Path | None, random_state: int,
                           not_run: dict[str, str]) -> list[dict]:
    return design_rows(features, read_event_windows_file(windows_file), random_state, not_run=not_run)


def _nulls_for_empty_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """`note` as text or NULL (never an empty string), typed as text even when every note is NULL."""
    return frame.assign(note=frame["note"].replace("", None).astype(object))
