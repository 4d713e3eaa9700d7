"""The adapter's README.md: what it was trained from, how, how well, and what it must not be used for.

Never contains a token: the text is built only from the config (which holds no secrets), the data
statistics and the metrics, and passes through ``redact`` before it is written or pushed.
"""

from __future__ import annotations

from typing import Any

import yaml

from studio.train.config import TrainConfig
from studio.util.redact import redact

EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"

SAFETY_SCOPE = """\
## Intended use and safety scope

This adapter tunes a supportive **AI companion for people in ketamine-assisted therapy** (KAT). It is an
AI companion, **not a therapist or medical provider**. Its scope is preparation, integration,
psychoeducation and everyday coping, always alongside a human care team.

It must not be used to:
- give dosing, timing or medication advice, or suggest changing any medication: those questions belong
  to the person's prescribing clinician or care team;
- diagnose, or replace assessment and treatment by licensed professionals;
- handle emergencies. In a crisis in the US, call or text **988** (Suicide & Crisis Lifeline, chat at
  988lifeline.org) or call **911**; elsewhere, the local emergency number.

Small models can be wrong or inconsistent. Deploy it only behind the studio's crisis gate and output
guard, review its replies with clinicians before real use, and never present it as a clinician.
"""


def hub_base_id(base_model: str) -> str:
    """The base model as others can find it (the embedded model's public hub id)."""
    return EMBEDDED_HUB_ID if base_model == "embedded" else base_model


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value in (None, "") else str(value)


def build_model_card(config: TrainConfig, chosen: dict[str, Any], data_stats: dict[str, Any],
                     final: dict[str, Any], run_id: str, status: dict[str, Any] | None = None) -> str:
    status = status or {}
    base = hub_base_id(config.base_model)
    front = {"base_model": base, "library_name": "peft", "pipeline_tag": "text-generation",
             "tags": ["lora", config.method, "trl", "companion-studio", "ketamine-assisted-therapy"]}
    hyper = {
        "method": config.method + (f" (beta {config.beta})" if config.method == "dpo" else ""),
        "started from adapter": config.init_adapter or "fresh LoRA",
        "learning rate": config.learning_rate, "epochs": config.epochs, "max steps": config.max_steps,
        "batch size": chosen.get("batch_size"), "gradient accumulation": chosen.get("gradient_accumulation"),
        "max length": config.max_length, "LoRA r / alpha / dropout": f"{config.lora.r} / {config.lora.alpha} / {config.lora.dropout}",
        "target modules": config.lora.target_modules, "scheduler": config.lr_scheduler,
        "warmup ratio": config.warmup_ratio, "precision": chosen.get("precision"),
        "quantization": chosen.get("quantization"), "loss on assistant tokens only": config.assistant_only_loss,
        "seed": config.seed,
    }
    data = {
        "dataset": config.dataset if "/" not in config.dataset else config.dataset.rsplit("/", 1)[-1],
        "training conversations": data_stats.get("conversations"),
        "eval conversations": data_stats.get("eval_conversations"),
        "assistant turns": data_stats.get("assistant_turns"),
        "tokens (trained)": f"{data_stats.get('tokens')} ({data_stats.get('trained_tokens')})",
        "truncated / dropped": f"{data_stats.get('truncated')} / {data_stats.get('dropped')}",
    }
    results = {"final training loss": final.get("loss"), "final eval loss": final.get("eval_loss"),
               **({"final reward margin": final.get("reward_margin"), "final reward accuracy": final.get("reward_accuracy")}
                  if config.method == "dpo" else {}),
               "optimizer steps": status.get("step"), "training time (s)": status.get("train_runtime_s")}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# Companion adapter `{run_id}`", "",
             f"A LoRA adapter for [{base}](https://huggingface.co/{base}) trained with Companion Studio "
             f"(TRL {config.method.upper()} + PEFT).", "", SAFETY_SCOPE, "## Training data", "", *_table(data), "",
             "## Hyperparameters", "", *_table(hyper), "", "## Results", "", *_table(results), "",
             "## Use", "", "```python", "from peft import PeftModel",
             "from transformers import AutoModelForCausalLM, AutoTokenizer", "",
             f'base = AutoModelForCausalLM.from_pretrained("{base}")',
             'model = PeftModel.from_pretrained(base, "<this repo or folder>")',
             f'tokenizer = AutoTokenizer.from_pretrained("{base}")', "```", ""]
    return redact("\n".join(lines))


def _table(rows: dict[str, Any]) -> list[str]:
    return ["| | |", "|---|---|", *(f"| {k} | {_fmt(v)} |" for k, v in rows.items())]
