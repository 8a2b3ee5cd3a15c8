"""Proofs, by real runs of `dealscope run` in subprocesses, of what the docs promise about a run:

- killed with SIGKILL while loading, in dbt, in the statistics or in the middle of publishing, it
  leaves the published warehouse and its kept versions byte-identical, and the next run succeeds;
- readers, one holding a read-only connection and one reconnecting for every query, never fail
  and always see one whole published warehouse (its run_history marker matches its contents);
- two runs started at once on one warehouse: one fails at once saying why, the other publishes
  what a single run publishes.

The runs pause at a stage through the test-only hook of dealscope/stage_pause.py (inert unless its
environment variables are set), so each kill lands in the stage it names, not at a guessed time.
Each starts from a copy of the shared fixture's published warehouse (tests/conftest.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from unittest import mock

import duckdb
import pytest

from dealscope import history
from dealscope.settings import Settings
from dealscope.stage_pause import ENV_PAUSE_AT, ENV_PAUSE_MARKER, STAGES
from dealscope.warehouse import run_lock_path
from tests.conftest import settings_for
from warehouse_compare import differing_published_tables

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_SECONDS = 1800
# One whole published warehouse: the newest published run it records, and a fingerprint of its contents.
FINGERPRINT_QUERY = (
    "SELECT (SELECT max(run_id) FROM main.run_history WHERE status = 'published'), "
    "(SELECT count(*) FROM main.fct_deals), "
    "(SELECT sum(final_amount :: DECIMAL(18, 2)) :: VARCHAR FROM main.fct_deals), "
    "(SELECT count(*) FROM main.rejected_rows)"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_state(settings: Settings) -> dict[str, str]:
    """Checksums of what readers and rollbacks rely on: the published file, the kept versions, the ledger."""
    state = {"warehouse": sha256(settings.warehouse)}
    for path in sorted(history.versions_dir(settings.warehouse).iterdir()):
        state[path.name] = sha256(path)
    return state


def copy_deployment(published: Settings, root: Path, data_dir: Path) -> Settings:
    """A new deployment whose warehouse, kept versions and ledger are copies of `published`'s."""
    settings = settings_for(root, data_dir)
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(published.warehouse, settings.warehouse)
    shutil.copytree(history.versions_dir(published.warehouse), history.versions_dir(settings.warehouse))
    return settings


def start_run(settings: Settings, log: Path, *, pause_at: str | None = None, marker: Path | None = None,
              data_dir: Path | None = None) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DEALSCOPE_")}
    if pause_at is not None:
        env[ENV_PAUSE_AT] = pause_at
        env[ENV_PAUSE_MARKER] = str(marker)
    command = [sys.executable, "-m", "dealscope.cli", "run", "--data", str(data_dir or settings.data_dir),
               "--warehouse", str(settings.warehouse), "--dashboards", str(settings.dashboards_dir)]
    # Its own session: the kill takes the run and its dbt subprocess, as a crash of the machine would.
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_for_marker(process: subprocess.Popen, marker: Path, log: Path) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before pausing:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the run did not reach its pause within {RUN_TIMEOUT_SECONDS} s")
        time.sleep(0.2)


def finish(process: subprocess.Popen, log: Path) -> str:
    process.wait(timeout=RUN_TIMEOUT_SECONDS)
    return log.read_text()


@pytest.mark.slow
def test_a_run_killed_at_each_stage_leaves_the_published_warehouse_byte_identical(pipeline_run, tmp_path):
    published, _ = pipeline_run
    settings = copy_deployment(published, tmp_path, published.data_dir)
    before = published_state(settings)
    ledger_before = history.read_ledger(settings.warehouse)

    for stage in STAGES:
        marker, log = tmp_path / f"paused-at-{stage}", tmp_path / f"run-killed-at-{stage}.log"
        process = start_run(settings, log, pause_at=stage, marker=marker)
        wait_for_marker(process, marker, log)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
        assert published_state(settings) == before, f"killed at {stage}: the published files changed"
        reader = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            assert reader.execute("SELECT count(*) FROM main.fct_deals").fetchone()[0] > 0
        finally:
            reader.close()

    # The last kill left a half-made publish copy beside the warehouse; the next run cleans it up.
    assert list(settings.warehouse.parent.glob(".dealscope.duckdb.publishing-*"))
    log = tmp_path / "run-after-the-kills.log"
    output = finish(start_run(settings, log), log)
    assert "the run FAILED" not in output, output[-3000:]
    ledger = history.read_ledger(settings.warehouse)
    assert len(ledger) == len(ledger_before) + 1 and ledger[-1]["status"] == "published"
    assert sha256(settings.warehouse) == sha256(history.version_path(settings.warehouse, ledger[-1]["run_id"]))
    assert not list(settings.warehouse.parent.glob(".dealscope.duckdb.publishing-*"))
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM main.run_history").fetchone()[0] == len(ledger)
    finally:
        con.close()


