"""Where a report card lives, and whether a stored one still describes the model.

A card about a training run is stored with the run: ``<run>/eval/report.json``, ``report.md`` and
``answers.jsonl`` (one line per prompt, for drill-down). A card about other models goes under
``<data>/eval/<a>-vs-<b>/``. A card is *fresh* for a run while the run's adapter weights, the model
it was compared against, and the suite are what they were when it was made.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from studio.settings import Settings
from studio.util.io import atomic_write_json, atomic_write_text, read_json

WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


def is_run(model: str | None, settings: Settings) -> bool:
    return bool(model) and "/" not in model and (settings.runs_dir / model / "adapter" / "adapter_config.json").is_file()


def fingerprint(model: str, settings: Settings) -> str:
    """What identifies the weights: a run's adapter file hash, else the reference and the base setting."""
    if is_run(model, settings):
        adapter = settings.runs_dir / model / "adapter"
        weights = next((adapter / n for n in WEIGHT_FILES if (adapter / n).is_file()), None)
        if weights is None:
            from studio.eval.generate import EvalGenerationError

            raise EvalGenerationError(f"Run {model} has no adapter weights ({' or '.join(WEIGHT_FILES)}).")
        digest = hashlib.sha256()
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return f"adapter:{digest.hexdigest()[:32]}"
    if model.startswith("remote:"):  # a hosted model is what its server answers for that id there
        from studio.models.remote import RemoteError, get_remote

        try:
            remote = get_remote(model, settings)
            return f"{model}:{remote.model_id}@{remote.base_url}"
        except RemoteError:
            return model
    return f"{model}:{settings.base_model}" if model == "base" else model


def card_dir(models: list[str | None], settings: Settings) -> Path:
    first = models[0] or ""
    if is_run(first, settings):
        return settings.runs_dir / first / "eval"
    label = "-vs-".join(re.sub(r"[^A-Za-z0-9._-]", "_", m)[-40:] for m in models if m)
    return settings.data_dir / "eval" / label


def save(report: dict, answers: list[dict], settings: Settings) -> dict:
    from studio.eval.markdown import report_markdown

    folder = card_dir(report["models"], settings)
    paths = {"json": folder / "report.json", "md": folder / "report.md", "answers": folder / "answers.jsonl"}
    atomic_write_text(paths["answers"], "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers))
    atomic_write_text(paths["md"], report_markdown(report))
    result = {k: str(v) for k, v in paths.items()}
    atomic_write_json(paths["json"], report | {"paths": result})  # last: a report.json always has its answers
    return result


def load_card(models: list[str | None], settings: Settings) -> dict | None:
    report = read_json(card_dir(models, settings) / "report.json")
    return report if isinstance(report, dict) and report.get("models") == list(models) else None


def load_answers(report: dict) -> list[dict]:
    path = Path((report.get("paths") or {}).get("answers", ""))
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_fresh(report: dict | None, settings: Settings, suite_digest: str) -> bool:
    if not report or report.get("suite", {}).get("digest") != suite_digest:
        return False
    stored = report.get("fingerprints") or {}
    return all(stored.get(m) == fingerprint(m, settings) for m in report["models"] if m)
