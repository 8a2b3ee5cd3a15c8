"""Simulation study: are the hypothesis tests calibrated on worlds whose truth is known?

Each simulated world goes through the real pipeline's statistical path: the sample generator
(`dealscope.sample.generate_world`) -> export files -> the real loader (`dealscope.ingest`) ->
the real dbt models up to `analytics.ml_account_features` -> `models.hypotheses.run_statistics`
(what `write_hypothesis_tests` runs). Nothing is simulated at the feature level, so what is
calibrated is exactly what the pipeline runs. dbt runs in-process from a manifest parsed once per
process (`WorldBuilder`): the same compiled SQL as the CLI, without its ~12 s start-up per world.

Worlds:
  null     no effect of alignment or of events on value (EffectSizes.null()); confounded by size.
  planted  EffectSizes(): H1 truth = alignment_log_revenue, H2 truth = eroding_log_revenue (see
           docs/statistics.md: with the generator's defaults these are the values of the estimand).
Tests studied per primary hypothesis (STUDIED_TESTS): the adjusted effect (`supported`: two-sided 5%
with the hypothesised sign), its placebo (truth 0 in every world), the predictive-value t-test and
the block permutation test (no effect to predict in the null world). Per world kind and test the
summary gives the rejection rate (p < 0.05) and the `supported` rate with 95% Wilson intervals, the
coverage of the truth by the 95% sandwich and bootstrap intervals, and the bias of the adjusted
and of the naive (unadjusted) estimate: the confounder biases the naive one.

Run at full scale (about 15 s per world per process; results are appended as each world finishes,
so an interrupted study resumes where it stopped):
    python -m models.calibration --worlds 100 --accounts 2000 --jobs 2 --out data/calibration/calibration_worlds.csv
The pipeline loads every CSV in data/calibration/ (that file and each stress world's
stress_<knob>.csv) into main.calibration_worlds (`write_calibration_worlds`); the dbt model
`calibration_summary` summarises it (rates with Wilson intervals, the promise of docs/statistics.md
5b), and the Evidence dashboard shows both. `summarize` runs that same model on any runs.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from dealscope import dbt_runner, deal_history, ingest
from dealscope.sample import STRESS_WORLDS, EffectSizes, generate_world, stress_knobs, write_world
from dealscope.settings import DEFAULT_EVENT_TYPES, ENV_BUILD_DB
from models.features import read_account_features
from models.hypotheses import DEFAULT_PERMUTATIONS, run_statistics
from models.tables import CALIBRATION_WORLDS
from models.verdicts import add_verdicts
from models.within_account import (apply_within_account_design, mark_failed_pre_trends, read_event_windows,
                                   within_account_rows)

PRIMARY_HYPOTHESES = ("H1_strategic_alignment", "H2_trust_eroding_events")
T = TypeVar("T")
STUDIED_TESTS = ("adjusted_effect", "cross_sectional", "pre_trend", "future_treatment", "placebo",
                 "predictive_value", "block_permutation")
# tests whose truth is "no effect" in every world (negative controls)
ZERO_TRUTH_TESTS = ("placebo", "pre_trend", "future_treatment")
# dbt models every world needs: the account features and the within-account event windows
WORLD_DBT_SELECTION = ["+ml_account_features", "+ml_event_windows"]
WORLD_EFFECTS: dict[str, EffectSizes] = {"null": EffectSizes.null(), "planted": EffectSizes()}
# dbt-duckdb names the database after the file's stem when the manifest is parsed: every world's
# file has this name (in its own folder) so one parsed manifest serves them all.
WORLD_DB_NAME = "world.duckdb"
RUN_COLUMNS: tuple[str, ...] = (
    "world", "stress", "seed", "hypothesis", "test", "truth", "estimate", "ci_low", "ci_high", "bootstrap_ci_low",
    "bootstrap_ci_high", "p_value", "supported", "naive_estimate", "n_accounts", "accounts_per_world",
    "study_command", "studied_at",
)
# one row per simulated world and test: the primary key of main.calibration_worlds
RUN_KEY = ["world", "stress", "seed", "hypothesis", "test", "accounts_per_world"]


def true_effects(effects: EffectSizes) -> dict[str, float]:
    """The value of each primary estimand in a generated world (docs/statistics.md, section 2)."""
    return {"H1_strategic_alignment": effects.alignment_log_revenue,
            "H2_trust_eroding_events": effects.eroding_log_revenue}


def run_dbt(args: list[str], build_db: Path, workdir: Path) -> None:
    """The dbt CLI on dbt_project/ against build_db, with its own target and log folders (so
    concurrent runs do not share dbt_project/target). Raises with dbt's output on failure."""
    dbt_runner.run_dbt(args, build_db, target_path=workdir / "dbt_target", log_path=workdir / "dbt_logs")


