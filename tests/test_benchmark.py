"""dealscope.benchmark: a child's resident memory counts toward its parent's tree; an export is generated once per size and seed."""

import os
import signal
import subprocess
import sys
import time

from dealscope.benchmark import _generate, tree_rss_bytes

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
