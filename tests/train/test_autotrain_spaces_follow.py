"""Following a training Space, with the Hub replaced by fakes (the real service is unreachable here)."""

from __future__ import annotations

import json
import threading

import pytest

from studio.train import autotrain_process, autotrain_spaces
from studio.train.autotrain_plan import build_plan
from studio.train.config import TrainConfig
from studio.train.runs import create_run
from tests.train.conftest import CONVERSATIONS, write_jsonl

FAKE_TOKEN = "hf_SpaceFollowTokenNotInFiles5"


@pytest.fixture
def space_run(settings, tmp_path, monkeypatch):
    settings = settings.with_(hf_token=FAKE_TOKEN)
    dataset = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    config = TrainConfig(dataset=str(dataset), backend="autotrain", max_length=128,
                         autotrain={"hardware": "spaces-a10g-large", "username": "clinic"})
    run = create_run(settings, config)
    plan = build_plan(config, settings, run.run_id)
    calls: dict = {"paused": [], "stages": []}

    def fake_launch(run, cmd, cwd, env, log, plan, stop_event):
        calls["env"] = env
        log.job_id = f"clinic/autotrain-{plan.project_name}"
        return 0, False

    def fake_state(space_id, token):
        stage = calls["stages"].pop(0) if calls["stages"] else "RUNNING"
        return {"space_id": space_id, "stage": stage, "url": f"https://huggingface.co/spaces/{space_id}"}

    def fake_download(target, token, dest):
        import torch
        from safetensors.torch import save_file

        dest.mkdir(parents=True)
        save_file({"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": torch.full((8, 4), 0.01)},
                  str(dest / "adapter_model.safetensors"))
        (dest / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4}))

    monkeypatch.setattr(autotrain_process, "follow_process", fake_launch)
    monkeypatch.setattr(autotrain_spaces, "space_state", fake_state)
    monkeypatch.setattr(autotrain_spaces, "download_adapter", fake_download)
    monkeypatch.setattr(autotrain_spaces, "pause_space", lambda space_id, token: calls["paused"].append(space_id))
    work = run.dir / "autotrain"
    work.mkdir()

    def go(stop_event=None):
        return autotrain_spaces.run_on_space(run, config, settings, plan, tmp_path / "venv", work,
                                             stop_event or threading.Event(), poll_s=0.01)

    return run, calls, go


def test_space_that_pauses_with_a_model_succeeds(space_run, settings):
    run, calls, go = space_run
    calls["stages"] = ["BUILDING", "RUNNING", "PAUSED"]
    assert go() == "succeeded"
    status = run.status()
    assert status["space_url"] == f"https://huggingface.co/spaces/clinic/autotrain-companion-{run.run_id}"
    assert status["space_stage"] == "PAUSED" and run.has_adapter()
    assert calls["env"]["HF_TOKEN"] == FAKE_TOKEN and calls["env"]["HF_USERNAME"] == "clinic"
    assert "SPACE_ID" not in calls["env"]
    assert not [p for p in run.dir.rglob("*") if p.is_file() and FAKE_TOKEN.encode() in p.read_bytes()]


def test_space_runtime_error_fails_with_its_link(space_run):
    run, calls, go = space_run
    calls["stages"] = ["BUILDING", "RUNTIME_ERROR"]
    assert go() == "failed"
    assert "RUNTIME_ERROR" in run.status()["error"] and "huggingface.co/spaces/clinic/" in run.status()["error"]


def test_stop_pauses_the_space(space_run):
    run, calls, go = space_run
    stop = threading.Event()
    stop.set()
    assert go(stop) == "cancelled"
    assert calls["paused"] == [f"clinic/autotrain-companion-{run.run_id}"]
