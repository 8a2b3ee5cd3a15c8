"""`dealscope benchmark`: wall time of each pipeline stage and peak memory, per data size.

Each size generates its data in one child process, then runs the whole Dagster job in-process
in another, so the pipeline's memory is measured on its own (the generator's heap does not
count). Two peaks: the largest single process (wait4(2)) and the whole process tree (the
pipeline process plus its dbt subprocess, their resident memory summed every half second). And the
tree's CPU time (user + system, wait4(2): the pipeline process and every descendant it waited for:
dbt, the statistics' worker): divided by the cores, the shortest wall time any schedule of the same
work could take; unlike wall time it does not count time spent waiting for other processes' CPU.
`--engine spark` runs the dbt models on the local Spark session (docs/scale-out.md); its JVMs are
children of the pipeline process and count in the tree. An export already generated for a size and
seed is reused, so both engines can be measured on the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import joblib  # a scikit-learn dependency: its core count respects CPU affinity and cgroup quotas

from dealscope.settings import DEFAULT_ENGINE, DEFAULT_EVENT_TYPES, Settings


def _generate(n_accounts: int, work_dir: Path, seed: int) -> dict:
    from dealscope.sample import write_sample

    data_dir = work_dir / f"data_{n_accounts}_seed{seed}"
    recorded = data_dir / "generated.json"
    if recorded.exists():
        return json.loads(recorded.read_text())
    started = time.perf_counter()
    rows = write_sample(data_dir, seed=seed, n_accounts=n_accounts, world="planted", fmt="csv", messy_rate=0.002)
    result = {"rows": rows, "generate_seconds": round(time.perf_counter() - started, 2)}
    recorded.write_text(json.dumps(result))
    return result


def _pipeline(n_accounts: int, work_dir: Path, seed: int, engine: str) -> dict:
    from dealscope.runner import execute

    settings = Settings(
        data_dir=work_dir / f"data_{n_accounts}_seed{seed}",
        warehouse=work_dir / f"warehouse_{n_accounts}_{engine}" / "dealscope.duckdb",
        dashboards_dir=work_dir / f"site_{n_accounts}_{engine}",
        event_types=DEFAULT_EVENT_TYPES,
        engine=engine,
    )
    started = time.perf_counter()
    outcome = execute(settings)
    pipeline_seconds = time.perf_counter() - started
    return {
        "success": outcome.success,
        "errors": outcome.errors,
        "pipeline_seconds": round(pipeline_seconds, 2),
        "step_seconds": {k: round(v, 2) for k, v in outcome.step_seconds.items()},
        "warehouse_bytes": settings.warehouse.stat().st_size if settings.warehouse.exists() else None,
    }


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, summed (Linux /proc; 0 once it is gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total


@dataclass(frozen=True)
class ChildUsage:
    returncode: int
    peak_rss_mib: float  # the largest single process of the tree
    peak_tree_rss_mib: float  # the whole tree, sampled every half second
    cpu_seconds: float  # user + system of the child and every descendant it waited for


def wait_measured(child: subprocess.Popen) -> ChildUsage:
    """Wait for `child`, sampling its process tree's resident memory meanwhile."""
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.is_set():
            tree_peak = max(tree_peak, tree_rss_bytes(child.pid))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux
    return ChildUsage(child.returncode, round(usage.ru_maxrss / 1024, 1), round(tree_peak / 2**20, 1),
                      round(usage.ru_utime + usage.ru_stime, 1))


def _run_child(stage: str, n_accounts: int, work_dir: Path, seed: int, engine: str) -> tuple[dict, ChildUsage]:
    """Run one stage in a child process: its result and what it used."""
    result_file = work_dir / f"{stage}_{n_accounts}_{engine}.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "dealscope.benchmark", stage, str(n_accounts), str(work_dir), str(seed), engine,
         str(result_file)]
    )
    usage = wait_measured(child)
    if usage.returncode != 0:
        raise RuntimeError(f"benchmark {stage} at {n_accounts} accounts failed (exit {usage.returncode})")
    return json.loads(result_file.read_text()), usage


def measure(n_accounts: int, work_dir: Path, seed: int, engine: str = DEFAULT_ENGINE) -> dict:
    generated, _ = _run_child("generate", n_accounts, work_dir, seed, engine)
    result, usage = _run_child("pipeline", n_accounts, work_dir, seed, engine)
    return {"accounts": n_accounts, "engine": engine, **generated, **result, "peak_rss_mib": usage.peak_rss_mib,
            "peak_tree_rss_mib": usage.peak_tree_rss_mib, "cpu_seconds": usage.cpu_seconds,
            "cores": joblib.cpu_count()}


def format_table(results: list[dict]) -> str:
    steps = sorted({step for r in results for step in r["step_seconds"]})
    header = ["stage"] + [f"{r['accounts']:,} accounts / {r['rows'].get('deals', 0):,} deals ({r['engine']})"
                          for r in results]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.append("| generate sample (s) | " + " | ".join(f"{r['generate_seconds']}" for r in results) + " |")
    for step in steps:
        lines.append(f"| {step} (s) | " + " | ".join(f"{r['step_seconds'].get(step, '-')}" for r in results) + " |")
    lines.append("| whole pipeline (s) | " + " | ".join(f"{r['pipeline_seconds']}" for r in results) + " |")
    lines.append("| CPU, process tree, start-up included (s) | " + " | ".join(
        f"{r['cpu_seconds']}" for r in results) + " |")
    lines.append("| CPU / cores: no schedule of this work is faster (s) | " + " | ".join(
        f"{r['cpu_seconds'] / r['cores']:.1f}" for r in results) + " |")
    lines.append("| peak RSS, largest process (MiB) | " + " | ".join(f"{r['peak_rss_mib']}" for r in results) + " |")
    lines.append("| peak RSS, process tree (MiB) | " + " | ".join(f"{r['peak_tree_rss_mib']}" for r in results) + " |")
    lines.append("| warehouse (MiB) | " + " | ".join(
        f"{(r['warehouse_bytes'] or 0) / 2**20:.0f}" for r in results) + " |")
    return "\n".join(lines)


def run_benchmark(account_counts: list[int], work_dir: Path, seed: int, out: TextIO, engine: str = DEFAULT_ENGINE) -> int:
    work_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for n_accounts in account_counts:
        print(f"benchmark: {n_accounts:,} accounts on {engine} ...", file=out, flush=True)
        results.append(measure(n_accounts, work_dir, seed, engine))
    (work_dir / f"benchmark_{engine}.json").write_text(json.dumps(results, indent=2))
    print(f"\nmachine: {joblib.cpu_count()} cores\n", file=out)
    print(format_table(results), file=out)
    return 0 if all(r["success"] for r in results) else 1


if __name__ == "__main__":
    stage, n, work, seed_arg, engine_arg, result_path = sys.argv[1:7]
    if stage == "generate":
        child_result = _generate(int(n), Path(work), int(seed_arg))
    else:
        child_result = _pipeline(int(n), Path(work), int(seed_arg), engine_arg)
    Path(result_path).write_text(json.dumps(child_result))
