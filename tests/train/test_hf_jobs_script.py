"""The packaged job script, run for real on this machine (no Jobs API): 2 steps of the embedded model.

It must leave the run-folder contract on the job's disk, and its stdout, fed through the studio's
follower, must rebuild the same metrics.jsonl and status in the studio's own run folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.train.hf_jobs import ENTRY_SCRIPT, _Publisher, make_bundle
from studio.train.runs import create_run
from tests.train.conftest import tiny_config

FAKE_TOKEN = "hf_JobScriptNeverWritesThis42"


def test_entry_script_has_a_pinned_pep723_header():
    text = ENTRY_SCRIPT.read_text(encoding="utf-8")
    header = text.split("# ///", 2)[1]
    deps = [line.strip(' #",') for line in header.splitlines() if "==" in line]
    requirements = (Path(__file__).resolve().parents[2] / "requirements.txt").read_text()
    assert text.startswith("# /// script") and len(deps) >= 8
    for dep in deps:  # the job trains with the versions the studio is tested with
        assert dep in requirements, dep


@pytest.mark.slow
def test_entry_script_trains_and_mirrors_the_run_folder(tmp_path, settings, tiny_dataset, embedded_model_dir):
    config = tiny_config(tiny_dataset, max_steps=2, save_steps=100, backend="hf-jobs")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    make_bundle(bundle, config, settings)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_TOKEN": FAKE_TOKEN, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, str(ENTRY_SCRIPT), "--bundle", str(bundle), "--work", str(tmp_path / "job"),
                           "--no-push", "--run-id", "job-run"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    job_run = tmp_path / "job" / "data" / "runs" / "job-run"
    assert (job_run / "adapter" / "adapter_config.json").is_file()
    assert (job_run / "adapter" / "adapter_model.safetensors").is_file()
    assert '"state": "succeeded"' in (job_run / "status.json").read_text()
    job_metrics = (job_run / "metrics.jsonl").read_text().splitlines()
    assert len([m for m in job_metrics if '"loss"' in m]) == 2

    run = create_run(settings, config)  # the studio's side: the follower's publisher replays stdout
    publisher = _Publisher(run)
    for line in done.stdout.splitlines():
        publisher.line(line)
    assert run.metrics_path.read_text().splitlines() == job_metrics
    status = run.status()
    assert status["step"] == status["total_steps"] == 2 and status["final_loss"] is not None
    assert publisher.final_state == "succeeded"
    assert "job: " in run.log_path.read_text()
    for folder in (job_run, run.dir, bundle):
        for path in folder.rglob("*"):
            if path.is_file():
                assert FAKE_TOKEN.encode() not in path.read_bytes(), path
    assert FAKE_TOKEN not in done.stdout + done.stderr
    out = os.environ.get("STUDIO_RECORD_JOB_STREAM")  # how tests/train/jobs_streams/success.log was recorded
    if out:
        Path(out).write_text(done.stdout, encoding="utf-8")
