"""`dealscope` command line: run the pipeline, make sample data, benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dealscope.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dealscope", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    defaults = Settings.from_env()
    run = commands.add_parser("run", help="run the whole Dagster asset graph in-process on an export folder")
    run.add_argument("--data", type=Path, default=defaults.data_dir, help="export folder (default: %(default)s)")
    run.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="DuckDB file to publish (default: %(default)s)")
    run.add_argument("--dashboards", type=Path, default=defaults.dashboards_dir, help="folder for the HTML pages (default: %(default)s)")
    run.add_argument("--event-types", type=Path, default=defaults.event_types, help="event-type map (default: %(default)s)")
    run.add_argument("--calibration-results", type=Path, default=defaults.calibration_results,
                     help="the calibration study's per-world CSV, shown on the Evidence page (default: %(default)s)")
    run.add_argument("--verbose", action="store_true",
                     help="print Dagster's and dbt's full log instead of one line per stage")

    sample = commands.add_parser("sample", help="write a synthetic export folder in the contract's format")
    sample.add_argument("--out", type=Path, required=True)
    sample.add_argument("--seed", type=int, required=True)
    sample.add_argument("--accounts", type=int, default=2000)
    sample.add_argument("--world", choices=["planted", "null"], default="planted",
                        help="planted: the documented effects; null: no effect of alignment or trust events")
    sample.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sample.add_argument("--messy-rate", type=float, default=0.002,
                        help="share of rows made invalid in realistic ways (default: %(default)s)")

    bench = commands.add_parser("benchmark", help="time each pipeline stage and peak memory at given sizes")
    bench.add_argument("--accounts", type=int, nargs="+", default=[2000, 100_000],
                       help="account counts to run (about 10 deals each; default: %(default)s)")
    bench.add_argument("--work-dir", type=Path, default=Path("bench"))
    bench.add_argument("--seed", type=int, default=7)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from dealscope.runner import run_pipeline

        settings = Settings(
            data_dir=args.data.expanduser().resolve(),
            warehouse=args.warehouse.expanduser().resolve(),
            dashboards_dir=args.dashboards.expanduser().resolve(),
            event_types=args.event_types.expanduser().resolve(),
            calibration_results=args.calibration_results.expanduser().resolve(),
        )
        return run_pipeline(settings, out=sys.stdout, verbose=args.verbose)
    if args.command == "sample":
        from dealscope.sample import write_sample

        counts = write_sample(args.out, seed=args.seed, n_accounts=args.accounts, world=args.world,
                              fmt=args.format, messy_rate=args.messy_rate)
        for table, rows in counts.items():
            print(f"{table:<20} {rows:>10,} rows")
        print(f"written to {args.out}")
        return 0
    if args.command == "benchmark":
        from dealscope.benchmark import run_benchmark

        return run_benchmark(args.accounts, args.work_dir.resolve(), seed=args.seed, out=sys.stdout)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
