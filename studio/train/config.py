"""TrainConfig: one training run described as a dataclass that round-trips to YAML.

The same object is built by the Train tab, read from ``--config FILE`` by the CLI and written to
``<run>/config.yaml``. Unknown keys are errors (a typo must not silently fall back to a default),
and every check says what to change. Secrets never live here: the Hub token comes from the
environment or from memory at push time.
"""

from __future__ import annotations

import difflib
import math
import re
import reprlib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from studio.train.autotrain_hardware import SPACE_HARDWARE
from studio.util.errors import UserError

BACKENDS = ("trl", "hf-jobs", "autotrain")  # the Train tab lists them in this order
METHODS = ("sft", "dpo")
PRESETS = ("auto", "cpu", "gpu", "gpu-qlora")
QUANTIZATIONS = ("auto", "none", "4bit", "8bit")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")
MAX_BATCH = 1024  # examples per device step; larger only exhausts memory (the run caps it at the dataset size too)
# Keys people may reach for that must never be stored in a config file.
_SECRET_KEYS = {"token", "hf_token", "password", "api_key"}


class ConfigError(UserError, ValueError):
    """Invalid training config; ``problems`` lists every issue found, each one actionable."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("Invalid training config:\n- " + "\n- ".join(self.problems))


def _help(text: str, default: Any = MISSING, factory: Any = MISSING) -> Any:
    if factory is not MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class LoraConfig:
    r: int = _help("LoRA rank: capacity of the adapter (8-64 typical).", 16)
    alpha: int = _help("LoRA scaling numerator (often 2 x r).", 32)
    dropout: float = _help("Dropout on the LoRA path (0-0.5).", 0.05)
    target_modules: str | list[str] = _help("'all-linear' or a list of module names, e.g. [q_proj, v_proj].", "all-linear")

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.r, int) or not 1 <= self.r <= 1024:
            out.append(f"lora.r must be a whole number from 1 to 1024 (got {_show(self.r)}); 16 is a good start.")
        if not isinstance(self.alpha, int | float) or self.alpha <= 0:
            out.append(f"lora.alpha must be a positive number (got {_show(self.alpha)}); 2 x r is common.")
        if not isinstance(self.dropout, int | float) or not 0 <= self.dropout < 1:
            out.append(f"lora.dropout must be from 0 up to (not including) 1 (got {_show(self.dropout)}).")
        tm = self.target_modules
        if not (tm == "all-linear" or (isinstance(tm, list) and tm and all(isinstance(m, str) and m for m in tm))):
            out.append("lora.target_modules must be 'all-linear' or a non-empty list of module names such as [q_proj, v_proj].")
        return out


@dataclass
class HubConfig:
    push: bool = _help("Push the adapter (or merged model) to the Hub when training succeeds.", False)
    repo_id: str | None = _help("Target repo, e.g. your-name/companion-lora. Needed when push is true.", None)
    private: bool = _help("Create the repo private (recommended for clinical projects).", True)
    merged: bool = _help("Push the merged full model instead of the small adapter.", False)

    def problems(self) -> list[str]:
        out = []
        if self.push and not self.repo_id:
            out.append("hub.repo_id is required when hub.push is true (e.g. your-name/companion-lora).")
        if self.repo_id and (self.repo_id.count("/") != 1 or " " in self.repo_id):
            out.append(f"hub.repo_id must look like 'owner/name' (got {_show(self.repo_id)}).")
        return out


# Where AutoTrain trains: "local" (this machine, isolated venv) or a private GPU Space that AutoTrain creates.
AUTOTRAIN_HARDWARE = ("local", *SPACE_HARDWARE)
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")  # a run folder's name (runs.py and init_adapter)


@dataclass
class AutoTrainConfig:
    hardware: str = _help("'local' (this machine) or a paid Space GPU such as spaces-t4-medium or spaces-a10g-large.", "local")
    username: str | None = _help("Hugging Face user/org that owns the training Space (spaces-* only; "
                                 "default: the Space author).", None)

    def problems(self) -> list[str]:
        out = []
        if self.hardware not in AUTOTRAIN_HARDWARE:
            near = difflib.get_close_matches(str(self.hardware), AUTOTRAIN_HARDWARE, n=1)
            hint = f" Did you mean {near[0]}?" if near else ""
            out.append(f"autotrain.hardware must be one of {', '.join(AUTOTRAIN_HARDWARE)} (got {_show(self.hardware)}).{hint}")
        if self.username is not None and (not isinstance(self.username, str) or "/" in self.username
                                          or not self.username.strip()):
            out.append(f"autotrain.username must be a Hugging Face user or organization name (got {_show(self.username)}).")
        return out


# Hugging Face Jobs (backend hf-jobs): the flavor itself is checked before launch against
# list_jobs_hardware (studio.train.hf_jobs_plan), since the Hub adds flavors; here only its shape.
_TIMEOUT = re.compile(r"^\d+(\.\d+)?[smhd]?$")


@dataclass
class JobsConfig:
    flavor: str = _help("Jobs hardware flavor, e.g. t4-small, l4x1, a10g-small, a100-large "
                        "(`python -m studio train --config F --backend hf-jobs --dry-run` lists them with prices).",
                        "a10g-small")
    timeout: str = _help("Longest the job may run before the Hub stops it: seconds, or a number with s, m, h or d "
                         "(e.g. 90m, 2h). Billing stops when the job ends, whichever comes first.", "2h")
    namespace: str | None = _help("User or organization the job runs (and bills) under; empty = the token's user.", None)

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.flavor, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,40}", self.flavor):
            out.append(f"jobs.flavor must be a hardware name such as a10g-small or l4x1 (got {_show(self.flavor)}).")
        if not isinstance(self.timeout, str | int | float) or isinstance(self.timeout, bool) \
                or not _TIMEOUT.match(str(self.timeout)) or float(str(self.timeout).rstrip("smhd")) <= 0:
            out.append(f"jobs.timeout must be seconds or a number with s, m, h or d, e.g. 90m or 2h "
                       f"(got {_show(self.timeout)}).")
        if self.namespace is not None and (not isinstance(self.namespace, str) or "/" in self.namespace
                                           or not self.namespace.strip()):
            out.append(f"jobs.namespace must be a Hugging Face user or organization name (got {_show(self.namespace)}).")
        return out


@dataclass
class TrainConfig:
    dataset: str = _help("Path to a JSONL file (messages format) or the name of a stored dataset.", "")
    backend: str = _help("Training engine: 'trl' (in-process), 'hf-jobs' (TRL on a Hugging Face Jobs GPU, billed "
                         "per minute) or 'autotrain'.", "trl")
    method: str = _help("'sft' learns from conversations (messages JSONL); 'dpo' learns from preference pairs "
                        "(prompt/chosen/rejected JSONL, see `python -m studio data preferences`).", "sft")
    beta: float = _help("DPO only: how far the adapter may move from its starting point (higher = stays closer); "
                        "0.1 is typical.", 0.1)
    init_adapter: str | None = _help("Start from this run's adapter (a run id) instead of a fresh LoRA; its base model "
                                     "must be this run's base_model. For dpo it is also the reference.", None)
    base_model: str = _help("'embedded' (the packaged SmolLM2-135M), a hub id or a local model folder.", "embedded")
    eval_dataset: str | None = _help("Optional held-out dataset (path or stored name).", None)
    eval_fraction: float = _help("Fraction of the training data held out for eval when no eval_dataset (0 = none).", 0.0)
    preset: str = _help("Hardware preset: auto, cpu, gpu or gpu-qlora.", "auto")
    epochs: float = _help("Passes over the data (ignored when max_steps is set).", 1.0)
    max_steps: int | None = _help("Stop after this many optimizer steps (overrides epochs).", None)
    learning_rate: float = _help("Peak learning rate; 1e-4 to 3e-4 is typical for LoRA.", 2e-4)
    batch_size: int | None = _help("Examples per device step; empty = chosen by the preset.", None)
    gradient_accumulation: int | None = _help("Steps accumulated per optimizer step; empty = chosen by the preset.", None)
    max_length: int = _help("Longest conversation in tokens; longer ones are truncated.", 512)
    lora: LoraConfig = _help("LoRA adapter settings.", factory=LoraConfig)
    quantization: str = _help("Base weights: auto (preset decides), none, 4bit (QLoRA) or 8bit. GPU only.", "auto")
    assistant_only_loss: bool = _help("Learn only from the assistant's words (and their end-of-turn token).", True)
    seed: int = _help("Random seed for shuffling, splits and LoRA init.", 42)
    save_steps: int = _help("Save a resumable checkpoint every N optimizer steps.", 50)
    logging_steps: int = _help("Log loss every N optimizer steps.", 1)
    eval_steps: int | None = _help("Evaluate every N steps (empty = same as save_steps).", None)
    warmup_ratio: float = _help("Fraction of steps spent warming the learning rate up.", 0.0)
    lr_scheduler: str = _help("Learning-rate schedule: linear, cosine, constant, constant_with_warmup.", "cosine")
    weight_decay: float = _help("AdamW weight decay.", 0.0)
    group_by_length: bool = _help("Batch conversations of similar length together (less padding, faster).", True)
    run_name: str | None = _help("Optional label shown in the run history.", None)
    region: str | None = _help("Region that {crisis_line} and other dataset placeholders are rendered for: US, UK, IE, "
                               "CA, AU, NZ or INTL (empty = the studio's STUDIO_REGION).", None)
    hub: HubConfig = _help("Push to the Hugging Face Hub.", factory=HubConfig)
    autotrain: AutoTrainConfig = _help("AutoTrain backend settings (used when backend is autotrain).",
                                       factory=AutoTrainConfig)
    jobs: JobsConfig = _help("Hugging Face Jobs settings (used when backend is hf-jobs).", factory=JobsConfig)

    def __post_init__(self) -> None:
        self._coerce()
        problems = self.problems()
        if problems:
            raise ConfigError(problems)

    # --- validation -------------------------------------------------------------------------------
    def _coerce(self) -> None:
        """YAML reads `2e-4` as a string and the UI sends floats for ints; normalise both."""
        for f in fields(self):  # nested sections given as plain dicts (e.g. TrainConfig(lora={...}))
            value = getattr(self, f.name)
            if isinstance(value, dict) and hasattr(f.default_factory, "__dataclass_fields__"):
                setattr(self, f.name, _build(f.default_factory, value, prefix=f"{f.name}."))
        for name in ("learning_rate", "eval_fraction", "epochs", "warmup_ratio", "weight_decay", "beta"):
            value = getattr(self, name)
            if isinstance(value, str):
                try:
                    setattr(self, name, float(value))
                except ValueError:
                    pass  # reported by problems()
        for name in ("max_steps", "batch_size", "gradient_accumulation", "max_length", "seed", "save_steps",
                     "logging_steps", "eval_steps"):
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():
                setattr(self, name, int(value))
        for holder, name in ((self.lora, "r"), (self.lora, "alpha")):
            value = getattr(holder, name)
            if isinstance(value, float) and value.is_integer():
                setattr(holder, name, int(value))
        if isinstance(self.init_adapter, str) and not self.init_adapter.strip():
            self.init_adapter = None  # an empty box in the form means "fresh LoRA"
        if isinstance(self.lora.target_modules, tuple):
            self.lora.target_modules = list(self.lora.target_modules)

    def problems(self) -> list[str]:
        out: list[str] = []
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            out.append("dataset is required: a JSONL path (messages format) or a stored dataset name.")
        _choice(out, "backend", self.backend, BACKENDS)
        _choice(out, "method", self.method, METHODS)
        _number(out, "beta", self.beta, 0, 10, "0.1 is typical for DPO", open_low=True)
        out += _init_adapter_problems(self.init_adapter)
        if self.method == "dpo" and self.backend == "autotrain":
            out.append("method dpo runs on backend trl only. AutoTrain Advanced 0.8.36 (llm-dpo) always starts a fresh "
                       "LoRA from the base (no init_adapter), reads its own data layout and pins TRL 0.13; "
                       "use backend: trl for preference training.")
        elif self.init_adapter and self.backend == "autotrain":
            out.append("init_adapter needs backend trl: AutoTrain always starts a fresh LoRA from the base model.")
        _choice(out, "preset", self.preset, PRESETS)
        _choice(out, "quantization", self.quantization, QUANTIZATIONS)
        _choice(out, "lr_scheduler", self.lr_scheduler, SCHEDULERS)
        if not isinstance(self.base_model, str) or not self.base_model.strip():
            out.append("base_model is required: 'embedded', a hub id or a local model folder.")
        _number(out, "learning_rate", self.learning_rate, 0, 1, "1e-4 to 3e-4 is typical for LoRA", open_low=True)
        _number(out, "eval_fraction", self.eval_fraction, 0, 0.5, "use 0.05-0.2, or 0 for no eval split")
        _number(out, "epochs", self.epochs, 0, 1000, "1-3 passes is typical", open_low=True)
        _number(out, "warmup_ratio", self.warmup_ratio, 0, 0.5, "0-0.1 is typical")
        _number(out, "weight_decay", self.weight_decay, 0, 1, "0 or 0.01 is typical")
        _whole(out, "max_length", self.max_length, 16, 131072, "512-2048 covers most conversations")
        _whole(out, "seed", self.seed, 0, 2**32 - 1)
        _whole(out, "save_steps", self.save_steps, 1, 10**7)
        _whole(out, "logging_steps", self.logging_steps, 1, 10**7)
        for name in ("max_steps", "gradient_accumulation", "eval_steps"):
            if getattr(self, name) is not None:
                _whole(out, name, getattr(self, name), 1, 10**7, "leave empty for the default")
        if self.batch_size is not None:
            _whole(out, "batch_size", self.batch_size, 1, MAX_BATCH, "leave empty for the preset's choice")
        if self.eval_dataset is not None and not isinstance(self.eval_dataset, str):
            out.append("eval_dataset must be a path or a stored dataset name.")
        if self.eval_dataset and isinstance(self.eval_fraction, int | float) and self.eval_fraction > 0:
            out.append("Set either eval_dataset or eval_fraction, not both.")
        if self.region is not None:
            out += _region_problems(self.region)
        if self.run_name is not None and (not isinstance(self.run_name, str) or len(self.run_name) > 200):
            out.append(f"run_name must be a short label (text up to 200 characters), got {_show(self.run_name)}.")
        for flag in ("assistant_only_loss", "group_by_length"):
            if not isinstance(getattr(self, flag), bool):
                out.append(f"{flag} must be true or false (got {_show(getattr(self, flag))}).")
        if self.backend == "hf-jobs" and self.init_adapter:
            out.append("init_adapter needs backend trl: an hf-jobs run starts from the base model (the job cannot "
                       "read this studio's run folders).")
        out += self.lora.problems() + self.hub.problems() + self.autotrain.problems() + self.jobs.problems()
        if self.preset == "cpu" and self.quantization in ("4bit", "8bit"):
            out.append("quantization 4bit/8bit needs a GPU (bitsandbytes); use quantization: none with preset cpu.")
        return out

    # --- YAML / dict round-trip -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self, redact_secrets: bool = True) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if redact_secrets:
            from studio.util.redact import redact

            text = redact(text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainConfig:
        return _build(cls, data or {}, prefix="")

    @classmethod
    def from_yaml(cls, text: str) -> TrainConfig:
        if len(text) > MAX_CONFIG_CHARS:
            raise ConfigError([f"The config is {len(text):,} characters; a training config is a few dozen lines "
                               f"(at most {MAX_CONFIG_CHARS:,} characters)."])
        try:
            data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader that also refuses aliases)
        except yaml.YAMLError as exc:
            raise ConfigError([f"The config is not valid YAML: {_clip(str(exc))}"]) from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(["The config must be a mapping of keys to values (key: value lines)."])
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            if path.stat().st_size > 4 * MAX_CONFIG_CHARS:
                raise ConfigError([f"Config file {path} is {path.stat().st_size:,} bytes; a training config is a few dozen lines."])
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"Config file {path} does not exist."]) from None
        except OSError as exc:
            raise ConfigError([f"Config file {path} cannot be read: {exc.strerror or exc}."]) from None
        return cls.from_yaml(text)

    def save(self, path: str | Path) -> None:
        from studio.util.io import atomic_write_text

        atomic_write_text(path, self.to_yaml(redact_secrets=True))

    def replace(self, **changes: Any) -> TrainConfig:
        data = self.to_dict()
        data.update(changes)
        return TrainConfig.from_dict(data)


MAX_CONFIG_CHARS = 64_000
_SHOW = reprlib.Repr()
_SHOW.maxstring, _SHOW.maxother, _SHOW.maxlevel = 60, 60, 2


def _show(value: Any) -> str:
    """A value for an error message, truncated: a config can hold anything, and the message must stay short."""
    return _SHOW.repr(value)


def _clip(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a config needs none, and nested aliases expand to billions of nodes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a training config", mark)
        return super().compose_node(parent, index)


def _build(cls: type, data: dict[str, Any], prefix: str):
    """Instantiate ``cls`` from a dict: nested dataclasses recurse, unknown keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError([f"{prefix.rstrip('.') or 'config'} must be a mapping (key: value lines)."])
    known = {f.name: f for f in fields(cls)}
    problems = []
    for key in data:
        if key in known:
            continue
        if str(key).lower() in _SECRET_KEYS:
            problems.append(f"'{prefix}{key}' is not allowed: secrets are never stored in configs. "
                            "Set HF_TOKEN in the environment or type the token in the export box.")
            continue
        near = difflib.get_close_matches(str(key), known, n=1)
        hint = f" Did you mean '{prefix}{near[0]}'?" if near else f" Known keys: {', '.join(known)}."
        problems.append(f"Unknown key '{prefix}{_clip(str(key), 80)}'.{hint}")
    if problems:
        raise ConfigError(problems)
    kwargs = {}
    for name, value in data.items():
        nested = known[name].default_factory
        if nested is not MISSING and hasattr(nested, "__dataclass_fields__"):
            value = _build(nested, value if value is not None else {}, prefix=f"{prefix}{name}.")
        kwargs[name] = value
    return cls(**kwargs)


