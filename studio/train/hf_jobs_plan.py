"""Before an hf-jobs run launches: is the flavor real, what does it cost per hour, how long and how much.

Prices come from ``list_jobs_hardware`` (the Hub reports them per minute; shown here per hour). When
the Hub cannot be reached, a packaged list is used and every message says so, because prices change.
The run time is an **estimate**: the dataset's tokens (characters / 4) times the epochs, divided by a
rough training throughput per flavor family (LoRA on a model of up to ~0.5B parameters; larger bases
are slower about in proportion to their size), plus a fixed start-up (image pull, dependency install,
base model download). Nothing here was measured on the real Jobs service: treat it as an order of
magnitude, and set ``jobs.timeout`` with room to spare.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from studio.settings import Settings
from studio.train.config import TrainConfig

# Packaged fallback: Jobs flavors in huggingface_hub 2.4's JobHardware, with list prices in USD per hour
# (the GPU ones are the Spaces GPU list prices, which Jobs bill the same; checked 2026-11, they change).
# None = no packaged price; the live list has it.
KNOWN_FLAVORS: dict[str, float | None] = {
    "cpu-basic": 0.01, "cpu-upgrade": 0.03, "cpu-performance": None, "cpu-xl": None,
    "t4-small": 0.40, "t4-medium": 0.60, "l4x1": 0.80, "l4x4": 3.80, "l40sx1": 1.80, "l40sx4": 8.30,
    "l40sx8": 23.50, "a10g-small": 1.00, "a10g-large": 1.50, "a10g-largex2": 3.00, "a10g-largex4": 5.00,
    "a100-large": 4.00, "a100x4": None, "a100x8": None, "h200": None, "h200x2": None, "h200x4": None,
    "h200x8": None, "rtx-pro-6000": None, "rtx-pro-6000x2": None, "rtx-pro-6000x4": None, "rtx-pro-6000x8": None,
}
# Rough training tokens per second per flavor family (one GPU; LoRA, model up to ~0.5B). An estimate, not a
# measurement: the first run's metrics.jsonl (tokens_per_second) tells the real figure for a dataset.
TOKENS_PER_SECOND = {"cpu": 150, "t4": 2500, "l4": 4500, "a10g": 5000, "l40s": 10000, "a100": 12000,
                     "h200": 25000, "rtx-pro": 15000}
STARTUP_S = 300  # image pull, `uv` installing torch and friends, base model download
SMALL_MODEL_B = 0.5
PACKAGED_SOURCE = "the studio's packaged list (the Hub was not reachable; prices change, check huggingface.co/pricing)"
LIVE_SOURCE = "list_jobs_hardware (live from the Hub)"


class JobsError(RuntimeError):
    """An hf-jobs run cannot start or be followed; the message says what to do (never contains the token)."""


@dataclass
class JobsPlan:
    flavor: str
    usd_per_hour: float | None
    price_source: str
    tokens: int
    tokens_per_second: int
    estimated_seconds: int
    estimated_cost_usd: float | None
    timeout_seconds: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        price = f"${self.usd_per_hour:.2f}/hour" if self.usd_per_hour is not None else "price unknown"
        cost = f"about ${self.estimated_cost_usd:.2f}" if self.estimated_cost_usd is not None else "cost unknown"
        text = (f"{self.flavor} at {price} (from {self.price_source}); {self.tokens:,} tokens to train, estimated "
                f"{_minutes(self.estimated_seconds)} including ~{STARTUP_S // 60} min start-up, {cost} "
                f"(timeout {_minutes(self.timeout_seconds)}). The time and cost are estimates.")
        return text + "".join(f"\n⚠️ {w}" for w in self.warnings)


def timeout_seconds(value: str | int | float) -> int:
    """'90m' / '2h' / '3600' -> seconds (the same units run_uv_job accepts)."""
    text = str(value).strip()
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], 1)
    return int(float(text.rstrip("smhd")) * scale)


def hardware_table(api: Any, token: str | None) -> tuple[dict[str, float | None], str]:
    """(flavor -> USD per hour, where that came from): live from the Hub, else the packaged list."""
    try:
        listed = api.list_jobs_hardware(token=token)
    except Exception:  # offline, or the Hub refused: fall back, and say so in every message
        return dict(KNOWN_FLAVORS), PACKAGED_SOURCE
    table: dict[str, float | None] = {}
    for hw in listed:
        per_unit = getattr(hw, "unit_cost_usd", None)
        unit = str(getattr(hw, "unit_label", "minute") or "minute")
        per_hour = {"second": 3600, "minute": 60, "hour": 1}.get(unit)
        table[hw.name] = round(per_unit * per_hour, 4) if per_unit is not None and per_hour else None
    return (table, LIVE_SOURCE) if table else (dict(KNOWN_FLAVORS), PACKAGED_SOURCE)


def check_flavor(flavor: str, table: dict[str, float | None], source: str) -> None:
    if flavor not in table:
        raise JobsError(f"jobs.flavor {flavor!r} is not a Jobs hardware flavor. Valid flavors (from {source}): "
                        f"{', '.join(table)}.")


def family(flavor: str) -> str:
    for name in sorted(TOKENS_PER_SECOND, key=len, reverse=True):
        if flavor.startswith(name):
            return name
    return "cpu"


def model_billions(base_model: str) -> float:
    """Parameters in billions read from a hub id such as SmolLM2-1.7B-Instruct (embedded: 0.135)."""
    if base_model == "embedded":
        return 0.135
    match = re.search(r"(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", base_model.lower())
    if not match:
        return SMALL_MODEL_B
    return float(match.group(1)) / (1000 if match.group(2) == "m" else 1)


def dataset_tokens(config: TrainConfig, settings: Settings) -> int:
    """Tokens trained, estimated as the text's characters / 4 times the passes (or steps x batch)."""
    from studio.train.training_data import resolve_dataset

    path = resolve_dataset(config.dataset, settings)
    chars, rows = 0, 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows += 1
                chars += _text_chars(json.loads(line))
    per_row = chars / 4 / max(rows, 1)
    if config.max_steps:
        batch = (config.batch_size or 8) * (config.gradient_accumulation or 1)
        return int(per_row * config.max_steps * batch)
    return int(chars / 4 * config.epochs)


