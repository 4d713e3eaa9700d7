"""Presets: CPU avoids the TRL-default trap; GPU picks precision, checkpointing, QLoRA and batch from memory."""

from __future__ import annotations

import json

import pytest

from studio.train.config import TrainConfig
from studio.train.presets import Hardware, describe, model_shape, resolve_preset

CPU = Hardware(device="cpu", name="CPU (2 cores)", cpu_cores=2)


def gpu(free_gb: float, bf16: bool = True) -> Hardware:
    return Hardware(device="cuda", name="Test GPU", cpu_cores=8, total_memory_gb=free_gb, free_memory_gb=free_gb, bf16=bf16)


def fake_model(tmp_path, params: int, hidden=4096, layers=32, vocab=128_000):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": hidden, "num_hidden_layers": layers,
                                                      "vocab_size": vocab, "torch_dtype": "bfloat16"}))
    with (tmp_path / "model.safetensors").open("wb") as handle:
        handle.truncate(params * 2)  # sparse file: size only
    return str(tmp_path)


def test_cpu_preset_is_fp32_without_checkpointing():
    chosen = resolve_preset(TrainConfig(dataset="x"), CPU)
    assert chosen["preset"] == "cpu" and chosen["device"] == "cpu"
    assert chosen["bf16"] is False and chosen["fp16"] is False and chosen["gradient_checkpointing"] is False
    assert chosen["use_cpu"] is True and chosen["dataloader_num_workers"] == 0 and chosen["torch_threads"] == 2
    assert chosen["train_sampling_strategy"] == "group_by_length"
    assert "16x" in chosen["reason"] and "precision" in describe(chosen)


def test_explicit_values_win():
    chosen = resolve_preset(TrainConfig(dataset="x", batch_size=3, gradient_accumulation=5, group_by_length=False), CPU)
    assert (chosen["batch_size"], chosen["gradient_accumulation"]) == (3, 5)
    assert chosen["train_sampling_strategy"] == "random"


def test_gpu_presets_need_a_gpu():
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        resolve_preset(TrainConfig(dataset="x", preset="gpu"), CPU)


def test_small_model_on_big_gpu_is_bf16_lora_with_big_batch(tmp_path):
    base = fake_model(tmp_path, params=135_000_000, hidden=576, layers=30, vocab=49152)
    chosen = resolve_preset(TrainConfig(dataset="x"), gpu(80), base_dir=base)
    assert chosen["preset"] == "gpu" and chosen["bf16"] and not chosen["fp16"]
    assert chosen["gradient_checkpointing"] and chosen["quantization"] == "none"
    assert chosen["batch_size"] == 16 and chosen["gradient_accumulation"] == 1


def test_large_model_gets_4bit_and_small_batches(tmp_path):
    base = fake_model(tmp_path, params=8_000_000_000)  # 16 GB in bf16 vs 24 GB free
    chosen = resolve_preset(TrainConfig(dataset="x", max_length=2048), gpu(24, bf16=False), base_dir=base)
    assert chosen["quantization"] == "4bit" and chosen["fp16"] and not chosen["bf16"]
    assert chosen["batch_size"] * chosen["gradient_accumulation"] >= 16 and chosen["batch_size"] <= 4


def test_qlora_preset_and_explicit_quantization(tmp_path):
    base = fake_model(tmp_path, params=135_000_000)
    assert resolve_preset(TrainConfig(dataset="x", preset="gpu-qlora"), gpu(80), base_dir=base)["quantization"] == "4bit"
    assert resolve_preset(TrainConfig(dataset="x", quantization="8bit"), gpu(80), base_dir=base)["quantization"] == "8bit"


def test_model_shape_of_embedded_model(embedded_model_dir):
    shape = model_shape(str(embedded_model_dir))
    assert shape["hidden_size"] == 576 and 120e6 < shape["params"] < 150e6


def test_omp_num_threads_caps_torch_threads(monkeypatch):
    from studio.train.presets import cpu_cores

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_cores() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not-a-number")
    assert cpu_cores() >= 1
