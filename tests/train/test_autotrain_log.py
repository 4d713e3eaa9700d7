"""Reading AutoTrain's output: excerpts captured from real AutoTrain 0.8.36 runs on this machine."""

from __future__ import annotations

from pathlib import Path

from studio.train.autotrain_log import AutoTrainLog, split_segments
from studio.train.autotrain_process import judge

HEAD = "INFO     | 2026-11-27 05:22:{:02d} | "
SUCCESS = (
    HEAD.format(40) + "autotrain.trainers.common:on_train_begin:386 - Starting to train...\n"
    "  0%|          | 0/5 [00:00<?, ?it/s]/venv/torch/utils/data/dataloader.py:759: UserWarning: 'pin_memory'\n"
    "  super().__init__(loader)\n"
    " 20%|██        | 1/5 [00:11<00:44, 11.01s/it]" + HEAD.format(51)
    + "autotrain.trainers.common:on_log:367 - {'loss': 3.1566, 'grad_norm': 1.36, 'learning_rate': 0.00016, 'epoch': 0.2}\n"
    "                                             {'loss': 3.1566, 'grad_norm': 1.36, 'learning_rate': 0.00016, 'epoch': 0.2}\n"
    " 20%|██        | 1/5 [00:11<00:44, 11.01s/it]\r 40%|████      | 2/5 [00:15<00:21,  7.31s/it]" + HEAD.format(56)
    + "autotrain.trainers.common:on_log:367 - {'loss': 2.8947, 'grad_norm': 1.30, 'learning_rate': 0.00012, 'epoch': 0.4}\n"
    + HEAD.format(57) + "autotrain.trainers.common:on_log:367 - {'train_runtime': 25.1242, 'train_loss': 2.89, 'epoch': 1.0}\n"
    + HEAD.format(58) + "autotrain.trainers.clm.utils:post_training_steps:416 - Finished training, saving model...\n"
)
FAILED = (
    "ERROR    | 2026-11-27 05:23:52 | autotrain.trainers.common:wrapper:215 - train has failed due to an exception: "
    "Traceback (most recent call last):\n"
    '  File "/venv/autotrain/trainers/clm/utils.py", line 644, in process_data_with_chat_template\n'
    "    valid_data = valid_data.map(\n"
    "AttributeError: 'NoneType' object has no attribute 'map'\n"
    "\n"
    "ERROR    | 2026-11-27 05:23:52 | autotrain.trainers.common:wrapper:216 - 'NoneType' object has no attribute 'map'\n"
    "INFO     | 2026-11-27 05:23:54 | autotrain.parser:run:229 - Job ID: 12840\n"
)


def _parse(text: str) -> tuple[AutoTrainLog, list]:
    log = AutoTrainLog(logging_steps=1)
    events = [e for seg in split_segments(text) for e in log.feed(seg)]
    return log, events


def test_loss_dicts_become_metrics_once_with_their_step():
    log, events = _parse(SUCCESS)
    metrics = [e.data for e in events if e.kind == "metrics"]
    assert metrics == [
        {"step": 1, "loss": 3.1566, "learning_rate": 0.00016, "grad_norm": 1.36, "epoch": 0.2},
        {"step": 2, "loss": 2.8947, "learning_rate": 0.00012, "grad_norm": 1.3, "epoch": 0.4},
    ]
    assert [e.data["step"] for e in events if e.kind == "progress"] == [1, 2]
    assert log.total_steps == 5 and log.finished and not log.failed
    assert log.summary["train_runtime"] == 25.1242
    lines = [e.text for e in events if e.kind == "line"]
    assert any("UserWarning" in line for line in lines)  # text glued behind a bar is kept
    assert not any("%|" in line or line.strip().startswith("{") for line in lines)  # bars and echoes are not


def test_monitor_failure_is_found_although_autotrain_exits_zero(tmp_path: Path):
    log, _ = _parse(FAILED)
    assert log.failed and not log.finished
    assert log.error_line() == "AttributeError: 'NoneType' object has no attribute 'map'"
    error = judge(log, 0, tmp_path)
    assert error.startswith("AutoTrain reported a failure (it still exited 0): AttributeError")


def test_crash_before_training_uses_the_last_exception_line(tmp_path: Path):
    log, _ = _parse("Traceback (most recent call last):\n    raise KeyError(key) from err\nKeyError: 'messages'\n")
    assert judge(log, 1, tmp_path) == "AutoTrain exited with code 1: KeyError: 'messages'"


def test_clean_exit_without_adapter_is_not_success(tmp_path: Path):
    log, _ = _parse(SUCCESS)
    assert judge(log, 0, tmp_path).startswith("AutoTrain ended without saving an adapter")


def test_all_zero_lora_b_is_not_success(tmp_path: Path):
    import torch
    from safetensors.torch import save_file

    log, _ = _parse(SUCCESS)
    save_file({"base_model.model.layers.0.self_attn.q_proj.lora_A.weight": torch.ones(4, 8),
               "base_model.model.layers.0.self_attn.q_proj.lora_B.weight": torch.zeros(8, 4)},
              str(tmp_path / "adapter_model.safetensors"))
    assert "every LoRA B matrix" in judge(log, 0, tmp_path)
    save_file({"base_model.model.layers.0.self_attn.q_proj.lora_B.weight": torch.full((8, 4), 1e-3)},
              str(tmp_path / "adapter_model.safetensors"))
    assert judge(log, 0, tmp_path) is None