def load_exports(data_dir: Path, build_db: Path) -> None:
    """The loader's calls, in the order the Dagster assets make them."""
    loaded_at = datetime.now(timezone.utc)
    with duckdb.connect(str(build_db)) as con:
        ingest.prepare_warehouse(con)
        ingest.load_event_types(con, DEFAULT_EVENT_TYPES)
        for table in ingest.TABLES:
            ingest.load_table(con, table, data_dir, loaded_at)
        # A world is a single export: its deal history starts with it (no observed events).
        deal_history.write_history_inputs(con, None, None)


def build_world_warehouse(n_accounts: int, seed: int, effects: EffectSizes, workdir: Path, *,
                          fmt: str = "parquet", dbt_command: str = "run", stress: str = "none") -> Path:
    """Generate a world, export it, load it and build the features with dbt; returns the DuckDB file.

    dbt_command: "run" (only ml_account_features and its upstream models, for the study) or
    "build" (the whole project with every data test, as the pipeline runs it).
    """
    workdir = Path(workdir)
    data_dir = workdir / "data"
    write_world(generate_world(n_accounts, seed, effects, stress=stress_knobs(stress)), data_dir, fmt)
    build_db = workdir / WORLD_DB_NAME
    load_exports(data_dir, build_db)
    selection = ["--select", *WORLD_DBT_SELECTION] if dbt_command == "run" else []
    run_dbt([dbt_command, *selection], build_db, workdir)
    return build_db


class WorldBuilder:
    """Builds one world's warehouse at a time: generate -> export -> load -> dbt (in-process).

    dbt parses the project once (`dbt parse`), then runs `+ml_account_features` from that manifest
    for every world (dbtRunner(manifest=...)): about 2 s a world instead of ~14 s for a CLI start.
    One builder per process: dbt's in-process runner is not thread-safe.
    """

    def __init__(self, workdir: Path) -> None:
        from dbt.cli.main import dbtRunner  # heavy import, only for the study

        self.workdir = Path(workdir)
        self._common = dbt_runner.dbt_args(["--quiet"], target_path=self.workdir / "dbt_target",
                                           log_path=self.workdir / "dbt_logs")
        parse_dir = self.workdir / "parse"
        parse_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(dbt_runner.dbt_env_overrides(parse_dir / WORLD_DB_NAME))
        parsed = dbtRunner().invoke(["parse", *self._common])
        if not parsed.success:
            raise RuntimeError(f"dbt parse failed: {parsed.exception}")
        self._runner = dbtRunner(manifest=parsed.result)

    def build(self, n_accounts: int, seed: int, effects: EffectSizes, world_dir: Path, stress: str = "none") -> Path:
        data_dir = world_dir / "data"
        write_world(generate_world(n_accounts, seed, effects, stress=stress_knobs(stress)), data_dir, "parquet")
        build_db = world_dir / WORLD_DB_NAME
        load_exports(data_dir, build_db)
        os.environ[ENV_BUILD_DB] = str(build_db)
        result = self._runner.invoke(["run", "--select", *WORLD_DBT_SELECTION, *self._common])
        # dbt-duckdb keeps the file open in a class-level environment after the run: release it so
        # the statistics can open the file and the world's folder can be removed
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        DuckDBConnectionManager.close_all_connections()
        gc.collect()
        if not result.success:
            raise RuntimeError(f"dbt run failed for seed {seed}: {result.exception}")
        return build_db


