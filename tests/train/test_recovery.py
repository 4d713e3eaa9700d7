"""kill -9 of a `python -m studio train` process, then recovery: interrupted, resume to success (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.settings import Settings
from studio.train.runs import list_runs, load_run
from tests.train.conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]


def studio(args: list[str], data_dir: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    env.pop("HF_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "studio", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.communicate()}")
        time.sleep(0.3)
    raise AssertionError("timed out waiting")


@pytest.mark.slow
def test_kill9_then_interrupted_then_resume(tmp_path, tiny_dataset, embedded_model_dir):
    data_dir = tmp_path / "data"
    settings = Settings.from_env({"STUDIO_DATA_DIR": str(data_dir)})
    config_file = tmp_path / "train.yaml"
    tiny_config(tiny_dataset, max_steps=5, save_steps=1).save(config_file)

    proc = studio(["train", "--config", str(config_file), "--json"], data_dir)
    wait_for(lambda: bool(list_runs(settings)), 120, proc)
    run = load_run(settings, list_runs(settings)[0].run_id)
    wait_for(lambda: run.last_checkpoint() is not None and run.status().get("step", 0) >= 2, 300, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert run.status()["state"] == "running"  # what the dead process left behind

    listed = studio(["runs", "list", "--json"], data_dir)
    out, err = listed.communicate(timeout=120)
    assert listed.returncode == 0, err
    assert last_json(out)["runs"][0]["state"] == "interrupted"
    assert "unexpectedly" in run.status()["error"]

    resumed = studio(["runs", "resume", run.run_id, "--json"], data_dir)
    out, err = resumed.communicate(timeout=600)
    result = last_json(out)
    assert resumed.returncode == 0, err
    assert result["state"] == "succeeded" and result["run_id"] == run.run_id and result["run_dir"] == str(run.dir)
    assert result["step"] == 5 and result["train_runtime_s"] > 0
    assert run.status()["resumed_from"].startswith("checkpoint-")
    assert run.has_adapter()
    steps = [m["step"] for m in run.metrics() if "loss" in m]
    assert steps == [1, 2, 3, 4, 5]  # steps after the checkpoint were trained again, not logged twice


def test_cli_rejects_a_bad_config_with_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: x.jsonl\nlerning_rate: 0.1\n")
    proc = studio(["train", "--config", str(bad), "--json"], tmp_path / "data")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "learning_rate" in last_json(out)["error"] and "Unknown key" in err


def test_cli_runs_show_and_stop_unknown_run(tmp_path):
    proc = studio(["runs", "show", "run-nope", "--json"], tmp_path / "data")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "No run named run-nope" in last_json(out)["error"]
    proc = studio(["runs", "list", "--json"], tmp_path / "data")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and last_json(out) == {"runs": []}
