"""Turn a TrainConfig into an AutoTrain Advanced (0.8.36) YAML config, counting optimizer steps first.

Why count first: AutoTrain packs conversations into ``block_size`` blocks (TRL 0.13 ConstantLengthDataset)
and defaults to gradient accumulation 4 and warmup 0.1. A 16-conversation run became one optimizer
step at learning rate 0.0: it "succeeded" and learned nothing (docs/MEASURED.md). So the plan
replays the packing with the same tokenizer, computes the steps the HF Trainer 4.48 will make, and
adjusts (with a note) or refuses configs that would give fewer than 2 steps or only zero-LR steps.

Secrets: the YAML never holds a token. For Spaces it says ``${HF_TOKEN}``, which AutoTrain's parser
reads from the environment; local runs get no hub section at all (AutoTrain writes its params,
token included, to ``training_params.json``), and the studio pushes the adapter itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from studio.settings import Settings
from studio.train import autotrain_hardware as catalog
from studio.train.autotrain_hardware import AUTOTRAIN_VERSION, TOKEN_ENV, USERNAME_ENV
from studio.train.config import TrainConfig
from studio.util.errors import UserError

LOCAL_PROJECT = "project"  # output folder inside the run's work dir (AutoTrain: alphanumeric and hyphens)
# TRL 0.13 ConstantLengthDataset defaults: a buffer of seq_length * 3.6 * 1024 characters is packed at once.
CHARS_PER_TOKEN, SEQUENCES_PER_BUFFER = 3.6, 1024
SHORT_RUN_STEPS = 10  # below this, warmup is dropped: its first step (LR 0) would be >= 10% of the run
QUANT = {"none": None, "4bit": "int4", "8bit": "int8"}
PRECISION = {"fp32": None, "bf16": "bf16", "fp16": "fp16"}


class AutoTrainPlanError(UserError, ValueError):
    """The config cannot train usefully with AutoTrain; the message says what to change."""


@dataclass
class StepPlan:
    blocks: int
    block_size: int
    batch_size: int
    gradient_accumulation: int
    epochs: int
    steps_per_epoch: int
    total_steps: int
    warmup_ratio: float
    warmup_steps: int
    estimated: bool = False  # token counts estimated from characters (tokenizer not available offline)
    notes: list[str] = field(default_factory=list)

    @property
    def learning_steps(self) -> int:
        """Optimizer steps with a non-zero learning rate (a linear warmup's first step has LR 0)."""
        return self.total_steps - (1 if self.warmup_steps > 0 else 0)


def packed_blocks(lengths: list[tuple[int, int]], block_size: int) -> int:
    """Blocks TRL 0.13 packing yields from (characters, tokens) per conversation, EOS appended to each."""
    max_buffer = block_size * CHARS_PER_TOKEN * SEQUENCES_PER_BUFFER
    blocks, buffer_chars, buffer_tokens = 0, 0, 0
    for chars, tokens in lengths:
        if buffer_chars >= max_buffer:  # same order as the library: the check comes before the append
            blocks += buffer_tokens // block_size
            buffer_chars, buffer_tokens = 0, 0
        buffer_chars += chars
        buffer_tokens += tokens + 1
    return blocks + buffer_tokens // block_size


def _total_steps(blocks: int, batch: int, accum: int, epochs: int) -> tuple[int, int]:
    """HF Trainer 4.48: updates per epoch = max(len(dataloader) // accumulation, 1); total = ceil(epochs * that)."""
    per_epoch = max(math.ceil(blocks / batch) // accum, 1)
    return per_epoch, math.ceil(epochs * per_epoch)


def plan_steps(blocks: int, block_size: int, batch: int, accum: int, epochs: float, max_steps: int | None,
               warmup_ratio: float) -> StepPlan:
    notes: list[str] = []
    if blocks < 1:
        raise AutoTrainPlanError(
            f"The training data packs into 0 blocks of {block_size} tokens, so AutoTrain would train on nothing. "
            "Add conversations or lower max_length (it is AutoTrain's block size)."
        )
    whole = max(1, round(epochs))
    if max_steps:
        per_epoch, _ = _total_steps(blocks, batch, accum, 1)
        whole = max(1, math.ceil(max_steps / per_epoch))
        notes.append(f"AutoTrain counts whole epochs, not steps: max_steps {max_steps} becomes {whole} epoch(s) "
                     f"= {whole * per_epoch} optimizer steps.")
    elif whole != epochs:
        notes.append(f"AutoTrain trains whole epochs: epochs {epochs:g} rounded to {whole}.")
    per_epoch, total = _total_steps(blocks, batch, accum, whole)
    if total < 2 and accum > 1:
        new = next((a for a in range(accum - 1, 0, -1) if _total_steps(blocks, batch, a, whole)[1] >= 2), 1)
        notes.append(f"gradient_accumulation lowered from {accum} to {new}: with {blocks} packed block(s) it would "
                     f"make {total} optimizer step(s), too few to learn anything.")
        accum = new
        per_epoch, total = _total_steps(blocks, batch, accum, whole)
    if total < 2 and batch > 1:
        new = next((b for b in range(batch - 1, 0, -1) if _total_steps(blocks, b, accum, whole)[1] >= 2), 1)
        notes.append(f"batch_size lowered from {batch} to {new} so the run makes at least 2 optimizer steps.")
        batch = new
        per_epoch, total = _total_steps(blocks, batch, accum, whole)
    if total < 2:
        raise AutoTrainPlanError(
            f"The data packs into {blocks} block(s) of {block_size} tokens: only {total} optimizer step, which "
            "cannot learn (a first step may have learning rate 0). Add conversations, raise epochs, or lower max_length."
        )
    warmup = math.ceil(total * warmup_ratio)
    if warmup and (total < SHORT_RUN_STEPS or total - warmup < 2):
        notes.append(f"warmup_ratio {warmup_ratio:g} set to 0: in a run of {total} optimizer steps, {warmup} warmup "
                     "step(s) (the first at learning rate 0) would be a large share of the training.")
        warmup_ratio, warmup = 0.0, 0
    return StepPlan(blocks=blocks, block_size=block_size, batch_size=batch, gradient_accumulation=accum,
                    epochs=whole, steps_per_epoch=per_epoch, total_steps=total, warmup_ratio=warmup_ratio,
                    warmup_steps=warmup, notes=notes)


def conversation_lengths(tokenizer, convs: list[list[dict]]) -> list[tuple[int, int]]:
    """(characters, tokens) of each conversation rendered with the model's chat template, as AutoTrain does."""
    out = []
    for messages in convs:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
        out.append((len(text), len(tokenizer(text, add_special_tokens=True)["input_ids"])))
    return out


def estimated_lengths(convs: list[list[dict]]) -> list[tuple[int, int]]:
    """Fallback without a tokenizer: ~3.6 characters per token plus ChatML framing per message."""
    out = []
    for messages in convs:
        chars = sum(len(m["content"]) + 20 for m in messages)
        out.append((chars, int(chars / CHARS_PER_TOKEN)))
    return out


def load_tokenizer(base_dir: str, settings: Settings):
    """The base model's tokenizer in the studio's transformers (renders and counts the same as 4.48)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(base_dir, token=settings.hf_token)


def target_modules(config: TrainConfig) -> str:
    tm = config.lora.target_modules
    return tm if isinstance(tm, str) else ",".join(tm)


def autotrain_params(config: TrainConfig, chosen: dict[str, Any], steps: StepPlan) -> dict[str, Any]:
    """The ``params:`` section, mapped from the TrainConfig and the resolved preset."""
    return {
        "block_size": steps.block_size,
        "model_max_length": max(2048, steps.block_size),
        "epochs": steps.epochs,
        "batch_size": steps.batch_size,
        "gradient_accumulation": steps.gradient_accumulation,
        "lr": float(config.learning_rate),
        "warmup_ratio": steps.warmup_ratio,
        "scheduler": config.lr_scheduler,
        "optimizer": "adamw_torch",
        "weight_decay": float(config.weight_decay),
        "seed": config.seed,
        "logging_steps": config.logging_steps,
        "peft": True,
        "lora_r": config.lora.r,
        "lora_alpha": config.lora.alpha,
        "lora_dropout": float(config.lora.dropout),
        "target_modules": target_modules(config),
        "merge_adapter": False,
        "quantization": QUANT[chosen["quantization"]],
        "mixed_precision": PRECISION[chosen["precision"]],
        "disable_gradient_checkpointing": not chosen["gradient_checkpointing"],
        "padding": "right",
        "save_total_limit": 1,
        "unsloth": False,
    }


def build_yaml(*, base_model: str, project_name: str, backend: str, data_dir: str, has_valid: bool,
               params: dict[str, Any], push_to_hub: bool) -> str:
    doc: dict[str, Any] = {
        "task": "llm-sft",
        "base_model": base_model,
        "project_name": project_name,
        "log": "none",
        "backend": backend,
        "data": {
            "path": data_dir,
            "train_split": "train",
            "valid_split": "valid" if has_valid else None,
            "chat_template": "tokenizer",
            "column_mapping": {"text_column": "messages"},
        },
        "params": params,
    }
    if push_to_hub:
        # AutoTrain's parser replaces "${NAME}" with the environment variable; the file never holds the value.
        doc["hub"] = {"username": f"${{{USERNAME_ENV}}}", "token": f"${{{TOKEN_ENV}}}", "push_to_hub": True}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def caveats(config: TrainConfig, has_valid: bool) -> list[str]:
    """What AutoTrain does differently from the TRL backend, said once in the log and the preview."""
    out = []
    if config.assistant_only_loss:
        out.append("AutoTrain's SFT packs whole conversations into blocks and learns from every token, so "
                   "assistant_only_loss cannot be honoured (use backend trl for that).")
    if has_valid:
        out.append("AutoTrain 0.8.36 does not evaluate chat data (its data preparation drops the validation split), "
                   "so no eval_loss is reported; valid.jsonl is kept with the run for the record.")
    out.append("AutoTrain saves the adapter only at the end (no intermediate checkpoints): a stopped run cannot "
               "be resumed and starts over.")
    return out


def preview_header(lines: list[str]) -> str:
    return "".join(f"# {line}\n" for line in lines)


@dataclass
class AutoTrainPlan:
    """Everything a launch needs, computed before anything runs."""

    hardware: str
    base_model: str  # what AutoTrain loads: a local folder, or a hub id on a Space
    project_name: str
    chosen: dict[str, Any]
    steps: StepPlan
    params: dict[str, Any]
    train: list[list[dict]]
    valid: list[list[dict]]
    notes: list[str]

    @property
    def remote(self) -> bool:
        return self.hardware.startswith("spaces-")

    def yaml_text(self, data_dir: str) -> str:
        return build_yaml(base_model=self.base_model, project_name=self.project_name, backend=self.hardware,
                          data_dir=data_dir, has_valid=bool(self.valid), params=self.params, push_to_hub=self.remote)

    def summary(self) -> str:
        s = self.steps
        approx = " (estimated from characters)" if s.estimated else ""
        return (f"{len(self.train)} conversations -> {s.blocks} packed blocks of {s.block_size} tokens{approx}; "
                f"batch {s.batch_size} x accumulation {s.gradient_accumulation}, {s.epochs} epoch(s) -> "
                f"{s.total_steps} optimizer steps ({s.learning_steps} with a non-zero learning rate).")


def build_plan(config: TrainConfig, settings: Settings, run_id: str | None = None) -> AutoTrainPlan:
    """Load and split the data, resolve the preset, count the steps and map the params (no files written)."""
    from studio.data.export import split
    from studio.train.presets import resolve_preset
    from studio.train.training_data import load_training_conversations

    hardware = config.autotrain.hardware
    base_model, tok_source = _base_for(config, settings, hardware)
    _, convs = load_training_conversations(config.dataset, settings, config.region)
    if config.eval_dataset:
        train, (_, valid) = convs, load_training_conversations(config.eval_dataset, settings, config.region)
    else:
        train, valid = split(convs, config.eval_fraction, config.seed)
    local_dir = tok_source if tok_source and not catalog.is_spaces(hardware) else None
    remote_hw = preset_hardware(hardware) if catalog.is_spaces(hardware) else None
    chosen = resolve_preset(config, remote_hw, local_dir)
    lengths, estimated = _lengths(tok_source, train, settings)
    steps = plan_steps(packed_blocks(lengths, config.max_length), config.max_length, chosen["batch_size"],
                       chosen["gradient_accumulation"], config.epochs, config.max_steps, config.warmup_ratio)
    steps.estimated = estimated
    project = catalog.project_name(config, run_id) if catalog.is_spaces(hardware) else LOCAL_PROJECT
    notes = steps.notes + caveats(config, bool(valid))
    if estimated:
        notes.append(f"The tokenizer of {config.base_model} is not available here: step counts are estimated.")
    return AutoTrainPlan(hardware=hardware, base_model=base_model, project_name=project, chosen=chosen, steps=steps,
                         params=autotrain_params(config, chosen, steps), train=train, valid=valid, notes=notes)


def _base_for(config: TrainConfig, settings: Settings, hardware: str) -> tuple[str, str | None]:
    """(what AutoTrain loads, where the studio reads the tokenizer to count tokens)."""
    from pathlib import Path

    from studio.models.loader import base_path
    from studio.train.model_card import hub_base_id

    remote = hardware.startswith("spaces-")
    if config.base_model == "embedded":
        local = base_path("embedded", settings)
        return (hub_base_id("embedded") if remote else local), local
    if Path(config.base_model).expanduser().is_dir():
        if remote:
            raise AutoTrainPlanError(f"base_model {config.base_model} is a folder on this machine; a training Space "
                                     "cannot read it. Use a hub id (or 'embedded') for spaces-* hardware.")
        local = str(Path(config.base_model).expanduser().resolve())
        return local, local
    return config.base_model, config.base_model


def _lengths(tok_source: str | None, convs: list[list[dict]], settings: Settings) -> tuple[list[tuple[int, int]], bool]:
    if tok_source:
        try:
            return conversation_lengths(load_tokenizer(tok_source, settings), convs), False
        except (OSError, ValueError):  # a hub id while offline: estimate rather than refuse
            pass
    return estimated_lengths(convs), True


def autotrain_preview(config: TrainConfig, settings: Settings) -> str:
    """The YAML the run would use, with the step count and every adjustment as comments (for the Train tab)."""
    from studio.train.training_data import DatasetProblem

    data_dir = "<run folder>/autotrain/data"
    try:
        plan = build_plan(config, settings)
    except (DatasetProblem, AutoTrainPlanError, ValueError, OSError) as exc:
        return preview_header([f"Cannot build the AutoTrain config yet: {exc}".replace("\n", " ")])
    header = [f"AutoTrain Advanced {AUTOTRAIN_VERSION}, hardware {plan.hardware}", plan.summary(), *plan.notes]
    if plan.remote:
        header.append(catalog.cost_line(plan.hardware))
        header.append(f"${{{TOKEN_ENV}}} and ${{{USERNAME_ENV}}} are read from the environment at launch.")
    return preview_header(header) + plan.yaml_text(data_dir)


def preset_hardware(hardware: str):
    """The remote GPU as a presets.Hardware, so the same preset logic picks precision and batch."""
    from studio.train.presets import Hardware, cpu_cores

    spec = catalog.SPACE_HARDWARE[hardware]
    return Hardware(device="cuda", name=spec.label, cpu_cores=cpu_cores(), total_memory_gb=float(spec.gpu_memory_gb),
                    free_memory_gb=float(spec.gpu_memory_gb), bf16=spec.bf16)
