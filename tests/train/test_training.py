"""Real LoRA training of the embedded model, a few steps on tiny data (slow: about a minute each)."""

from __future__ import annotations

import time

import pytest

from studio.settings import Settings
from studio.train.manager import TrainingBusy, TrainingManager
from studio.train.runs import list_runs
from studio.train.training_data import DatasetProblem
from tests.train.conftest import CONVERSATIONS, tiny_config, write_jsonl

FAKE_TOKEN = "hf_NeverWriteThisToken123"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, embedded_model_dir):
    """One finished 3-step run (with an eval split) shared by the checks below."""
    root = tmp_path_factory.mktemp("trained")
    settings = Settings.from_env({"STUDIO_DATA_DIR": str(root / "data")})
    dataset = write_jsonl(root / "tiny.jsonl", CONVERSATIONS * 2)
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_TOKEN", FAKE_TOKEN)  # present in the environment while training: must not reach any file
    try:
        run = TrainingManager(settings).start(tiny_config(dataset, eval_fraction=0.25, eval_steps=2), background=False)
    finally:
        mp.undo()
    return settings, run


@pytest.mark.slow
def test_run_succeeds_and_logs_loss(trained):
    settings, run = trained
    status = run.status()
    assert status["state"] == "succeeded", status.get("error")
    assert status["step"] == status["total_steps"] == 3
    assert status["train_runtime_s"] > 0 and status["tokens_trained"] > 0 and status["finished_at"]
    assert status["preset"]["bf16"] is False and status["preset"]["gradient_checkpointing"] is False
    losses = [m for m in run.metrics() if "loss" in m]
    assert [m["step"] for m in losses] == [1, 2, 3]
    assert all(m["loss"] > 0 and m["learning_rate"] > 0 and m["tokens_per_second"] > 0 and "elapsed_s" in m for m in losses)
    assert any("eval_loss" in m for m in run.metrics())
    assert status["final_loss"] == losses[-1]["loss"]
    info = list_runs(settings)[0]
    assert info.state == "succeeded" and info.final_loss == status["final_loss"] and info.duration_s > 0


@pytest.mark.slow
def test_lora_b_matrices_learned(trained):
    from safetensors.torch import load_file

    _, run = trained
    tensors = load_file(str(run.adapter_dir / "adapter_model.safetensors"))
    b_mats = {k: v for k, v in tensors.items() if "lora_B" in k}
    assert b_mats and all(v.abs().max() > 0 for v in b_mats.values())


@pytest.mark.slow
def test_adapter_loads_and_generates(trained):
    from studio.models.generate import GenerationSettings, generate_chat

    settings, run = trained
    messages = [{"role": "user", "content": "I feel nervous about tomorrow."}]
    result = generate_chat(run.run_id, messages, GenerationSettings(max_new_tokens=8, temperature=0), settings)
    assert result.new_tokens > 0 and result.text


@pytest.mark.slow
def test_model_card_and_no_token_anywhere(trained):
    _, run = trained
    card = (run.adapter_dir / "README.md").read_text()
    for expected in ("HuggingFaceTB/SmolLM2-135M-Instruct", "not a therapist", "988", "dosing", "learning rate",
                     "final training loss", "training conversations"):
        assert expected in card
    for path in run.dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert FAKE_TOKEN not in path.read_bytes().decode("utf-8", errors="ignore"), path


@pytest.mark.slow
def test_merge_matches_adapter_outputs(trained):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from studio.models.loader import base_path
    from studio.train.export import merge_adapter

    settings, run = trained
    merged_dir = merge_adapter(settings, run.run_id)
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir)).eval()
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_path("embedded", settings)),
                                     str(run.adapter_dir)).eval()
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, peft(ids).logits, atol=1e-3)
    assert (merged_dir / "README.md").is_file() and (merged_dir / "tokenizer_config.json").is_file()


@pytest.mark.slow
def test_stop_then_resume_to_success(settings, tiny_dataset, embedded_model_dir):
    manager = TrainingManager(settings)
    config = tiny_config(tiny_dataset, max_steps=4, save_steps=100)  # the only checkpoint is the stop's
    run = manager.start(config, background=True)
    with pytest.raises(TrainingBusy, match=run.run_id):
        manager.start(config, background=True)
    deadline = time.time() + 300
    while run.status().get("step", 0) < 1 and time.time() < deadline and manager.is_busy():
        time.sleep(0.5)
    manager.stop(run.run_id)
    assert manager.wait(300)
    status = run.status()
    assert status["state"] == "cancelled", status.get("error")
    stopped_at = status["step"]
    assert 1 <= stopped_at < 4 and run.has_adapter()
    assert run.last_checkpoint().name == f"checkpoint-{stopped_at}"

    manager.resume(run.run_id, background=False)
    status = run.status()
    assert status["state"] == "succeeded", status.get("error")
    assert status["step"] == 4 and status["resumed_from"] == f"checkpoint-{stopped_at}"
    steps = [m["step"] for m in run.metrics() if "loss" in m]
    assert steps == list(range(1, 5))  # resumed where it stopped: no step repeated or skipped


def test_invalid_dataset_is_refused_before_a_run_exists(settings, tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [CONVERSATIONS[0], [{"role": "user", "content": "only a question"}]])
    with pytest.raises(DatasetProblem, match="line 2") as err:
        TrainingManager(settings).start(tiny_config(bad))
    assert "error" in str(err.value)
    with pytest.raises(DatasetProblem, match="not found"):
        TrainingManager(settings).start(tiny_config(tmp_path / "missing.jsonl"))
    assert list_runs(settings) == []


def test_exception_in_training_marks_failed_and_keeps_going(settings, tiny_dataset):
    manager = TrainingManager(settings)
    run = manager.start(tiny_config(tiny_dataset, base_model=str(tiny_dataset.parent / "no-such-model")), background=True)
    assert manager.wait(120)
    status = run.status()
    assert status["state"] == "failed" and status["error"] and status["error_tail"]
    assert "Failed" in run.log_tail()
    assert manager.active() is None  # the next start is allowed


def test_a_job_thread_that_died_silently_does_not_block_the_next_start(settings, tiny_dataset):
    from studio.train.runs import create_run, owner_record

    manager = TrainingManager(settings)
    orphan = create_run(settings, tiny_config(tiny_dataset))
    orphan.write_status(state="running", owner=owner_record())  # owned by this live process, no thread
    manager._run = orphan  # as if this manager had launched it
    assert manager.active().run_id == orphan.run_id
    manager._refuse_if_busy()
    assert orphan.state == "failed" and "without recording a result" in orphan.status()["error"]
