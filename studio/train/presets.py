"""Hardware-aware presets: turn ``preset`` + the config's overrides into concrete trainer settings.

Why presets exist: TRL 1.16's default ``SFTConfig`` (bf16 autocast + gradient checkpointing) is
~16x slower per step on CPU than fp32 without checkpointing (docs/MEASURED.md). On a GPU the
opposite holds: half precision and checkpointing are what make a run fit. ``resolve_preset`` returns
a plain dict so the UI can show exactly what was chosen; explicit config values always win.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.train.config import TrainConfig

CPU_BATCH, CPU_ACCUM = 4, 2
GPU_EFFECTIVE_BATCH = 16
GIB = 1024**3


@dataclass(frozen=True)
class Hardware:
    device: str  # "cpu" or "cuda"
    name: str
    cpu_cores: int
    total_memory_gb: float | None = None  # GPU memory for cuda
    free_memory_gb: float | None = None
    bf16: bool = False


def cpu_cores() -> int:
    """Cores this process may use; an explicit OMP_NUM_THREADS (a shared machine, a benchmark) caps it."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(cores, int(limit)) if limit.isdigit() and int(limit) > 0 else cores


def detect_hardware() -> Hardware:
    import torch

    cores = cpu_cores()
    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        return Hardware(
            device="cuda", name=torch.cuda.get_device_name(0), cpu_cores=cores,
            total_memory_gb=round(total / GIB, 1), free_memory_gb=round(free / GIB, 1),
            bf16=bool(torch.cuda.is_bf16_supported()),
        )
    return Hardware(device="cpu", name=f"CPU ({cores} cores)", cpu_cores=cores)


def model_shape(base_dir: str | None) -> dict[str, Any]:
    """Parameter count (estimated from weight files) and sizes from a local model folder, if known."""
    if base_dir and not Path(base_dir).is_dir():
        return _hub_shape(base_dir)
    if not base_dir:
        return {}
    path = Path(base_dir)
    shape: dict[str, Any] = {}
    try:
        cfg = json.loads((path / "config.json").read_text())
        shape.update({k: cfg.get(k) for k in ("hidden_size", "num_hidden_layers", "vocab_size") if cfg.get(k)})
        dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "float32")
    except (OSError, ValueError):
        dtype = "float32"
    weight_bytes = sum(p.stat().st_size for p in path.glob("*.safetensors")) or sum(p.stat().st_size for p in path.glob("*.bin"))
    if weight_bytes:
        shape["params"] = int(weight_bytes / (4 if "32" in dtype else 2))
    return shape


def _hub_shape(repo_id: str) -> dict[str, Any]:
    """For a hub id, read the parameter count from the safetensors headers and the config (small requests)."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or repo_id.count("/") != 1:
        return {}
    try:
        from huggingface_hub import get_safetensors_metadata, hf_hub_download

        shape: dict[str, Any] = {"params": sum(get_safetensors_metadata(repo_id).parameter_count.values())}
        cfg = json.loads(Path(hf_hub_download(repo_id, "config.json")).read_text())
        shape.update({k: cfg.get(k) for k in ("hidden_size", "num_hidden_layers", "vocab_size") if cfg.get(k)})
        return shape
    except Exception:  # unknown size: the preset then keeps 16-bit weights unless told otherwise
        return {}


def _per_sample_bytes(shape: dict[str, Any], max_length: int) -> float:
    """Rough activation memory of one sequence with gradient checkpointing in 16-bit."""
    hidden = shape.get("hidden_size", 4096)
    layers = shape.get("num_hidden_layers", 32)
    vocab = shape.get("vocab_size", 128_000)
    return max_length * (hidden * layers * 2 * 6 + vocab * 4)


def _pow2_floor(value: float, low: int, high: int) -> int:
    result = low
    while result * 2 <= min(value, high):
        result *= 2
    return result


def resolve_preset(config: TrainConfig, hardware: Hardware | None = None, base_dir: str | None = None) -> dict[str, Any]:
    """The concrete settings this config will train with, with a ``reason`` line per choice."""
    hw = hardware or detect_hardware()
    preset = config.preset
    if preset == "auto":
        preset = "gpu" if hw.device == "cuda" else "cpu"
    if preset.startswith("gpu") and hw.device != "cuda":
        raise ValueError(f"preset {config.preset} needs a CUDA GPU, but none is available here. Use preset auto or cpu.")
    chosen = _cpu(config, hw) if preset == "cpu" else _gpu(config, hw, preset, model_shape(base_dir))
    chosen.update(preset=preset, device=hw.device, hardware=hw.name, max_length=config.max_length,
                  train_sampling_strategy="group_by_length" if config.group_by_length else "random",
                  dataloader_num_workers=0)
    return chosen


def _cpu(config: TrainConfig, hw: Hardware) -> dict[str, Any]:
    if config.quantization in ("4bit", "8bit"):
        raise ValueError("quantization 4bit/8bit needs a GPU (bitsandbytes); use quantization: none on CPU.")
    return {
        "precision": "fp32",
        "bf16": False,
        "fp16": False,
        "gradient_checkpointing": False,
        "use_cpu": True,
        "quantization": "none",
        "torch_threads": hw.cpu_cores,
        "batch_size": config.batch_size or CPU_BATCH,
        "gradient_accumulation": config.gradient_accumulation or CPU_ACCUM,
        "reason": "CPU: fp32 without gradient checkpointing (bf16 autocast + checkpointing is ~16x slower here); "
        f"{hw.cpu_cores} torch threads; similar-length conversations batched together.",
    }


def _gpu(config: TrainConfig, hw: Hardware, preset: str, shape: dict[str, Any]) -> dict[str, Any]:
    free_gb = hw.free_memory_gb or hw.total_memory_gb or 16.0
    weights_gb = shape.get("params", 0) * 2 / GIB  # 16-bit weights
    quant = config.quantization
    if quant == "auto":
        # "Comfortably": 16-bit weights within 40% of free memory leaves room for activations and optimizer.
        quant = "4bit" if preset == "gpu-qlora" or weights_gb > 0.4 * free_gb else "none"
    loaded_gb = weights_gb * {"none": 1.0, "8bit": 0.5, "4bit": 0.3}[quant]
    budget = max(0.5, free_gb - loaded_gb - 2.0) * GIB
    fit = budget / _per_sample_bytes(shape, config.max_length)
    batch = config.batch_size or _pow2_floor(fit, 1, GPU_EFFECTIVE_BATCH)
    accum = config.gradient_accumulation or max(1, GPU_EFFECTIVE_BATCH // batch)
    precision = "bf16" if hw.bf16 else "fp16"
    return {
        "precision": precision,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "gradient_checkpointing": True,
        "use_cpu": False,
        "quantization": quant,
        "torch_threads": hw.cpu_cores,
        "batch_size": batch,
        "gradient_accumulation": accum,
        "reason": f"GPU {hw.name}: {precision}, gradient checkpointing; base weights ~{weights_gb:.1f} GB in 16-bit "
        f"vs {free_gb:.0f} GB free -> quantization {quant}; batch {batch} x accumulation {accum}.",
    }


def describe(chosen: dict[str, Any]) -> str:
    """One short Markdown block for the UI."""
    keys = ("preset", "device", "precision", "gradient_checkpointing", "quantization", "batch_size",
            "gradient_accumulation", "torch_threads", "train_sampling_strategy")
    rows = " · ".join(f"**{k}**: {chosen[k]}" for k in keys if k in chosen)
    return f"{rows}\n\n{chosen.get('reason', '')}"

