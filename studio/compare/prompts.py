"""Prompt sets: JSONL files with one ``{"prompt": ..., "system"?: ..., "category"?: ...}`` per line.

The studio ships ``examples/prompts/*.jsonl``; admins can add their own under ``<data>/prompts/``.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.settings import Settings
from studio.util.errors import UserError

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "prompts"
MAX_PROMPT_CHARS = 8000


class PromptSetError(UserError, ValueError):
    pass


def prompt_set_dirs(settings: Settings) -> list[Path]:
    return [EXAMPLES_DIR, settings.prompts_dir]


def list_prompt_sets(settings: Settings) -> dict[str, Path]:
    """Name (file stem) -> path; a set in the data dir overrides a shipped one of the same name."""
    found: dict[str, Path] = {}
    for folder in prompt_set_dirs(settings):
        if folder.is_dir():
            for path in sorted(folder.glob("*.jsonl")):
                found[path.stem] = path
    return found


def resolve_prompt_set(name_or_path: str, settings: Settings) -> Path:
    sets = list_prompt_sets(settings)
    if name_or_path in sets:
        return sets[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    known = ", ".join(sets) or "none"
    raise PromptSetError(f"No prompt set {name_or_path!r}: give a JSONL file or one of the named sets ({known}).")


def load_prompts(path: Path | str) -> list[dict]:
    """Read and validate a prompt set; errors name the 1-based line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptSetError(f"Cannot read prompt file {path}: {exc}") from None
    prompts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        prompts.append(parse_prompt_line(line, f"{path.name} line {number}"))
    if not prompts:
        raise PromptSetError(f"{path.name} has no prompts: write one JSON object per line with a \"prompt\" key.")
    return prompts


def parse_prompt_line(line: str, where: str) -> dict:
    """One JSONL line of a prompt set (or an eval suite), checked; errors start with ``where``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PromptSetError(f"{where}: not valid JSON ({exc.msg}).") from None
    if not isinstance(record, dict):
        raise PromptSetError(f"{where}: expected an object like {{\"prompt\": \"...\"}}.")
    prompt = record.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptSetError(f"{where}: \"prompt\" must be a non-empty string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PromptSetError(f"{where}: the prompt is longer than {MAX_PROMPT_CHARS} characters.")
    system = record.get("system")
    if system is not None and not isinstance(system, str):
        raise PromptSetError(f"{where}: \"system\" must be a string when given.")
    return record