READER_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import duckdb
    path, mode, out, stop = sys.argv[1:5]
    query = sys.argv[5]
    held = duckdb.connect(path, read_only=True) if mode == "hold" else None
    with open(out, "w") as log:
        while True:
            stopping = __import__("os").path.exists(stop)
            try:
                con = held or duckdb.connect(path, read_only=True)
                try:
                    row = con.execute(query).fetchone()
                finally:
                    if held is None:
                        con.close()
                log.write(json.dumps({"seen": list(row)}) + "\\n")
            except Exception as error:
                log.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\\n")
            log.flush()
            if stopping:
                break
            time.sleep(0.05)
""")


def modified_export(source: Path, target: Path, published: Path) -> dict[str, set[str]]:
    """A copy of `source` with some loaded deals removed, some amounts raised and some close dates moved."""
    shutil.copytree(source, target)
    con = duckdb.connect(str(published), read_only=True)
    try:
        won = [row[0] for row in con.execute(
            "SELECT deal_id FROM main.fct_deals WHERE stage = 'won' AND final_amount > 0 ORDER BY deal_id").fetchall()]
    finally:
        con.close()
    with open(source / "deals.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    repeated = {row["deal_id"] for row in rows if sum(1 for other in rows if other["deal_id"] == row["deal_id"]) > 1}
    single = [deal for deal in won if deal not in repeated]
    plan = {"removed": set(single[:12]), "amount": set(single[12:20]), "closed_at": set(single[20:25])}
    kept_rows = []
    for row in rows:
        if row["deal_id"] in plan["removed"]:
            continue
        if row["deal_id"] in plan["amount"]:
            row["final_amount"] = f"{float(row['final_amount']) * 1.1 + 1:.2f}"
        if row["deal_id"] in plan["closed_at"]:
            year, month, day = row["closed_at"][:10].split("-")
            row["closed_at"] = f"{int(year) + 1}-{month}-{'28' if month == '02' else day}"
        kept_rows.append(row)
    with open(target / "deals.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept_rows)
    return plan


@pytest.mark.slow
def test_readers_and_a_concurrent_start_through_several_runs(pipeline_run, tmp_path):
    published, _ = pipeline_run
    settings = copy_deployment(published, tmp_path, published.data_dir)
    export_b = tmp_path / "export-b"
    plan = modified_export(published.data_dir, export_b, published.warehouse)

    stop = tmp_path / "stop-readers"
    readers = {}
    for mode in ("hold", "reconnect"):
        out = tmp_path / f"reader-{mode}.jsonl"
        readers[mode] = (out, subprocess.Popen(
            [sys.executable, "-c", READER_SCRIPT, str(settings.warehouse), mode, str(out), str(stop),
             FINGERPRINT_QUERY]))
    time.sleep(2)
    try:
        observed = run_three_times_while_reading(settings, published, export_b, plan, stop, readers, tmp_path)
    finally:
        stop.touch()
        for _, process in readers.values():
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
    check_readers(settings, observed)


def run_three_times_while_reading(settings: Settings, published: Settings, export_b: Path, plan: dict,
                                  stop: Path, readers: dict, tmp_path: Path) -> dict[str, list]:
    # 1. the modified export
    log = tmp_path / "run-1.log"
    output = finish(start_run(settings, log, data_dir=export_b), log)
    assert "the run FAILED" not in output, output[-3000:]
    first_id = history.read_ledger(settings.warehouse)[-1]["run_id"]
    changes = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        found = {kind: {deal for (deal,) in changes.execute(
            "SELECT deal_id FROM main.run_changes WHERE change = ?", [kind]).fetchall()}
            for kind in ("deal_removed", "amount_changed", "close_date_changed", "deal_added")}
    finally:
        changes.close()
    assert found == {"deal_removed": plan["removed"], "amount_changed": plan["amount"],
                     "close_date_changed": plan["closed_at"], "deal_added": set()}

    # 2. two runs of the original export started at once
    logs = [tmp_path / "run-2a.log", tmp_path / "run-2b.log"]
    pair = [start_run(settings, path) for path in logs]
    outputs = [finish(process, path) for process, path in zip(pair, logs)]
    codes = sorted(process.returncode for process in pair)
    assert codes == [0, 1], outputs
    refused = outputs[[process.returncode for process in pair].index(1)]
    assert "another dealscope run is already writing" in refused and "changed nothing" in refused
    ledger = history.read_ledger(settings.warehouse)
    assert [entry["run_id"] for entry in ledger].index(first_id) == len(ledger) - 2  # one publish, not two
    pair_version = history.version_path(settings.warehouse, ledger[-1]["run_id"])
    # What a single run publishes, bit for bit: every table of every schema, statistics included
    # (this run, a CLI run after another export, against the fixture's in-process run).
    assert differing_published_tables(pair_version, published.warehouse) == {}

    # 3. the modified export again
    log = tmp_path / "run-3.log"
    output = finish(start_run(settings, log, data_dir=export_b), log)
    assert "the run FAILED" not in output, output[-3000:]

    stop.touch()
    observed = {}
    for mode, (out, process) in readers.items():
        process.wait(timeout=120)
        observed[mode] = [json.loads(line) for line in out.read_text().splitlines()]
    return observed


def check_readers(settings: Settings, observed: dict[str, list]) -> None:
    expected = {}
    for entry in history.read_ledger(settings.warehouse):
        con = duckdb.connect(str(history.version_path(settings.warehouse, entry["run_id"])), read_only=True)
        try:
            expected[entry["run_id"]] = list(con.execute(FINGERPRINT_QUERY).fetchone())
        finally:
            con.close()
    assert len(expected) == 4 and len({json.dumps(v[1:]) for v in expected.values()}) == 2

    for mode, seen in observed.items():
        errors = [item["error"] for item in seen if "error" in item]
        assert errors == [], f"{mode} reader: {errors[:3]}"
        mixed = [item["seen"] for item in seen if expected.get(item["seen"][0]) != item["seen"]]
        assert mixed == [], f"{mode} reader saw a run id with another run's contents: {mixed[:3]}"
    assert {item["seen"][0] for item in observed["hold"]} == {history.read_ledger(settings.warehouse)[0]["run_id"]}
    assert len({item["seen"][0] for item in observed["reconnect"]}) >= 3
    counts = {mode: len(seen) for mode, seen in observed.items()}
    print(f"reader queries: {counts}; runs: 3 published, 1 refused; 0 errors")


LOCK_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dealscope.warehouse import run_lock
    with run_lock(Path(sys.argv[1])):
        Path(sys.argv[2]).touch()
        time.sleep(600)
""")