def _choice(out: list[str], name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        out.append(f"{name} must be one of {', '.join(allowed)} (got {_show(value)}).")


def _number(out: list[str], name: str, value: Any, low: float, high: float, hint: str = "", open_low: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and value <= high
    if not ok:
        bound = f"above {low}" if open_low else f"from {low}"
        out.append(f"{name} must be a number {bound} up to {high} (got {_show(value)})" + (f"; {hint}." if hint else "."))


def _whole(out: list[str], name: str, value: Any, low: int, high: int, hint: str = "") -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        out.append(f"{name} must be a whole number from {low} to {high} (got {_show(value)})" + (f"; {hint}." if hint else "."))


def _init_adapter_problems(value: Any) -> list[str]:
    """The run id's shape only: whether the run exists, and fits the base, needs the data dir (train.init_adapter)."""
    if value is None:
        return []
    if not isinstance(value, str) or not RUN_ID.match(value):
        return [f"init_adapter must be a run id such as run-20260101-120000-ab12 (got {_show(value)}); "
                "leave it empty to start from a fresh LoRA."]
    return []


def _region_problems(region: Any) -> list[str]:
    from studio.data.placeholders import PlaceholderError, region_code

    if not isinstance(region, str) or not region.strip():
        return ["region must be a region code such as US or UK, or left empty for STUDIO_REGION."]
    try:
        region_code(region)
    except PlaceholderError as exc:
        return [f"region: {exc}"]
    return []