def world_rows(tests: pd.DataFrame, effects: EffectSizes) -> pd.DataFrame:
    """The studied rows of one world's hypothesis tests, each with the truth it should find:
    the planted effect for the primary (within-account) and the cross-sectional effect, 0 for the
    negative controls (placebo, pre-trend, future treatment), none (NaN) for the predictive tests,
    whose null is "no gain" and true in the null world only."""
    truth = true_effects(effects)
    base = tests["hypothesis"].str.split(":").str[0]
    per_event_type = (tests["test"] == "adjusted_effect") & tests["hypothesis"].str.contains(":", regex=False)
    rows = tests[base.isin(PRIMARY_HYPOTHESES) & tests["test"].isin(STUDIED_TESTS) & ~per_event_type].copy()
    rows["truth"] = np.where(rows["test"].isin(["adjusted_effect", "cross_sectional"]), base[rows.index].map(truth),
                             np.where(rows["test"].isin(ZERO_TRUTH_TESTS), 0.0, np.nan))
    return rows


def world_inputs_paths(inputs_dir: Path, world: str, n_accounts: int, seed: int,
                       stress: str = "none") -> tuple[Path, Path]:
    """Where a world's statistical inputs are kept: (account features, event windows) Parquet files."""
    stem = Path(inputs_dir) / stress / f"{world}-{n_accounts}-{seed}"
    return stem.with_suffix(".features.parquet"), stem.with_suffix(".event_windows.parquet")


def read_world_inputs(inputs_dir: Path, world: str, n_accounts: int, seed: int,
                      stress: str = "none") -> tuple[pd.DataFrame, pd.DataFrame | None]:
    features_path, windows_path = world_inputs_paths(inputs_dir, world, n_accounts, seed, stress)
    return pd.read_parquet(features_path), (pd.read_parquet(windows_path) if windows_path.exists() else None)


