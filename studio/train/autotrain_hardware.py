"""AutoTrain's leaf facts: its version, the environment names its YAML reads, and the Space hardware catalogue.

Plain data and small pure functions with no studio imports at module level, so the plan,
the job and the Spaces follower can all import it without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type only: config itself reads the catalogue below
    from studio.train.config import TrainConfig

AUTOTRAIN_VERSION = "0.8.36"
TOKEN_ENV, USERNAME_ENV = "HF_TOKEN", "HF_USERNAME"  # what the YAML's ${...} placeholders read at launch


@dataclass(frozen=True)
class SpaceHardware:
    label: str
    gpus: int
    gpu_memory_gb: int  # per GPU
    bf16: bool
    usd_per_hour: float  # list price on huggingface.co/docs/hub/spaces-gpus (check before relying on it)


SPACE_HARDWARE: dict[str, SpaceHardware] = {
    "spaces-t4-small": SpaceHardware("Nvidia T4 small", 1, 16, False, 0.40),
    "spaces-t4-medium": SpaceHardware("Nvidia T4 medium", 1, 16, False, 0.60),
    "spaces-l4x1": SpaceHardware("1x Nvidia L4", 1, 24, True, 0.80),
    "spaces-l4x4": SpaceHardware("4x Nvidia L4", 4, 24, True, 3.80),
    "spaces-a10g-small": SpaceHardware("Nvidia A10G small", 1, 24, True, 1.00),
    "spaces-a10g-large": SpaceHardware("Nvidia A10G large", 1, 24, True, 1.50),
    "spaces-a10g-largex2": SpaceHardware("2x Nvidia A10G large", 2, 24, True, 3.00),
    "spaces-a10g-largex4": SpaceHardware("4x Nvidia A10G large", 4, 24, True, 5.00),
    "spaces-a100-large": SpaceHardware("Nvidia A100 large", 1, 80, True, 4.00),
    "spaces-l40sx1": SpaceHardware("1x Nvidia L40S", 1, 48, True, 1.80),
    "spaces-l40sx4": SpaceHardware("4x Nvidia L40S", 4, 48, True, 8.30),
    "spaces-l40sx8": SpaceHardware("8x Nvidia L40S", 8, 48, True, 23.50),
}


def is_spaces(hardware: str) -> bool:
    return hardware.startswith("spaces-")


def project_name(config: TrainConfig, run_id: str | None) -> str:
    """AutoTrain's project name = the model repo name: alphanumeric and hyphens, at most 50 characters."""
    raw = config.hub.repo_id.split("/", 1)[1] if config.hub.repo_id else f"companion-{run_id or 'RUN-ID'}"
    name = re.sub(r"[^A-Za-z0-9-]+", "-", raw).strip("-")[:50].strip("-")
    return name or "companion-adapter"


def cost_line(hardware: str) -> str:
    spec = SPACE_HARDWARE[hardware]
    return (f"{spec.label} ({spec.gpus} x {spec.gpu_memory_gb} GB): about ${spec.usd_per_hour:.2f}/hour while the "
            "training Space runs, billed to the token's account; AutoTrain pauses the Space when training ends.")
