"""`dealscope check`: read and validate an export folder (with its mapping) without running anything else.

The same code path as a run's loading stage (dealscope.loading -> dealscope.ingest), into an
in-memory DuckDB: no dbt, no statistics, no Dagster, nothing written anywhere (with the Spark
engine, Spark's validation results pass through a temporary folder, removed afterwards). It prints, per
table, rows read / would load / would reject and the top rejection reasons with an example,
then applies the run's rejection gate.

Exit codes: 0 the data can run; 1 the rejection gate would stop the run; 2 a file or the
mapping cannot be used at all.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import duckdb

from dealscope.ingest import TABLES, InputFileError, load_event_types, prepare_warehouse
from dealscope.loading import (
    RejectionGateError,
    describe_reasons,
    enforce_rejection_gate,
    load_input_table,
    read_mapping,
    table_verdicts,
)
from dealscope.mapping import MappingDataError, MappingError
from dealscope.onboarding.event_rules import describe_activity_matching
from dealscope.settings import Settings
from dealscope.spark_engine import stop_validation_session

EXIT_OK = 0
EXIT_GATE = 1
EXIT_UNUSABLE = 2


def run_check(settings: Settings, out: TextIO, spark_staging: Path | None = None) -> int:
    """Check `settings.data_dir`, print the report to `out`, return the exit code. With the Spark
    engine, its validation results are handed over in `spark_staging` if given (kept: a caller's
    folder), else in a temporary folder."""
    if settings.engine == "spark" and spark_staging is None:
        with tempfile.TemporaryDirectory(prefix="dealscope-check-") as staging:
            return run_check(settings, out, Path(staging))
    started = time.perf_counter()
    mapping_file = settings.mapping_file
    print(f"dealscope check: {settings.data_dir}" + (f" with mapping {mapping_file}" if mapping_file else
                                                       " (contract format, no mapping)"), file=out)
    con = duckdb.connect(":memory:")
    try:
        try:
            mapping = read_mapping(settings)
            prepare_warehouse(con)
            load_event_types(con, settings.event_types)
            loaded_at = datetime.now(timezone.utc)
            try:
                for table in TABLES:
                    load_input_table(con, settings, mapping, table, loaded_at, spark_staging)
            finally:
                if settings.engine == "spark":
                    stop_validation_session()
        except (MappingError, InputFileError, MappingDataError) as error:
            print(f"\nCANNOT RUN: {error}", file=out)
            print(f"(checked in {time.perf_counter() - started:.1f} s)", file=out)
            return EXIT_UNUSABLE
        limit = settings.rejection_limit(mapping.max_rejected_share if mapping else None)
        verdicts = table_verdicts(con, limit)
        files = dict(con.execute("SELECT source, coalesce(source_file, '(absent)') FROM raw.load_summary").fetchall())
        print(f"\n{'table':<20} {'file':<26} {'read':>10} {'would load':>11} {'would reject':>13}", file=out)
        for v in verdicts:
            print(f"{v.source:<20} {files[v.source]:<26} {v.rows_read:>10,} {v.rows_loaded:>11,} {v.rows_rejected:>13,}",
                  file=out)
        for line in describe_activity_matching(con):
            print(line, file=out)
        for v in verdicts:
            if v.reasons:
                print(f"\n{v.source}: top rejection reasons (count, reason, first example and what to change)", file=out)
                for line in describe_reasons(v, indent="  "):
                    print(line, file=out)
        try:
            enforce_rejection_gate(con, settings, mapping)
        except RejectionGateError as error:
            print(f"\nTHE RUN WOULD STOP: {error}", file=out)
            print(f"(checked in {time.perf_counter() - started:.1f} s)", file=out)
            return EXIT_GATE
        accepted = [v.problem for v in verdicts if v.problem is not None]
        if accepted:
            print("\nOver the rejection limit but accepted (--accept-rejections): " + "; ".join(accepted), file=out)
        print(f"\nOK: the data can run (rejection limit {limit:.0%} of accounts and deals). "
              f"Checked in {time.perf_counter() - started:.1f} s.", file=out)
        return EXIT_OK
    finally:
        con.close()