def build_world_inputs(builder: WorldBuilder, world: str, n_accounts: int, seed: int, stress: str = "none",
                       inputs_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One world through the generator, the loader and dbt: the tables the statistics read
    (analytics.ml_account_features, analytics.ml_event_windows). With `inputs_dir` they are also kept
    there as Parquet, so a later estimator can be studied on the same worlds without rebuilding them
    (`rescore_within_account`): the statistics are a pure function of these two tables."""
    effects = WORLD_EFFECTS[world]
    with tempfile.TemporaryDirectory(prefix=f"world-{world}-{seed}-", dir=builder.workdir) as tmp:
        build_db = builder.build(n_accounts, seed, effects, Path(tmp), stress)
        with duckdb.connect(str(build_db), read_only=True) as con:
            features = read_account_features(con)
            event_windows = read_event_windows(con)
    if inputs_dir is not None:
        features_path, windows_path = world_inputs_paths(inputs_dir, world, n_accounts, seed, stress)
        features_path.parent.mkdir(parents=True, exist_ok=True)
        if event_windows is not None:
            event_windows.to_parquet(windows_path, index=False)
        # the features file last: its presence marks a world whose inputs are complete
        features.to_parquet(features_path, index=False)
    return features, event_windows


def simulate_world(builder: WorldBuilder, world: str, n_accounts: int, seed: int, stress: str = "none",
                   n_permutations: int = DEFAULT_PERMUTATIONS, inputs_dir: Path | None = None) -> pd.DataFrame:
    """One world through the pipeline: one row per studied (hypothesis, test), with the truth."""
    features, event_windows = build_world_inputs(builder, world, n_accounts, seed, stress, inputs_dir)
    # sensitivity=False: the observed-control benchmarks (about +5 s CPU a world) decide no studied rate
    tests = run_statistics(features, random_state=0, test_event_types=False, placebo=True,
                           n_permutations=n_permutations, sensitivity=False).tests
    tests = apply_within_account_design(tests, features, event_windows, random_state=0)
    return labelled_world_rows(tests, world, n_accounts, seed, stress)


def labelled_world_rows(tests: pd.DataFrame, world: str, n_accounts: int, seed: int, stress: str) -> pd.DataFrame:
    """`world_rows` of one world's tests, each row naming its world (kind, stress, seed, size)."""
    rows = world_rows(tests, WORLD_EFFECTS[world])
    rows.insert(0, "seed", seed)
    rows.insert(0, "stress", stress)
    rows.insert(0, "world", world)
    rows["accounts_per_world"] = n_accounts
    return rows


def within_account_world_rows(features: pd.DataFrame, event_windows: pd.DataFrame | None, world: str,
                              n_accounts: int, seed: int, stress: str = "none",
                              hypotheses: tuple[str, ...] = PRIMARY_HYPOTHESES) -> pd.DataFrame:
    """The within-account rows of one world (primary and pre-trend of each of `hypotheses`) from its kept
    inputs, in the study's row format: what `simulate_world` gives for those tests, without the
    cross-sectional statistics (which do not depend on the within-account estimator)."""
    rows = within_account_rows(features, event_windows, random_state=0, hypotheses=hypotheses)
    # `supported` decided as in the pipeline: by the verdict rules, from the row and its pre-trend row
    rows = add_verdicts(pd.DataFrame(mark_failed_pre_trends(rows)))
    return labelled_world_rows(rows, world, n_accounts, seed, stress)


def kept_worlds(inputs_dir: Path) -> list[tuple[str, str, int, int]]:
    """(stress, world, accounts, seed) of every world whose inputs are kept in `inputs_dir`."""
    found = []
    for path in sorted(Path(inputs_dir).glob("*/*.features.parquet")):
        world, accounts, seed = path.name.removesuffix(".features.parquet").split("-")
        found.append((path.parent.name, world, int(accounts), int(seed)))
    return found


def rescore_within_account(inputs_dir: Path, study_command: str = "",
                           hypotheses: tuple[str, ...] = PRIMARY_HYPOTHESES) -> pd.DataFrame:
    """The within-account rows of `hypotheses` in every kept world, computed by the current code (about
    a second a world for H1, several for H2)."""
    studied_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    frames = [within_account_world_rows(*read_world_inputs(inputs_dir, world, accounts, seed, stress),
                                        world, accounts, seed, stress, hypotheses)
              for stress, world, accounts, seed in kept_worlds(inputs_dir)]
    if not frames:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    runs = pd.concat(frames, ignore_index=True)
    return runs.assign(study_command=study_command, studied_at=studied_at).loc[:, list(RUN_COLUMNS)]


def replace_runs(runs: pd.DataFrame, replacements: pd.DataFrame) -> pd.DataFrame:
    """`runs` with every row that has the same key (RUN_KEY) in `replacements` replaced by it, in place
    (the other rows, and the order, kept); replacement rows of worlds not in `runs` are left out."""
    key = pd.MultiIndex.from_frame(runs[RUN_KEY].astype(str))
    new = replacements.set_index(pd.MultiIndex.from_frame(replacements[RUN_KEY].astype(str)))
    present = key.isin(new.index)
    replaced = runs.copy()
    if not present.any():
        return replaced
    for column in RUN_COLUMNS:
        if column in RUN_KEY:
            continue
        replaced[column] = replaced[column].astype(object)
        replaced.loc[present, column] = new.loc[key[present], column].to_numpy()
    # back to the columns' own types, so the rows not replaced are written exactly as they were read
    return replaced.infer_objects()


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (scipy's binomtest): the reference the dbt macros
    wilson_low / wilson_high of calibration_summary are tested against."""
    if trials == 0:
        return float("nan"), float("nan")
    interval = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence, method="wilson")
    return float(interval.low), float(interval.high)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """The dbt model `calibration_summary` of these runs (one definition of every rate: the SQL in
    dbt_project/models), built in a scratch DuckDB file: per stress world, world kind, hypothesis, test
    and world size the false-positive rate or power, `supported` rate, coverage and bias with 95%
    Wilson intervals, and on the effect rows the flagged and unflagged false-positive rates and the
    promise (docs/statistics.md, 5b). About 10-20 s: one dbt CLI start."""
    with tempfile.TemporaryDirectory(prefix="dealscope-calibration-summary-") as scratch:
        scratch_db = Path(scratch) / "summary.duckdb"
        with duckdb.connect(str(scratch_db)) as con:
            load_calibration_worlds(con, runs)
        dbt_runner.run_dbt(["run", "--select", f"+{CALIBRATION_SUMMARY_MODEL}"], scratch_db,
                           target_path=Path(scratch) / "target", log_path=Path(scratch) / "logs")
        with duckdb.connect(str(scratch_db), read_only=True) as con:
            return con.execute(f"select * from {CALIBRATION_SUMMARY_TABLE} "
                               "order by stress, world, hypothesis, test, accounts_per_world").df()


def read_runs(path: Path) -> pd.DataFrame:
    """A runs CSV written by `main --out`; the world name "null" must stay a string, not NaN.

    A file from before the within-account design (no `stress` column) holds default worlds whose
    'adjusted_effect' rows were the cross-sectional DML: they are read as 'cross_sectional' rows."""
    # round_trip: the default parser can change a float's last digit, and a file re-written by
    # `--replace-in` must keep every row it does not replace exactly as it was
    runs = pd.read_csv(path, keep_default_na=False, na_values=[""], float_precision="round_trip")
    if "stress" not in runs:
        legacy = runs["test"] == "adjusted_effect"
        runs.loc[legacy, "hypothesis"] = runs.loc[legacy, "hypothesis"] + ":cross_sectional"
        runs.loc[legacy, "test"] = "cross_sectional"
        runs.insert(1, "stress", "none")
    # a world simulated again (e.g. a legacy world redone with the within-account design) replaces its rows
    return runs.drop_duplicates(subset=RUN_KEY, keep="last").reset_index(drop=True)


@dataclass(frozen=True)
class StudyResult:
    runs: pd.DataFrame
    summary: pd.DataFrame
    seconds: float  # simulating the worlds (not summarising them)


_BUILDER: WorldBuilder | None = None


def _init_worker(workdir: str) -> None:
    global _BUILDER
    _BUILDER = WorldBuilder(Path(tempfile.mkdtemp(prefix="worker-", dir=workdir)))


def _each_world(task: Callable[[tuple], T], tasks: list[tuple], jobs: int) -> Iterator[T]:
    """task(t) for each of `tasks`, one WorldBuilder per process, yielded as the worlds finish."""
    if not tasks:
        return
    global _BUILDER
    with tempfile.TemporaryDirectory(prefix="dealscope-calibration-") as workdir:
        if jobs <= 1:
            _init_worker(workdir)
            try:
                for each in tasks:
                    yield task(each)
            finally:
                _BUILDER = None
            return
        # a fresh interpreter per worker (dbt keeps global state); a worker that dies raises
        # BrokenProcessPool here instead of hanging the study
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(workdir,)) as pool:
            for future in as_completed([pool.submit(task, each) for each in tasks]):
                yield future.result()


def _simulate_task(task: tuple[str, int, int, str, int, Path | None]) -> pd.DataFrame:
    world, n_accounts, seed, stress, n_permutations, inputs_dir = task
    assert _BUILDER is not None
    return simulate_world(_BUILDER, world, n_accounts, seed, stress, n_permutations, inputs_dir)


def _keep_inputs_task(task: tuple[str, int, int, str, Path]) -> tuple[str, int, int, str]:
    world, n_accounts, seed, stress, inputs_dir = task
    assert _BUILDER is not None
    build_world_inputs(_BUILDER, world, n_accounts, seed, stress, inputs_dir)
    return world, n_accounts, seed, stress


def keep_world_inputs(n_worlds: int, n_accounts: int, inputs_dir: Path, first_seed: int = 1000, *, jobs: int = 1,
                      worlds: tuple[str, ...] = ("null", "planted"), stress: str = "none") -> int:
    """Build worlds and keep only their statistical inputs (no statistics): the worlds a later estimator
    is re-scored on. Worlds already kept are skipped. Returns the number built."""
    stress_knobs(stress)
    kept = set(kept_worlds(inputs_dir))
    tasks = [(world, n_accounts, seed, stress, Path(inputs_dir)) for seed in range(first_seed, first_seed + n_worlds)
             for world in worlds if (stress, world, n_accounts, seed) not in kept]
    for _ in _each_world(_keep_inputs_task, tasks, jobs):
        pass
    return len(tasks)


def run_study(n_worlds: int, n_accounts: int, first_seed: int = 1000, *, jobs: int = 1,
              worlds: tuple[str, ...] = ("null", "planted"), out: Path | None = None,
              study_command: str = "", stress: str = "none",
              n_permutations: int = DEFAULT_PERMUTATIONS, inputs_dir: Path | None = None) -> StudyResult:
    """n_worlds worlds of each kind, seeds first_seed .. first_seed + n_worlds - 1 (a null and a
    planted world of one seed share everything but the effects), on `jobs` processes.

    With `out`, each world's rows are appended to that CSV as the world finishes, and worlds already
    in it (same kind, stress, seed and size, with the within-account rows) are not simulated again: an
    interrupted study resumes. stress: a named stress world (dealscope.sample.STRESS_WORLDS).
    inputs_dir: keep each world's statistical inputs there (`build_world_inputs`)."""
    stress_knobs(stress)  # an unknown name fails here, before any world is built
    start = time.perf_counter()
    done = read_runs(out) if out is not None and out.exists() and out.stat().st_size else pd.DataFrame()
    within = done[done["test"] == "pre_trend"] if len(done) else done
    finished = (set(zip(within["world"], within["stress"], within["seed"], within["accounts_per_world"]))
                if len(within) else set())
    tasks = [(world, n_accounts, seed, stress, n_permutations, inputs_dir)
             for seed in range(first_seed, first_seed + n_worlds)
             for world in worlds if (world, stress, seed, n_accounts) not in finished]
    studied_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    frames = [done] if len(done) else []

    def record(rows: pd.DataFrame) -> None:
        rows = rows.assign(study_command=study_command, studied_at=studied_at).loc[:, list(RUN_COLUMNS)]
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            rows.to_csv(out, mode="a", header=not out.exists() or out.stat().st_size == 0, index=False)
        frames.append(rows)

    for rows in _each_world(_simulate_task, tasks, jobs):
        record(rows)
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(RUN_COLUMNS))
    if len(runs):
        runs = runs.drop_duplicates(subset=RUN_KEY, keep="last")
        runs = runs[(runs["accounts_per_world"] == n_accounts) & (runs["stress"] == stress)].reset_index(drop=True)
    simulated = time.perf_counter() - start  # the worlds' time; the summary is one dbt run on top
    return StudyResult(runs, summarize(runs), simulated)


# ------------------------------------------------------------------------------- warehouse tables

CALIBRATION_WORLDS_TABLE = CALIBRATION_WORLDS.name
# built by dbt from main.calibration_worlds (dbt_project/models/marts/calibration_summary.sql)
CALIBRATION_SUMMARY_MODEL = "calibration_summary"
CALIBRATION_SUMMARY_TABLE = f"main.{CALIBRATION_SUMMARY_MODEL}"


def calibration_result_files(source: Path) -> list[Path]:
    """The study's CSV files at `source`: the file itself, or every *.csv in a folder (data/calibration/:
    calibration_worlds.csv and each stress_<knob>.csv), sorted by name; none when it does not exist."""
    source = Path(source)
    if source.is_dir():
        return sorted(source.glob("*.csv"))
    return [source] if source.is_file() else []


def read_study(source: Path) -> pd.DataFrame:
    """Every world's rows from the study's files at `source` (`calibration_result_files`), one row per
    world x test (a world simulated again in a later file replaces the earlier rows)."""
    files = calibration_result_files(source)
    if not files:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    runs = pd.concat([read_runs(path) for path in files], ignore_index=True)
    return runs.drop_duplicates(subset=RUN_KEY, keep="last").reset_index(drop=True)


def load_calibration_worlds(con: duckdb.DuckDBPyConnection, runs: pd.DataFrame) -> int:
    """Replace main.calibration_worlds with these runs in one transaction (empty, with its columns, when
    there are none); returns the number of rows. dbt builds main.calibration_summary from it."""
    runs = runs.reindex(columns=list(RUN_COLUMNS))
    con.execute("begin transaction")
    try:
        con.execute(CALIBRATION_WORLDS.ddl())
        if len(runs):
            con.register("calibration_world_rows", runs)
            try:
                con.execute(f"insert into {CALIBRATION_WORLDS_TABLE} by name select * from calibration_world_rows")
            finally:
                con.unregister("calibration_world_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(runs)


def write_calibration_worlds(con: duckdb.DuckDBPyConnection, source: Path) -> int:
    """main.calibration_worlds from the study's files at `source` (a CSV, or a folder of them: every
    stress world's file); empty when there are none. Returns the number of rows loaded."""
    return load_calibration_worlds(con, read_study(source))


def _rate_cell(row: pd.Series, column: str) -> str:
    value = row.get(column)
    if value is None or pd.isna(value):
        return "-"
    return f"{value:.2f} [{row[f'{column}_ci_low']:.2f}, {row[f'{column}_ci_high']:.2f}]"


def stress_markdown(summary: pd.DataFrame) -> str:
    """The per-stress-world table of docs/statistics.md, section 5b, from `summarize`: per stress world, world
    size (generated accounts) and hypothesis, the primary (within-account) and the cross-sectional effect rows, null and planted worlds."""
    rows = summary[summary["test"].isin(["adjusted_effect", "cross_sectional"])].copy()
    rows["design"] = rows["test"].map({"adjusted_effect": "primary (within-account)",
                                       "cross_sectional": "cross-sectional (before)"})
    rows["hypothesis"] = rows["hypothesis"].str.split(":").str[0].str[:2]
    lines = ["| stress | accounts | world | hyp. | design | worlds | false positives | flagged | unflagged FP "
             "| promise | power | coverage | bias |", "|" + "---|" * 13]
    for _, row in rows.sort_values(["stress", "accounts_per_world", "world", "hypothesis", "test"]).iterrows():
        lines.append("| " + " | ".join([
            row["stress"], f"{int(row['accounts_per_world']):,}", row["world"], row["hypothesis"], row["design"],
            str(int(row["worlds"])),
            _rate_cell(row, "false_positive_rate"),
            "-" if pd.isna(row["flagged_rate"]) else f"{row['flagged_rate']:.2f}",
            _rate_cell(row, "unflagged_false_positive_rate"),
            row["promise_status"] if isinstance(row["promise_status"], str) else "-",
            _rate_cell(row, "power"), _rate_cell(row, "coverage"),
            "-" if pd.isna(row["bias_adjusted"]) else f"{row['bias_adjusted']:+.3f}",
        ]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibration study of the hypothesis tests (docs/statistics.md).")
    parser.add_argument("--worlds", type=int, default=100, help="worlds of each kind (null, planted)")
    parser.add_argument("--accounts", type=int, default=2000, help="accounts per world")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1, help="worlds simulated at once (one process each)")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV of every world's rows, appended as worlds finish (resumes an interrupted study)")
    parser.add_argument("--stress", choices=list(STRESS_WORLDS), default="none",
                        help="a stress world of the generator (docs/statistics.md); 'none' is the default world")
    parser.add_argument("--permutations", type=int, default=DEFAULT_PERMUTATIONS,
                        help="block permutation test permutations per world (0 skips it; default: %(default)s)")
    parser.add_argument("--kinds", nargs="+", choices=list(WORLD_EFFECTS), default=list(WORLD_EFFECTS),
                        help="world kinds to simulate (default: both); a knob that acts only through the "
                             "effects has the default world's null worlds, so planted alone suffices")
    parser.add_argument("--summarize", type=Path, nargs="+", default=None,
                        help="only summarise runs CSVs written by earlier --out runs, or folders of them, with the "
                             "dbt model calibration_summary (one table, rows per stress world)")
    parser.add_argument("--keep-inputs", type=Path, default=None, metavar="DIR",
                        help="keep each world's statistical inputs (Parquet) in DIR, for --rescore")
    parser.add_argument("--inputs-only", action="store_true",
                        help="with --keep-inputs: build the worlds and keep their inputs, compute no statistics")
    parser.add_argument("--rescore", type=Path, default=None, metavar="DIR",
                        help="compute the within-account rows of every world kept in DIR with the current code; "
                             "with --out, write them there; with --replace-in, put them in place of the same "
                             "worlds' rows in those study files")
    parser.add_argument("--hypotheses", nargs="+", choices=list(PRIMARY_HYPOTHESES), default=list(PRIMARY_HYPOTHESES),
                        help="with --rescore: the hypotheses whose within-account rows are computed (default: both)")
    parser.add_argument("--replace-in", type=Path, default=None, metavar="DIR",
                        help="with --rescore: the folder of study CSVs whose rows are replaced")
    parser.add_argument("--stress-table", action="store_true",
                        help="with --summarize: print the per-stress-world markdown table of docs/statistics.md 5b")
    args = parser.parse_args(argv)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        if args.summarize is not None and args.stress_table:
            runs = pd.concat([read_study(path) for path in args.summarize], ignore_index=True).drop_duplicates(
                subset=RUN_KEY, keep="last")
            print(stress_markdown(summarize(runs)))
            return 0
        if args.summarize is not None:
            # a world in several of the files (a study re-run elsewhere): the later argument's rows win
            runs = pd.concat([read_study(path) for path in args.summarize], ignore_index=True).drop_duplicates(
                subset=RUN_KEY, keep="last")
            print(summarize(runs).drop(columns=["study_command", "studied_at"]).to_string(index=False))
            return 0
        command = shlex.join(["python", "-m", "models.calibration", *(sys.argv[1:] if argv is None else argv)])
        if args.rescore is not None:
            rescored = rescore_within_account(args.rescore, command, tuple(args.hypotheses))
            if args.out is not None:
                rescored.to_csv(args.out, index=False)
            if args.replace_in is not None:
                for path in calibration_result_files(args.replace_in):
                    runs = read_runs(path)
                    replaced = replace_runs(runs, rescored)
                    if not replaced.equals(runs):  # a file without any of these worlds stays as written
                        replaced.to_csv(path, index=False)
            print(summarize(rescored).drop(columns=["study_command", "studied_at"]).to_string(index=False))
            return 0
        if args.inputs_only:
            if args.keep_inputs is None:
                parser.error("--inputs-only needs --keep-inputs DIR")
            built = keep_world_inputs(args.worlds, args.accounts, args.keep_inputs, args.first_seed, jobs=args.jobs,
                                      worlds=tuple(args.kinds), stress=args.stress)
            print(f"{built} worlds of {args.accounts} accounts ({args.stress}) kept in {args.keep_inputs}")
            return 0
        result = run_study(args.worlds, args.accounts, args.first_seed, jobs=args.jobs, out=args.out,
                           worlds=tuple(args.kinds), study_command=command, stress=args.stress, n_permutations=args.permutations,
                           inputs_dir=args.keep_inputs)
        print(result.summary.drop(columns=["study_command", "studied_at"]).to_string(index=False))
    print(f"{args.worlds} worlds x {len(args.kinds)} of {args.accounts} accounts ({args.stress}) in {result.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
