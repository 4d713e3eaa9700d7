"""The Train tab's form as plain data: widget values <-> TrainConfig, and the equivalent command.

Kept out of the UI package so it is testable without gradio and so the mapping lives in one place.
Numbers arrive as floats from number boxes; 0 in an "auto" box means "let the preset decide".
"""

from __future__ import annotations

import shlex
from typing import Any

from studio.train.config import TrainConfig

# Form field names, in the order the tab lays them out. Advanced ones are inside an accordion.
COMMON = ("dataset", "base_model", "backend", "method", "beta", "init_adapter", "preset", "epochs", "max_steps",
          "learning_rate", "batch_size", "max_length", "lora_r")
ADVANCED = ("gradient_accumulation", "lora_alpha", "lora_dropout", "target_modules", "quantization",
            "assistant_only_loss", "eval_fraction", "seed", "save_steps", "warmup_ratio", "lr_scheduler",
            "weight_decay", "group_by_length", "run_name", "hub_push", "hub_repo_id", "hub_private", "hub_merged")
AUTOTRAIN = ("autotrain_hardware", "autotrain_username")  # shown while backend is autotrain
JOBS = ("jobs_flavor", "jobs_timeout", "jobs_namespace")  # shown while backend is hf-jobs
FIELDS = COMMON + ADVANCED + AUTOTRAIN + JOBS
_AUTO_ZERO = ("max_steps", "batch_size", "gradient_accumulation")
_INTS = ("max_steps", "batch_size", "gradient_accumulation", "max_length", "lora_r", "lora_alpha", "seed", "save_steps")


def _clean(name: str, value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    if name in _AUTO_ZERO and value in (0, 0.0, "", None):
        return None
    if name in _INTS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def config_from_form(values: dict[str, Any]) -> TrainConfig:
    """Build (and validate) a TrainConfig from the form; raises ConfigError listing every problem."""
    v = {name: _clean(name, values.get(name)) for name in FIELDS if name in values}
    modules = v.pop("target_modules", None) or "all-linear"
    if modules != "all-linear":
        modules = [m.strip() for m in str(modules).replace(" ", ",").split(",") if m.strip()]
    lora = {"r": v.pop("lora_r", None), "alpha": v.pop("lora_alpha", None), "dropout": v.pop("lora_dropout", None),
            "target_modules": modules}
    hub = {"push": bool(v.pop("hub_push", False)), "repo_id": v.pop("hub_repo_id", None) or None,
           "private": v.pop("hub_private", True) is not False, "merged": bool(v.pop("hub_merged", False))}
    sections = {"lora": {k: x for k, x in lora.items() if x is not None}, "hub": hub, **_backend_sections(v)}
    data = {k: val for k, val in v.items() if val is not None or k in _AUTO_ZERO}
    for optional in ("run_name", "init_adapter"):  # an empty box means "not set"
        if not data.get(optional):
            data.pop(optional, None)
    return TrainConfig.from_dict({**data, **sections})  # validated once, every problem listed


def _backend_sections(v: dict[str, Any]) -> dict[str, dict]:
    """The AutoTrain and Jobs boxes (popped from ``v``); a form without them keeps the config's defaults."""
    sections: dict[str, dict] = {}
    autotrain = {name: v.pop(name) for name in AUTOTRAIN if name in v}
    if autotrain:
        sections["autotrain"] = {"hardware": autotrain.get("autotrain_hardware") or "local",
                                 "username": autotrain.get("autotrain_username") or None}
    jobs = {name: v.pop(name) for name in JOBS if name in v}
    if jobs:
        sections["jobs"] = {"flavor": jobs.get("jobs_flavor") or "a10g-small",
                            "timeout": str(jobs.get("jobs_timeout") or "2h"), "namespace": jobs.get("jobs_namespace") or None}
    return sections


def form_from_config(config: TrainConfig) -> dict[str, Any]:
    """Widget values for a config (e.g. to reload a run's settings into the form)."""
    d = config.to_dict()
    lora, hub, autotrain, jobs = d.pop("lora"), d.pop("hub"), d.pop("autotrain"), d.pop("jobs")
    out = {k: d.get(k) for k in FIELDS if k in d}
    out.update(lora_r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
               target_modules=lora["target_modules"] if isinstance(lora["target_modules"], str)
               else ", ".join(lora["target_modules"]),
               hub_push=hub["push"], hub_repo_id=hub["repo_id"] or "", hub_private=hub["private"], hub_merged=hub["merged"],
               autotrain_hardware=autotrain["hardware"], autotrain_username=autotrain["username"] or "",
               jobs_flavor=jobs["flavor"], jobs_timeout=jobs["timeout"], jobs_namespace=jobs["namespace"] or "")
    for name in _AUTO_ZERO:
        out[name] = out.get(name) or 0
    out["run_name"] = out.get("run_name") or ""
    out["init_adapter"] = out.get("init_adapter") or ""
    return out


def command_for(config_file: str = "companion.yaml") -> str:
    return f"python -m studio train --config {shlex.quote(config_file)} --json"
