"""The run-directory contract: atomic status, metrics, redacted log, owner tracking, recovery."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from studio.train import runs
from studio.train.config import TrainConfig


@pytest.fixture
def run(settings):
    return runs.create_run(settings, TrainConfig(dataset="d.jsonl", run_name="first"))


def test_create_writes_config_and_pending_status(run, settings):
    assert run.dir == settings.runs_dir / run.run_id
    assert TrainConfig.load(run.config_path).dataset == "d.jsonl"
    status = json.loads(run.status_path.read_text())
    assert status["state"] == "pending" and status["backend"] == "trl" and status["owner"]["pid"] > 0
    assert runs.load_run(settings, run.run_id).state == "pending"


def test_status_merges_and_rejects_unknown_states(run):
    run.write_status(state="running", step=3, total_steps=10)
    run.write_status(step=4)
    status = run.status()
    assert status["state"] == "running" and status["step"] == 4 and status["total_steps"] == 10
    with pytest.raises(ValueError):
        run.write_status(state="exploded")
    assert not list(run.dir.glob(".status.json.*"))  # no temp files left behind


def test_metrics_and_log_are_readable_and_redacted(run, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_tokentokentoken1")
    run.append_metrics({"step": 1, "loss": 2.5})
    run.metrics_path.open("a").write('{"step": 2, "lo')  # a line being written right now
    assert run.metrics() == [{"step": 1, "loss": 2.5}]
    run.log("pushing with hf_tokentokentoken1 and token=abc123")
    tail = run.log_tail()
    assert "hf_tokentokentoken1" not in tail and "abc123" not in tail and "pushing with" in tail


def test_list_active_and_info(run, settings):
    run.write_status(state="running", step=2, total_steps=5, started_at=runs.utc_now())
    infos = runs.list_runs(settings)
    assert [i.run_id for i in infos] == [run.run_id]
    assert infos[0].state == "running" and infos[0].step == 2 and infos[0].run_name == "first"
    assert runs.active_run(settings).run_id == run.run_id  # owned by this live process


def test_dead_owner_becomes_interrupted(run, settings):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.write_status(state="running", owner={"pid": proc.pid, "pid_started": 1.0, "host": socket.gethostname()})
    assert runs.active_run(settings) is None
    assert runs.mark_interrupted(settings) == [run.run_id]
    assert run.state == "interrupted" and "Resume" in run.status()["error"]
    assert runs.mark_interrupted(settings) == []  # finished states are left alone


def test_reused_pid_is_not_mistaken_for_the_owner(run, settings):
    import os

    owner = runs.owner_record()
    owner["pid_started"] = owner["pid_started"] - 1000  # same pid, different process start
    run.write_status(state="running", owner=owner)
    assert not run.owner_alive()
    assert runs.process_marker(os.getpid()) is not None


def test_foreign_host_is_judged_by_heartbeat(run):
    run.write_status(state="running", owner={"pid": 1, "pid_started": 1.0, "host": "another-host"},
                     heartbeat_at=runs.utc_now())
    assert run.owner_alive()
    run.write_status(heartbeat_at="2000-01-01T00:00:00Z")
    assert not run.owner_alive()


def test_bad_run_ids_are_refused(settings):
    for bad in ("../etc", "", "a/b"):
        with pytest.raises(runs.RunNotFound):
            runs.load_run(settings, bad)
    with pytest.raises(runs.RunNotFound, match="runs list"):
        runs.load_run(settings, "run-missing")


def test_last_checkpoint_needs_trainer_state(run):
    for step in (2, 10, 4):
        (run.checkpoints_dir / f"checkpoint-{step}").mkdir(parents=True)
        (run.checkpoints_dir / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (run.checkpoints_dir / "checkpoint-12").mkdir()  # half-written: no trainer state
    assert run.last_checkpoint().name == "checkpoint-10"


def test_stop_request_file(run):
    assert not run.stop_requested()
    run.request_stop()
    assert run.stop_requested()
    run.clear_stop()
    assert not run.stop_requested()


def test_conversations_with_line_separator_characters_load_intact(settings, tmp_path):
    """Regression: str.splitlines() broke a JSONL row whose text holds U+2028 (valid JSON, raw in the string)."""
    import json

    from studio.train.training_data import load_training_conversations

    text = "Breathe in\u2028and out, slowly."
    row = {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Help me calm down"},
                        {"role": "assistant", "content": text}]}
    path = tmp_path / "sep.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    _, convs = load_training_conversations(str(path), settings)
    assert convs[0][-1]["content"] == text
