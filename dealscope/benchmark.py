"""`dealscope benchmark`: wall time of each pipeline stage and peak memory, per data size.

Each size runs in a child process (generate the data, then the whole Dagster job
in-process), so its peak resident memory is measured on its own with wait4(2):
the figure is the largest of the pipeline process and its dbt subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

from dealscope.settings import DEFAULT_EVENT_TYPES, Settings


def _child(n_accounts: int, work_dir: Path, seed: int) -> dict:
    from dealscope.runner import execute
    from dealscope.sample import write_sample

    data_dir = work_dir / f"data_{n_accounts}"
    started = time.perf_counter()
    rows = write_sample(data_dir, seed=seed, n_accounts=n_accounts, world="planted", fmt="csv", messy_rate=0.002)
    generate_seconds = time.perf_counter() - started

    settings = Settings(
        data_dir=data_dir,
        warehouse=work_dir / f"warehouse_{n_accounts}" / "dealscope.duckdb",
        dashboards_dir=work_dir / f"site_{n_accounts}",
        event_types=DEFAULT_EVENT_TYPES,
    )
    started = time.perf_counter()
    outcome = execute(settings)
    pipeline_seconds = time.perf_counter() - started
    return {
        "accounts": n_accounts,
        "rows": rows,
        "success": outcome.success,
        "errors": outcome.errors,
        "generate_seconds": round(generate_seconds, 2),
        "pipeline_seconds": round(pipeline_seconds, 2),
        "step_seconds": {k: round(v, 2) for k, v in outcome.step_seconds.items()},
        "warehouse_bytes": settings.warehouse.stat().st_size if settings.warehouse.exists() else None,
    }


def measure(n_accounts: int, work_dir: Path, seed: int) -> dict:
    result_file = work_dir / f"result_{n_accounts}.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "dealscope.benchmark", str(n_accounts), str(work_dir), str(seed), str(result_file)]
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"benchmark at {n_accounts} accounts failed (exit {child.returncode})")
    result = json.loads(result_file.read_text())
    result["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)  # ru_maxrss is in KiB on Linux
    return result


def format_table(results: list[dict]) -> str:
    steps = sorted({step for r in results for step in r["step_seconds"]})
    header = ["stage"] + [f"{r['accounts']:,} accounts / {r['rows'].get('deals', 0):,} deals" for r in results]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.append("| generate sample (s) | " + " | ".join(f"{r['generate_seconds']}" for r in results) + " |")
    for step in steps:
        lines.append(f"| {step} (s) | " + " | ".join(f"{r['step_seconds'].get(step, '-')}" for r in results) + " |")
    lines.append("| whole pipeline (s) | " + " | ".join(f"{r['pipeline_seconds']}" for r in results) + " |")
    lines.append("| peak RSS (MiB) | " + " | ".join(f"{r['peak_rss_mib']}" for r in results) + " |")
    lines.append("| warehouse (MiB) | " + " | ".join(
        f"{(r['warehouse_bytes'] or 0) / 2**20:.0f}" for r in results) + " |")
    return "\n".join(lines)


def run_benchmark(account_counts: list[int], work_dir: Path, seed: int, out: TextIO) -> int:
    work_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for n_accounts in account_counts:
        print(f"benchmark: {n_accounts:,} accounts ...", file=out, flush=True)
        results.append(measure(n_accounts, work_dir, seed))
    (work_dir / "benchmark.json").write_text(json.dumps(results, indent=2))
    print(f"\nmachine: {os.cpu_count()} cores\n", file=out)
    print(format_table(results), file=out)
    return 0 if all(r["success"] for r in results) else 1


if __name__ == "__main__":
    n, work, seed_arg, result_path = sys.argv[1:5]
    Path(result_path).write_text(json.dumps(_child(int(n), Path(work), int(seed_arg))))
