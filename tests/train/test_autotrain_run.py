"""Real AutoTrain Advanced runs on the embedded model, on CPU, through the studio's training manager (slow).

Each run costs about a minute of AutoTrain start-up (its venv imports, `accelerate launch`) plus a few
optimizer steps; the environment is built on first use and reused afterwards.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from studio.settings import Settings
from studio.train.autotrain_job import run_autotrain
from studio.train.autotrain_log import AutoTrainLog
from studio.train.autotrain_plan import build_plan
from studio.train.autotrain_process import child_env, follow_process, judge
from studio.train.config import TrainConfig
from studio.train.faults import lora_b_all_zero
from studio.train.manager import TrainingManager
from studio.train.runs import create_run
from tests.train.conftest import CONVERSATIONS, write_jsonl
from tests.train.test_autotrain_env import autotrain_venv  # noqa: F401 - session fixture (builds or reuses)

FAKE_TOKEN = "hf_AutoTrainRunTokenMustNeverLand7"
pytestmark = pytest.mark.slow


def autotrain_config(dataset: Path, **changes) -> TrainConfig:
    """16 conversations pack into ~12 blocks of 128 tokens: 3 optimizer steps at batch 4."""
    base = dict(dataset=str(dataset), backend="autotrain", preset="cpu", epochs=1, batch_size=4,
                gradient_accumulation=1, max_length=128, learning_rate=5e-4, logging_steps=1,
                lora={"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]})
    base.update(changes)
    return TrainConfig.from_dict(base)


def files_containing(root: Path, secret: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def _settings(root: Path) -> Settings:
    # The release gate before the push makes a report card: one prompt per category keeps it short.
    return Settings.from_env({"STUDIO_DATA_DIR": str(root / "data")}).with_(hf_token=FAKE_TOKEN, release_card_limit=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, autotrain_venv):  # noqa: F811
    root = tmp_path_factory.mktemp("autotrain")
    settings = _settings(root)
    dataset = write_jsonl(root / "tiny.jsonl", CONVERSATIONS * 4)
    # hub.push makes the studio try to push after training (offline here): the token is in play end to end.
    config = autotrain_config(dataset, hub={"push": True, "repo_id": "someone/companion-test"})
    run = TrainingManager(settings).start(config, background=False)
    return settings, run


def test_autotrain_run_succeeds_with_a_trained_adapter(trained):
    settings, run = trained
    status = run.status()
    assert status["state"] == "succeeded", (status.get("error"), run.log_tail(30))
    assert status["backend"] == "autotrain" and status["autotrain_exit_code"] == 0
    assert status["step"] == status["total_steps"] >= 2
    assert status["train_runtime_s"] > 0 and status["tokens_trained"] > 0 and status["final_loss"] > 0
    metrics = run.metrics()
    assert [m["step"] for m in metrics] == list(range(1, status["total_steps"] + 1))
    assert all(m["loss"] > 0 for m in metrics) and metrics[0]["learning_rate"] > 0
    assert run.has_adapter() and (run.adapter_dir / "adapter_model.safetensors").is_file()
    assert not lora_b_all_zero(run.adapter_dir)  # something was learned
    assert "AutoTrain Advanced 0.8.36" in (run.adapter_dir / "README.md").read_text()
    # The push was attempted: refused by the release gate or failed offline, and reported; the run still succeeded.
    assert status["hub_error"]
    assert (run.dir / "eval" / "report.json").is_file()  # the gate's report card is kept with the run


def test_studio_loads_and_generates_with_the_autotrain_adapter(trained):
    from studio.models.generate import GenerationSettings, build_messages, generate_chat
    from studio.models.loader import model_cache, resolve

    settings, run = trained
    messages = build_messages("My first session is tomorrow and I feel nervous.")
    result = generate_chat(run.run_id, messages, GenerationSettings(max_new_tokens=12, temperature=0.0), settings)
    assert result.text and result.new_tokens > 0
    assert run.run_id in model_cache(settings).get(resolve(run.run_id, settings)).adapters


def test_token_never_lands_in_a_file(trained):
    settings, run = trained
    assert files_containing(settings.data_dir, FAKE_TOKEN) == []
    written = yaml.safe_load((run.dir / "autotrain" / "config.yml").read_text())
    assert "hub" not in written  # local runs give AutoTrain no token at all; the studio pushes itself


def _broken_model(root: Path, model_dir: Path) -> Path:
    """A model folder whose tokenizer is fine but whose weights file is garbage."""
    broken = root / "broken-model"
    broken.mkdir()
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, broken / name)
    (broken / "model.safetensors").write_bytes(b"\x00" * 4096)
    return broken


def test_failure_inside_autotrain_is_failed_although_it_exits_zero(tmp_path, embedded_model_dir, autotrain_venv):  # noqa: F811
    settings = _settings(tmp_path)
    dataset = write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 4)
    config = autotrain_config(dataset, base_model=str(_broken_model(tmp_path, embedded_model_dir)))
    run = TrainingManager(settings).start(config, background=False)
    status = run.status()
    assert status["state"] == "failed"
    assert status["autotrain_exit_code"] == 0  # AutoTrain's @monitor swallowed the exception
    assert status["error"].startswith("AutoTrain reported a failure (it still exited 0):")
    assert "has failed due to an exception" in run.log_tail(200)
    assert not run.has_adapter()
    assert files_containing(settings.data_dir, FAKE_TOKEN) == []


def test_missing_data_column_fails_with_autotrains_error(tmp_path, autotrain_venv):  # noqa: F811
    settings = _settings(tmp_path)
    dataset = write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 4)
    config = autotrain_config(dataset)
    run = create_run(settings, config)
    plan = build_plan(config, settings, run.run_id)
    work = run.dir / "autotrain"
    data = work / "data"
    data.mkdir(parents=True)
    (data / "train.jsonl").write_text(dataset.read_text().replace('"messages"', '"conversation"'))
    (work / "config.yml").write_text(plan.yaml_text(str(data)))
    log = AutoTrainLog()
    code, cancelled = follow_process(run, [str(autotrain_venv / "bin" / "autotrain"), "--config", str(work / "config.yml")],
                                     work, child_env(autotrain_venv), log, plan, __import__("threading").Event())
    assert not cancelled
    assert judge(log, code, work / "project") == f"AutoTrain exited with code {code}: KeyError: 'messages'"


def test_stop_kills_the_process_group_and_cancels(tmp_path, autotrain_venv):  # noqa: F811
    import psutil

    settings = _settings(tmp_path)
    dataset = write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 4)
    manager = TrainingManager(settings)
    run = manager.start(autotrain_config(dataset), background=True)
    deadline = time.monotonic() + 600
    while "Starting SFT training" not in run.log_tail(200) and time.monotonic() < deadline and manager.is_busy():
        time.sleep(1)  # the trainer (a grandchild: autotrain -> accelerate -> trainer) is running now
    pgid = run.status()["autotrain_pid"]
    assert [p for p in psutil.process_iter() if _pgid(p) == pgid]
    manager.stop(run.run_id)
    assert manager.wait(timeout=120)
    assert run.status()["state"] == "cancelled"
    assert [p for p in psutil.process_iter() if _pgid(p) == pgid] == []
    assert not run.has_adapter()


def _pgid(proc) -> int | None:
    """The live process's group (zombies, which a container's init may leave unreaped, do not count)."""
    import os

    import psutil

    try:
        return None if proc.status() == psutil.STATUS_ZOMBIE else os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError, psutil.Error):
        return None


def test_space_run_offline_fails_clearly_and_keeps_the_token_out_of_files(tmp_path, autotrain_venv):  # noqa: F811
    settings = _settings(tmp_path)
    dataset = write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 4)
    config = autotrain_config(dataset, preset="auto", autotrain={"hardware": "spaces-t4-medium", "username": "someone"})
    run = create_run(settings, config)
    state = run_autotrain(run, config, settings)
    status = run.status()
    assert state == "failed" and status["error"].startswith("AutoTrain could not start the training Space")
    assert status["space_url"] == f"https://huggingface.co/spaces/someone/autotrain-companion-{run.run_id}"
    assert "${HF_TOKEN}" in (run.dir / "autotrain" / "config.yml").read_text()
    assert files_containing(settings.data_dir, FAKE_TOKEN) == []
