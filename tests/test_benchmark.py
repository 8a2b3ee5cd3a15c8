"""dealscope.benchmark: a child's resident memory and CPU time count toward its parent's tree; an export is
generated once per size and seed."""

import os
import signal
import subprocess
import sys
import time

from dealscope.benchmark import _generate, format_table, tree_rss_bytes, wait_measured

HOLD_MIB = 64
HOLDER = f"import time; block = b'x' * ({HOLD_MIB} * 2**20); time.sleep(60)"
# a child process that starts a grandchild holding HOLD_MIB of touched memory and prints its pid
PARENT = ("import subprocess, sys; "
          f"holder = subprocess.Popen([sys.executable, '-c', {HOLDER!r}]); "
          "print(holder.pid, flush=True); holder.wait()")


def test_tree_rss_counts_a_grandchild_that_holds_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    try:
        deadline = time.monotonic() + 20
        measured = tree_rss_bytes(child.pid)
        while measured < HOLD_MIB * 2**20 and time.monotonic() < deadline:
            time.sleep(0.2)
            measured = tree_rss_bytes(child.pid)
        assert measured >= HOLD_MIB * 2**20
        assert tree_rss_bytes(grandchild) < measured  # the child's own memory is added to it
    finally:
        os.kill(grandchild, signal.SIGKILL)
        child.wait(timeout=20)
    assert tree_rss_bytes(child.pid) == 0  # gone: nothing to count


def test_an_export_is_generated_once_per_size_and_seed(tmp_path) -> None:
    first = _generate(40, tmp_path, seed=3)
    deals = tmp_path / "data_40_seed3" / "deals.csv"
    written = deals.stat().st_mtime_ns
    assert first["rows"]["deals"] > 0 and first["rows"]["accounts"] >= 40
    assert _generate(40, tmp_path, seed=3) == first  # the recorded export, not a new one
    assert deals.stat().st_mtime_ns == written
    other = _generate(40, tmp_path, seed=4)
    assert (tmp_path / "data_40_seed4" / "deals.csv").read_bytes() != deals.read_bytes()
    assert other["rows"]["accounts"] >= 40


# a grandchild that keeps a core busy for a while and reports its own CPU seconds; its parent waits for it
BURNER = ("import time; end = time.process_time() + 0.6\n"
          "while time.process_time() < end: pass\n"
          "print(time.process_time(), flush=True)")
BURNING_PARENT = ("import subprocess, sys; "
                  f"burner = subprocess.run([sys.executable, '-c', {BURNER!r}], capture_output=True, text=True); "
                  "print(burner.stdout.strip(), flush=True)")


def test_cpu_time_counts_a_grandchild_its_parent_waited_for() -> None:
    child = subprocess.Popen([sys.executable, "-c", BURNING_PARENT], stdout=subprocess.PIPE, text=True)
    usage = wait_measured(child)
    burned = float(child.stdout.read())
    child.stdout.close()
    assert usage.returncode == 0
    assert burned >= 0.6
    # the grandchild's CPU plus the two interpreters' own start-up, in tenths of a second
    assert usage.cpu_seconds >= round(burned, 1)
    assert usage.peak_rss_mib > 0


def test_the_table_gives_the_cpu_floor_of_each_size() -> None:
    result = {"accounts": 10, "engine": "duckdb", "rows": {"deals": 100}, "generate_seconds": 1.0,
              "step_seconds": {"statistics": 2.0}, "pipeline_seconds": 5.0, "peak_rss_mib": 100.0,
              "peak_tree_rss_mib": 150.0, "cpu_seconds": 9.0, "cores": 2, "warehouse_bytes": 2**20}
    lines = format_table([result]).splitlines()
    assert "| CPU, process tree, start-up included (s) | 9.0 |" in lines
    assert "| CPU / cores: no schedule of this work is faster (s) | 4.5 |" in lines
