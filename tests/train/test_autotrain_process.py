"""AutoTrain's process group: stop ends every member, and a leftover group from a dead studio is ended on rerun."""

from __future__ import annotations

import subprocess
import sys
import time

from studio.train.autotrain_process import group_alive, kill_group, kill_orphan
from studio.train.runs import create_run
from tests.train.conftest import tiny_config

SLEEPER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"


def _spawn(*extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, *extra], start_new_session=True)
    time.sleep(0.5)  # its child (the "trainer") exists now
    return proc


def test_kill_group_ends_children_too():
    proc = _spawn()
    assert group_alive(proc.pid)
    kill_group(proc)
    assert not group_alive(proc.pid)


def test_orphaned_autotrain_group_is_ended_but_an_unrelated_group_is_not(settings, tmp_path):
    run = create_run(settings, tiny_config(tmp_path / "d.jsonl", backend="autotrain"))
    orphan, other = _spawn("autotrain", "--config", "x.yml"), _spawn()
    try:
        kill_orphan(run, orphan.pid)
        kill_orphan(run, other.pid)
        orphan.wait(timeout=10)
        deadline = time.monotonic() + 10
        while group_alive(orphan.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_alive(orphan.pid) and group_alive(other.pid)
        assert "still running: stopping it" in run.log_tail()
    finally:
        kill_group(other)
        kill_group(orphan)
