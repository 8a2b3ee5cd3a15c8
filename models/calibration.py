"""Simulation study: are the hypothesis tests calibrated on worlds whose truth is known?

Each simulated world goes through the real pipeline's statistical path: the sample generator
(`dealscope.sample.generate_world`) -> export files -> the real loader (`dealscope.ingest`) ->
the real dbt models up to `analytics.ml_account_features` -> `write_hypothesis_tests`. Nothing is
simulated at the feature level, so what is calibrated is exactly what the pipeline runs.

Worlds:
  null     no effect of alignment or of events on value (EffectSizes.null()); confounded by size.
           The rejection rate of each primary test (H1, H2: `supported`, two-sided 5% with the
           hypothesised sign, so at most ~2.5% from the sign rule + ~5% two-sided rejections)
           is reported with a 95% Wilson interval, with the two-sided rejection rate.
  planted  EffectSizes(): H1 truth = alignment_log_revenue, H2 truth = eroding_log_revenue (see
           docs/statistics.md: with the generator's defaults these are the values of the estimand).
           Reports power (share supported) and 95% CI coverage of the truth.
  Both     report the mean adjusted estimate and the mean naive (unadjusted) estimate against the
           truth: the confounder biases the naive one.

Run at full scale (about 30 s per world on 2 cores):
    python -m models.calibration --worlds 100 --accounts 2000 --out calibration.csv
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from dealscope import ingest
from dealscope.sample import EffectSizes, generate_world, write_world
from dealscope.settings import DEFAULT_EVENT_TYPES, REPO_ROOT
from models.pipeline_stage import write_hypothesis_tests

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PRIMARY_HYPOTHESES = ("H1_strategic_alignment", "H2_trust_eroding_events")
WORLD_EFFECTS: dict[str, EffectSizes] = {"null": EffectSizes.null(), "planted": EffectSizes()}


def true_effects(effects: EffectSizes) -> dict[str, float]:
    """The value of each primary estimand in a generated world (docs/statistics.md, section 2)."""
    return {"H1_strategic_alignment": effects.alignment_log_revenue,
            "H2_trust_eroding_events": effects.eroding_log_revenue}


def dbt_executable() -> str:
    """The dbt CLI next to the running interpreter (the project's venv), else the one on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(args: list[str], build_db: Path, workdir: Path) -> None:
    """The dbt CLI on dbt_project/ against build_db, with its own target and log folders (so
    concurrent runs do not share dbt_project/target). Raises with dbt's output on failure."""
    command = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
               str(DBT_PROJECT_DIR), "--target-path", str(workdir / "dbt_target"), "--log-path",
               str(workdir / "dbt_logs")]
    env = {**os.environ, "DEALSCOPE_BUILD_DB": str(build_db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR)
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")


def load_exports(data_dir: Path, build_db: Path) -> None:
    """The loader's calls, in the order the Dagster assets make them."""
    loaded_at = datetime.now(timezone.utc)
    with duckdb.connect(str(build_db)) as con:
        ingest.prepare_warehouse(con)
        ingest.load_event_types(con, DEFAULT_EVENT_TYPES)
        for table in ingest.TABLES:
            ingest.load_table(con, table, data_dir, loaded_at)


def build_world_warehouse(n_accounts: int, seed: int, effects: EffectSizes, workdir: Path, *,
                          fmt: str = "parquet", dbt_command: str = "run") -> Path:
    """Generate a world, export it, load it and build the features with dbt; returns the DuckDB file.

    dbt_command: "run" (only ml_account_features and its upstream models, for the study) or
    "build" (the whole project with every data test, as the pipeline runs it).
    """
    workdir = Path(workdir)
    data_dir = workdir / "data"
    write_world(generate_world(n_accounts, seed, effects), data_dir, fmt)
    build_db = workdir / "world.duckdb"
    load_exports(data_dir, build_db)
    selection = ["--select", "+ml_account_features"] if dbt_command == "run" else []
    run_dbt([dbt_command, *selection], build_db, workdir)
    return build_db


def primary_results(build_db: Path, random_state: int = 0) -> pd.DataFrame:
    """Write main.hypothesis_tests and return its adjusted-effect rows for H1 and H2.

    The block permutation test and the forecast are skipped: they do not touch the adjusted-effect
    rows studied here and would double each world's time."""
    with duckdb.connect(str(build_db)) as con:
        results = write_hypothesis_tests(con, random_state=random_state, n_permutations=0, forecast=False)
    primary = results[results["hypothesis"].isin(PRIMARY_HYPOTHESES) & (results["test"] == "adjusted_effect")]
    return primary.reset_index(drop=True)


def simulate_world(world: str, n_accounts: int, seed: int) -> pd.DataFrame:
    """One world through the pipeline: one row per primary hypothesis, with the truth."""
    effects = WORLD_EFFECTS[world]
    truth = true_effects(effects)
    with tempfile.TemporaryDirectory(prefix=f"dealscope-calibration-{world}-") as tmp:
        rows = primary_results(build_world_warehouse(n_accounts, seed, effects, Path(tmp)))
    rows = rows[["hypothesis", "estimate", "ci_low", "ci_high", "p_value", "supported", "naive_estimate",
                 "n_accounts"]].copy()
    rows.insert(0, "seed", seed)
    rows.insert(0, "world", world)
    rows["truth"] = rows["hypothesis"].map(truth)
    return rows


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    share = successes / trials
    centre = (share + z ** 2 / (2 * trials)) / (1 + z ** 2 / trials)
    half = z * np.sqrt(share * (1 - share) / trials + z ** 2 / (4 * trials ** 2)) / (1 + z ** 2 / trials)
    return float(centre - half), float(centre + half)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per world and hypothesis: rejection rates (Wilson 95%), CI coverage, bias of adjusted and naive."""
    out = []
    for (world, hypothesis), group in runs.groupby(["world", "hypothesis"], sort=True):
        valid = group.dropna(subset=["estimate"])
        n = len(valid)
        supported = int(valid["supported"].astype(bool).sum())
        rejected = int((valid["p_value"] < 0.05).sum())
        covered = int(((valid["ci_low"] <= valid["truth"]) & (valid["truth"] <= valid["ci_high"])).sum())
        truth = float(valid["truth"].iloc[0]) if n else float("nan")
        supported_ci, rejection_ci, coverage_ci = (wilson_interval(supported, n), wilson_interval(rejected, n),
                                                   wilson_interval(covered, n))
        out.append({
            "world": world, "hypothesis": hypothesis, "worlds": n, "truth": truth,
            "supported_rate": supported / n if n else float("nan"),
            "supported_rate_ci_low": supported_ci[0], "supported_rate_ci_high": supported_ci[1],
            "two_sided_rejection_rate": rejected / n if n else float("nan"),
            "two_sided_rejection_rate_ci_low": rejection_ci[0], "two_sided_rejection_rate_ci_high": rejection_ci[1],
            "coverage": covered / n if n else float("nan"),
            "coverage_ci_low": coverage_ci[0], "coverage_ci_high": coverage_ci[1],
            "mean_estimate": float(valid["estimate"].mean()),
            "bias_adjusted": float(valid["estimate"].mean() - truth),
            "sd_estimate": float(valid["estimate"].std(ddof=1)) if n > 1 else float("nan"),
            "bias_naive": float(valid["naive_estimate"].mean() - truth),
        })
    return pd.DataFrame(out)


def read_runs(path: Path) -> pd.DataFrame:
    """A runs CSV written by `main --out`; the world name "null" must stay a string, not NaN."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@dataclass(frozen=True)
class StudyResult:
    runs: pd.DataFrame
    summary: pd.DataFrame
    seconds: float


def run_study(n_worlds: int, n_accounts: int, first_seed: int = 1000,
              worlds: tuple[str, ...] = ("null", "planted")) -> StudyResult:
    """n_worlds worlds of each kind, seeds first_seed .. first_seed + n_worlds - 1 (a null and a
    planted world of one seed share everything but the effects)."""
    start = time.perf_counter()
    runs = pd.concat([simulate_world(world, n_accounts, seed)
                      for seed in range(first_seed, first_seed + n_worlds) for world in worlds], ignore_index=True)
    return StudyResult(runs, summarize(runs), time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibration study of the hypothesis tests (docs/statistics.md).")
    parser.add_argument("--worlds", type=int, default=100, help="worlds of each kind (null, planted)")
    parser.add_argument("--accounts", type=int, default=2000, help="accounts per world")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="CSV of every world's rows")
    parser.add_argument("--summarize", type=Path, default=None,
                        help="only summarise a runs CSV written by an earlier --out (e.g. several batches)")
    args = parser.parse_args(argv)
    if args.summarize is not None:
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(summarize(read_runs(args.summarize)).to_string(index=False))
        return 0
    result = run_study(args.worlds, args.accounts, args.first_seed)
    if args.out is not None:
        result.runs.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(result.summary.to_string(index=False))
    print(f"{args.worlds} worlds x 2 of {args.accounts} accounts in {result.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
