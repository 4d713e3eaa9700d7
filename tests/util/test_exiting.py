"""The process exits cleanly while another thread is inside torch (studio.util.exiting).

Without the exit handling, a daemon thread inside a torch operation at interpreter exit aborts the
process ("terminate called without an active exception", status 134): the suite itself once went red
that way after every test had passed. Each case runs in a subprocess, because exiting is what is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO


def run_script(tmp_path: Path, body: str, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env.update(PYTHONPATH=str(REPO), STUDIO_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=REPO)


def test_exit_waits_for_a_thread_inside_a_forward_pass(tmp_path):
    done = run_script(tmp_path, """
        import threading
        import torch
        import studio.util.exiting  # noqa: F401 - what a studio process imports with its models

        layer, x = torch.nn.Linear(2048, 2048), torch.randn(512, 2048)
        started = threading.Event()

        def work():
            with torch.no_grad():
                started.set()
                for _ in range(40):
                    layer(x)
            print("work done", flush=True)

        threading.Thread(target=work, daemon=True).start()
        started.wait()
        print("main done", flush=True)
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
    assert done.stdout.splitlines() == ["main done", "work done"]  # the exit waited for the forward passes


@pytest.mark.slow
def test_exit_during_training_stops_the_run_resumably(tmp_path, embedded_model_dir):
    from tests.train.conftest import CONVERSATIONS, write_jsonl

    dataset = write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 2)
    done = run_script(tmp_path, """
        import sys, time
        from studio.settings import Settings
        from studio.train.manager import get_manager
        from tests.train.conftest import tiny_config

        manager = get_manager(Settings.from_env())
        run = manager.start(tiny_config(sys.argv[1], max_steps=200, save_steps=1000), background=True)
        while run.status().get("step", 0) < 1 and manager.is_busy():
            time.sleep(0.2)
        print(run.run_id, flush=True)
    """, str(dataset))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr

    from studio.settings import Settings
    from studio.train.runs import RESUMABLE_STATES, load_run

    run = load_run(Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path / "data")}), done.stdout.split()[-1])
    assert run.state == "cancelled" and run.state in RESUMABLE_STATES, run.status()
    assert 1 <= run.status()["step"] < 200 and run.last_checkpoint() is not None  # resumable from its stop