def _text_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_chars(v) for v in value.values())
    if isinstance(value, list):
        return sum(_text_chars(v) for v in value)
    return 0


def build_plan(config: TrainConfig, settings: Settings, api: Any) -> JobsPlan:
    """Check the flavor (JobsError lists the valid ones) and estimate time and cost."""
    table, source = hardware_table(api, settings.hf_token)
    flavor = config.jobs.flavor
    check_flavor(flavor, table, source)
    price = table.get(flavor)
    if price is None and flavor in KNOWN_FLAVORS and KNOWN_FLAVORS[flavor] is not None:
        price, source = KNOWN_FLAVORS[flavor], PACKAGED_SOURCE
    tokens = dataset_tokens(config, settings)
    speed = max(1, int(TOKENS_PER_SECOND[family(flavor)] / max(1.0, model_billions(config.base_model) / SMALL_MODEL_B)))
    seconds = STARTUP_S + int(tokens / speed)
    limit = timeout_seconds(config.jobs.timeout)
    warnings = []
    if seconds > limit:
        warnings.append(f"The estimate ({_minutes(seconds)}) is longer than jobs.timeout ({_minutes(limit)}): the job "
                        "would be stopped before it finishes. Raise jobs.timeout, choose a faster flavor, or train on "
                        "fewer examples or epochs.")
    if config.preset == "cpu" and family(flavor) != "cpu":
        warnings.append("preset cpu would train on the job's CPU and leave its GPU idle: use preset auto or gpu.")
    if family(flavor) == "cpu":
        warnings.append(f"{flavor} has no GPU: training there is no faster than in-process on a CPU Space.")
    cost = round(price * seconds / 3600, 2) if price is not None else None
    return JobsPlan(flavor, price, source, tokens, speed, seconds, cost, limit, warnings)


def _minutes(seconds: int) -> str:
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{max(1, round(seconds / 60))} min"
