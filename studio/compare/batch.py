"""Batch runs: both models answer every prompt of a prompt set; one JSONL line per prompt.

Output line: ``{"prompt", "system"?, "category"?, "a": {"model", "text", "safety": {...}, "new_tokens",
"seconds", "tokens_per_s"}, "b": {...}}``. Lines are written to ``OUT.partial`` as they finish
and the file is renamed to ``OUT`` at the end, so a finished file is never half written and an
interrupted run keeps what it did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from studio.compare.prompts import load_prompts
from studio.compare.side_by_side import compare_pair
from studio.models.generate import GenerationSettings
from studio.models.system_prompt import load_system_prompt
from studio.settings import Settings


def run_batch(
    model_a: str, model_b: str, prompts: list[dict], gen: GenerationSettings, settings: Settings,
    system: str | None = None,
) -> Iterator[dict]:
    """Yield one output record per prompt, in order. A prompt's own ``system`` wins over ``system``,
    and without either the companion's own system prompt applies, as in Chat."""
    system = system or load_system_prompt(settings)
    for item in prompts:
        prompt_system = item.get("system") or system
        a, b = compare_pair(model_a, model_b, item["prompt"], prompt_system, gen, settings)
        record: dict = {"prompt": item["prompt"]}
        if prompt_system:
            record["system"] = prompt_system
        for key in ("id", "category"):
            if key in item:
                record[key] = item[key]
        record["a"], record["b"] = a.to_dict(), b.to_dict()
        yield record


def write_batch(
    model_a: str, model_b: str, prompts_path: Path | str, out_path: Path | str, gen: GenerationSettings,
    settings: Settings, system: str | None = None, progress: Callable[[str], None] | None = None,
) -> dict:
    """Run a prompt file into ``out_path``; return a summary with counts of safety flags per side."""
    prompts = load_prompts(prompts_path)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    records = []
    with partial.open("w", encoding="utf-8") as handle:
        for i, record in enumerate(run_batch(model_a, model_b, prompts, gen, settings, system), start=1):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            records.append(record)
            if progress:
                progress(f"{i}/{len(prompts)} prompts")
        os.fsync(handle.fileno())
    os.replace(partial, out_path)
    return summarize(records) | {"out": str(out_path), "a": model_a, "b": model_b}


def summarize(records: list[dict]) -> dict:
    """Counts a person reads first: how many answers the output guard flagged, how many hit the crisis gate."""
    def flagged(side: str) -> int:
        return sum(1 for r in records if (r[side]["safety"].get("output") or {}).get("violation"))

    return {
        "prompts": len(records),
        "flagged_a": flagged("a"),
        "flagged_b": flagged("b"),
        "crisis_template": sum(1 for r in records if not r["a"]["safety"]["model_called"]),
    }


def table_rows(records: list[dict], width: int = 160) -> list[list[str]]:
    """Rows for a table: prompt, category, answer A, flags A, answer B, flags B (texts shortened)."""
    def short(text: str) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    def shown(answer: dict) -> str:  # a hosted model that failed shows why, on its side only
        return f"⚠️ {answer['error']}" if answer.get("error") else answer["text"]

    def flags(answer: dict) -> str:
        return ", ".join(answer["safety"].get("flags") or []) or "—"

    return [
        [short(r["prompt"]), r.get("category", ""), short(shown(r["a"])), flags(r["a"]), short(shown(r["b"])), flags(r["b"])]
        for r in records
    ]


def save_records(records: list[dict], settings: Settings, model_a: str, model_b: str) -> Path:
    """Store a finished run under ``<data>/compare/`` (atomically) and return the file."""
    import re
    from datetime import UTC, datetime

    from studio.util.io import atomic_write_text

    def safe(name: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "_", name)[-40:]

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = settings.data_dir / "compare" / f"batch-{stamp}-{safe(model_a)}-vs-{safe(model_b)}.jsonl"
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path
