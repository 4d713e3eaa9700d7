"""Export and fault messages: push is private by default, the token stays in memory, failures are explained."""

from __future__ import annotations

import errno
import json

import pytest

from studio.train.config import TrainConfig
from studio.train.export import ExportError, push_to_hub
from studio.train.faults import explain_failure, lora_b_all_zero
from studio.train.runs import create_run
from tests.eval.helpers import write_card

TOKEN = "hf_PushTokenForTests12345"


class FakeApi:
    calls: list = []

    def __init__(self, token=None):
        FakeApi.calls.append(("init", token))

    def create_repo(self, repo_id, private, exist_ok, repo_type):
        FakeApi.calls.append(("create_repo", repo_id, private))

    def upload_folder(self, repo_id, folder_path, repo_type, commit_message):
        FakeApi.calls.append(("upload_folder", repo_id, folder_path))
        return type("Info", (), {"repo_url": f"https://huggingface.co/{repo_id}"})()


@pytest.fixture
def finished(settings):
    run = create_run(settings, TrainConfig(dataset="d.jsonl"))
    run.adapter_dir.mkdir(parents=True)
    (run.adapter_dir / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x"}))
    (run.adapter_dir / "adapter_model.safetensors").write_bytes(b"weights")
    write_card(settings, run.run_id)  # a fresh, passing report card: these tests are about the upload
    return run


def test_push_is_private_by_default_and_never_writes_the_token(settings, finished, monkeypatch):
    import huggingface_hub

    FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = push_to_hub(settings, finished.run_id, "me/companion", token=TOKEN)
    assert url == "https://huggingface.co/me/companion"
    assert ("create_repo", "me/companion", True) in FakeApi.calls
    assert ("upload_folder", "me/companion", str(finished.adapter_dir)) in FakeApi.calls
    finished.log(f"later line mentioning {TOKEN}")
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="ignore"), path


def test_push_needs_a_token_and_a_repo(settings, finished):
    with pytest.raises(ExportError, match="No Hugging Face token"):
        push_to_hub(settings, finished.run_id, "me/x", token="")
    with pytest.raises(ExportError, match="owner/name"):
        push_to_hub(settings, finished.run_id, "nope", token=TOKEN)


def test_push_failure_is_one_clear_line(settings, finished, monkeypatch):
    import huggingface_hub

    class Offline(FakeApi):
        def create_repo(self, *args, **kwargs):
            raise OSError(f"Cannot connect to the Hub (offline mode) with token {TOKEN}")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    with pytest.raises(ExportError) as err:
        push_to_hub(settings, finished.run_id, "me/x", token=TOKEN)
    assert "offline" in str(err.value) and TOKEN not in str(err.value)


def test_push_refuses_a_run_without_adapter(settings):
    run = create_run(settings, TrainConfig(dataset="d.jsonl"))
    with pytest.raises(ExportError, match="no adapter yet"):
        push_to_hub(settings, run.run_id, "me/x", token=TOKEN)


def test_out_of_memory_and_disk_messages(settings):
    oom = explain_failure(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), settings)
    assert "Out of memory" in oom and "batch_size" in oom
    assert "Out of memory" in explain_failure(MemoryError(), settings)
    disk = explain_failure(OSError(errno.ENOSPC, "No space left on device"), settings)
    assert "Out of disk space" in disk and str(settings.data_dir) in disk
    other = explain_failure(KeyError("boom"), settings)
    assert other.startswith("KeyError")


def test_all_zero_lora_b_is_detected(tmp_path):
    import torch
    from safetensors.torch import save_file

    save_file({"a.lora_A.weight": torch.ones(2, 2), "a.lora_B.weight": torch.zeros(2, 2)}, str(tmp_path / "adapter_model.safetensors"))
    assert lora_b_all_zero(tmp_path)
    save_file({"a.lora_B.weight": torch.ones(2, 2)}, str(tmp_path / "adapter_model.safetensors"))
    assert not lora_b_all_zero(tmp_path)
