"""Turn training failures into messages a person can act on, and check that something was learned."""

from __future__ import annotations

import errno
from pathlib import Path

from studio.settings import Settings
from studio.util.redact import redact

_OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "defaultcpuallocator")


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MARKERS)


def is_out_of_disk(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "no space left on device" in str(exc).lower()


def explain_failure(exc: BaseException, settings: Settings) -> str:
    """One paragraph: what happened and what to do. Tokens are scrubbed."""
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted (Ctrl-C) before the run could stop cleanly. Resume it to continue from the last checkpoint."
    if is_out_of_memory(exc):
        return ("Out of memory while training. Lower batch_size or max_length (raise gradient_accumulation to keep "
                "the effective batch), or on a GPU use preset gpu-qlora (4-bit). Then resume or start again.")
    if is_out_of_disk(exc):
        return (f"Out of disk space while writing under {settings.data_dir}. Free space (old runs' checkpoints/ "
                "folders can be deleted) and resume the run.")
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0] if text else ""
    prefix = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
    return redact(prefix + first)[:1500]


def lora_b_all_zero(adapter_dir: Path) -> bool:
    """True when the saved adapter has LoRA B matrices and every one of them is zero (nothing learned)."""
    from safetensors import safe_open

    path = Path(adapter_dir) / "adapter_model.safetensors"
    if not path.is_file():
        return False
    found = False
    with safe_open(str(path), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open is not a dict
            if "lora_B" in key:
                found = True
                if handle.get_tensor(key).abs().max().item() > 0:
                    return False
    return found
