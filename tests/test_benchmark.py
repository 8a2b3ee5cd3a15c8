"""dealscope.benchmark's process-tree memory: a child's resident memory counts toward its parent's tree."""

import os
import signal
import subprocess
import sys
import time

from dealscope.benchmark import tree_rss_bytes

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
