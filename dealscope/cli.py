"""`dealscope` command line: run the pipeline, check an export folder, draft a CRM mapping, list or roll back published runs, brief an open deal, score a draft plan on the history, make sample data, benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dealscope.settings import DEFAULT_ENGINE, ENGINES, Settings


def build_parser() -> argparse.ArgumentParser:
    from dealscope.sample.generator import STRESS_WORLDS as STRESS_WORLD_NAMES

    parser = argparse.ArgumentParser(prog="dealscope", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    defaults = Settings.from_env()
    run = commands.add_parser("run", help="run the whole Dagster asset graph in-process on an export folder")
    run.add_argument("--data", type=Path, default=defaults.data_dir, help="export folder (default: %(default)s)")
    run.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="DuckDB file to publish (default: %(default)s)")
    run.add_argument("--dashboards", type=Path, default=defaults.dashboards_dir, help="folder for the HTML pages (default: %(default)s)")
    run.add_argument("--event-types", type=Path, default=defaults.event_types, help="event-type map (default: %(default)s)")
    run.add_argument("--calibration-results", type=Path, default=defaults.calibration_results,
                     help="the calibration study's per-world CSV, or a folder of them (every *.csv is loaded), "
                          "shown on the Evidence page (default: %(default)s)")
    run.add_argument("--include-notes", action="store_true", default=defaults.include_notes,
                     help="keep the confidential free-text notes in the published warehouse (default: left out; "
                          "DEALSCOPE_INCLUDE_NOTES)")
    run.add_argument("--engine", choices=ENGINES, default=defaults.engine,
                     help="where the dbt models run: duckdb, or spark (optional extra `spark`, Java 17; "
                          "docs/scale-out.md) (default: %(default)s, DEALSCOPE_ENGINE)")
    run.add_argument("--export-date", default=defaults.export_date,
                     help="the date of this export (YYYY-MM-DD), when the deals file has no updated_at "
                          "(default: max(updated_at), else the latest deal date; DEALSCOPE_EXPORT_DATE)")
    run.add_argument("--force-older-export", action="store_true", default=defaults.force_older_export,
                     help="run an export dated before the last published one (default: refused; "
                          "DEALSCOPE_FORCE_OLDER_EXPORT)")
    run.add_argument("--verbose", action="store_true",
                     help="print Dagster's and dbt's full log instead of one line per stage")
    _add_loading_options(run, defaults)

    check = commands.add_parser(
        "check", help="read and validate an export folder (and its mapping) in seconds: no dbt, no statistics")
    check.add_argument("--data", type=Path, default=defaults.data_dir, help="export folder (default: %(default)s)")
    check.add_argument("--event-types", type=Path, default=defaults.event_types, help="event-type map (default: %(default)s)")
    _add_loading_options(check, defaults)

    sample = commands.add_parser("sample", help="write a synthetic export folder in the contract's format")
    sample.add_argument("--out", type=Path, required=True)
    sample.add_argument("--seed", type=int, required=True)
    sample.add_argument("--accounts", type=int, default=2000)
    sample.add_argument("--world", choices=["planted", "null"], default="planted",
                        help="planted: the documented effects; null: no effect of alignment or trust events")
    sample.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sample.add_argument("--messy-rate", type=float, default=0.002,
                        help="share of rows made invalid in realistic ways (default: %(default)s)")
    sample.add_argument("--stress", choices=list(STRESS_WORLD_NAMES), default="none",
                        help="a stress world (docs/statistics.md): e.g. health adds an unrecorded account-health "
                             "trait that drives alignment, trust-eroding events and revenue (default: %(default)s)")

    init = commands.add_parser("init", help="draft a commented dealscope.yml mapping for a CRM export folder")
    init.add_argument("--from", dest="vendor", choices=["salesforce", "hubspot", "generic"], required=True,
                      help="the export's origin: salesforce / hubspot (standard field names) or generic (guessed from the "
                           "headers: a spreadsheet or another CRM's export, e.g. Pipedrive's \"Deal - Value\" headers)")
    init.add_argument("src_dir", type=Path, help="the folder holding the exported CSV files")
    init.add_argument("--out", type=Path, default=None, help="mapping file to write (default: SRC_DIR/dealscope.yml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing mapping file")

    history = commands.add_parser("history", help="list the published runs and rollbacks, newest first")
    history.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="published DuckDB file (default: %(default)s)")
    history.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    rollback = commands.add_parser("rollback", help="make a kept run's warehouse current again (atomic, recorded)")
    rollback.add_argument("run_id", help="a run id from `dealscope history`")
    rollback.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="published DuckDB file (default: %(default)s)")

    brief = commands.add_parser("brief", help="write the pre-negotiation brief of one open deal (HTML + JSON)")
    brief.add_argument("deal_id", help="an open deal's deal_id")
    brief.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="published DuckDB file (default: %(default)s)")
    brief.add_argument("--out", type=Path, default=Path("."), help="folder for DEAL_ID.html and DEAL_ID.json (default: %(default)s)")
    whatif = commands.add_parser(
        "whatif", help="score the deal history under a draft strategic plan and compare it with the plan in force")
    whatif.add_argument("--plan", type=Path, required=True, help="the draft plan, in strategy_plan.csv's format")
    whatif.add_argument("--name", default=None, help="scenario name kept in plan_whatif (default: the file's name)")
    whatif.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="published DuckDB file (default: %(default)s)")
    whatif.add_argument("--out", type=Path, default=defaults.dashboards_dir,
                        help="folder for the page whatif-<name>.html (default: %(default)s)")
    plan = commands.add_parser("plan", help="strategic plan helpers")
    plan_commands = plan.add_subparsers(dest="plan_command", required=True)
    draft = plan_commands.add_parser(
        "draft", help="write a starting plan from the data: every segment, industry, region, product line and "
                      "deal type with its volume, win rate and value; stance left for you to fill")
    draft.add_argument("--out", type=Path, required=True, help="plan file to write (strategy_plan.csv format)")
    draft.add_argument("--warehouse", type=Path, default=defaults.warehouse, help="published DuckDB file (default: %(default)s)")
    draft.add_argument("--force", action="store_true", help="overwrite an existing file")

    bench = commands.add_parser("benchmark", help="time each pipeline stage, peak memory and CPU time at given sizes")
    bench.add_argument("--accounts", type=int, nargs="+", default=[2000, 100_000],
                       help="account counts to run (about 10 deals each; default: %(default)s)")
    bench.add_argument("--work-dir", type=Path, default=Path("bench"))
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                       help="where the dbt models run (default: %(default)s; spark needs the optional extra)")
    return parser


def _add_loading_options(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    parser.add_argument("--mapping", type=Path, default=defaults.mapping,
                        help="mapping file from CRM exports to the contract (default: DATA/dealscope.yml if present)")
    parser.add_argument("--max-rejected-share", type=float, default=defaults.max_rejected_share,
                        help="stop before publishing when accounts or deals lose more than this share of rows "
                             "(default: the mapping's max_rejected_share, else 0.5)")
    parser.add_argument("--accept-rejections", action="store_true", default=defaults.accept_rejections,
                        help="publish even when more rows than max_rejected_share are rejected")


def _resolved(path: Path | None) -> Path | None:
    return path.expanduser().resolve() if path is not None else None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "check"):
        defaults = Settings.from_env()
        if args.max_rejected_share is not None and not 0 <= args.max_rejected_share <= 1:
            print("--max-rejected-share must be between 0 and 1", file=sys.stderr)
            return 2
        settings = Settings(
            data_dir=args.data.expanduser().resolve(),
            warehouse=_resolved(getattr(args, "warehouse", None)) or defaults.warehouse,
            dashboards_dir=_resolved(getattr(args, "dashboards", None)) or defaults.dashboards_dir,
            event_types=args.event_types.expanduser().resolve(),
            calibration_results=_resolved(getattr(args, "calibration_results", None)) or defaults.calibration_results,
            mapping=_resolved(args.mapping),
            max_rejected_share=args.max_rejected_share,
            accept_rejections=args.accept_rejections,
            versions_kept=defaults.versions_kept,
            include_notes=getattr(args, "include_notes", defaults.include_notes),
            engine=getattr(args, "engine", defaults.engine),
            export_date=getattr(args, "export_date", defaults.export_date),
            force_older_export=getattr(args, "force_older_export", defaults.force_older_export),
        )
        if args.command == "check":
            from dealscope.check import run_check

            return run_check(settings, out=sys.stdout)
        from dealscope.runner import run_pipeline

        return run_pipeline(settings, out=sys.stdout, verbose=args.verbose)
    if args.command == "sample":
        from dealscope.sample import write_sample

        counts = write_sample(args.out, seed=args.seed, n_accounts=args.accounts, world=args.world,
                              fmt=args.format, messy_rate=args.messy_rate, stress=args.stress)
        for table, rows in counts.items():
            print(f"{table:<20} {rows:>10,} rows")
        print(f"written to {args.out}")
        return 0
    if args.command == "init":
        from dealscope.onboarding.init import run_init

        return run_init(args.vendor, args.src_dir, args.out, args.force, sys.stdout)
    if args.command in ("history", "rollback"):
        from dealscope import history

        warehouse = args.warehouse.expanduser().resolve()
        if args.command == "history":
            return history.print_history(warehouse, as_json=args.json, out=sys.stdout)
        return history.run_rollback(warehouse, args.run_id, out=sys.stdout, err=sys.stderr)
    if args.command == "brief":
        from dealscope.briefing import run_brief

        return run_brief(args.deal_id, args.warehouse.expanduser().resolve(), args.out.expanduser().resolve(),
                         out=sys.stdout, err=sys.stderr)
    if args.command == "whatif":
        from dataclasses import replace

        from dealscope.whatif import whatif_command

        settings = replace(Settings.from_env(), warehouse=args.warehouse.expanduser().resolve())
        return whatif_command(args.plan.expanduser().resolve(), args.name, settings,
                              args.out.expanduser().resolve(), out=sys.stdout, err=sys.stderr)
    if args.command == "plan":
        from dealscope.plan_draft import plan_draft_command

        return plan_draft_command(args.warehouse.expanduser().resolve(), args.out.expanduser(), args.force,
                                  out=sys.stdout, err=sys.stderr)
    if args.command == "benchmark":
        from dealscope.benchmark import run_benchmark

        return run_benchmark(args.accounts, args.work_dir.resolve(), seed=args.seed, out=sys.stdout, engine=args.engine)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