def test_the_run_lock_refuses_a_second_run_and_dies_with_its_holder(tmp_path):
    from dealscope.warehouse import RunInProgressError, run_lock

    warehouse, held = tmp_path / "dealscope.duckdb", tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(warehouse), str(held)], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 120
        while not held.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with pytest.raises(RunInProgressError, match=rf"already writing .*\(pid {holder.pid}, started "):
            with run_lock(warehouse):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(warehouse):  # the kernel dropped the dead holder's lock
        assert run_lock_path(warehouse).read_text().startswith(f"pid {os.getpid()}")


def test_a_run_launched_through_dagster_takes_the_same_lock(tmp_path, small_export):
    """Runs from the Dagster UI, a schedule or a sensor execute the job without `dealscope run`: the
    job's warehouse resource takes the run lock itself, so such a run refuses to start while another
    run writes the warehouse. A sensor's evaluation only reads paths and does not need the lock."""
    import dagster as dg

    from dealscope.runner import PIPELINE_JOB
    from pipelines.automation import input_folder_sensor
    from pipelines.definitions import build_definitions
    from pipelines.resources import WarehouseResource

    settings = settings_for(tmp_path, small_export)
    held = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(settings.warehouse), str(held)], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 120
        while not held.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with mock.patch.dict(os.environ), dg.instance_for_test() as instance:  # build_definitions exports paths
            job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
            result = job.execute_in_process(instance=instance, raise_on_error=False,
                                            asset_selection=[dg.AssetKey(["raw", "event_types"])])
            with dg.build_sensor_context(instance=instance, resources={
                    "warehouse": WarehouseResource.from_settings(settings)}) as sensor_context:
                assert isinstance(input_folder_sensor(sensor_context), dg.RunRequest)
        assert not result.success
        errors = [str(event.event_specific_data.error.message) for event in result.all_events
                  if getattr(event.event_specific_data, "error", None) is not None]
        assert any(f"another dealscope run is already writing {settings.warehouse} (pid {holder.pid}" in error
                   for error in errors), errors
        assert not settings.build_db.exists(), "the refused run wrote to the build file"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
