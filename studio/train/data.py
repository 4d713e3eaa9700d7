"""Training data: resolve a dataset reference, refuse invalid data with the reason, split, tokenize.

A ``dataset`` is a JSONL path (messages format) or the name of a stored dataset, resolved through
``studio.data.store.DatasetStore`` when that package is present. Validation uses
``studio.data.validate.validate_path`` when available, otherwise the minimal checks below, so a
dataset that would train on nothing (no assistant reply) never starts a run.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.settings import Settings

ROLES = ("system", "user", "assistant")
MAX_REPORTED = 5


class DatasetProblem(ValueError):
    """The dataset cannot be trained on; the message says why and what to do."""


@dataclass
class DataStats:
    conversations: int = 0
    eval_conversations: int = 0
    assistant_turns: int = 0
    tokens: int = 0
    trained_tokens: int = 0
    truncated: int = 0
    dropped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_dataset(ref: str, settings: Settings) -> Path:
    """A file path as is, else a stored dataset's file."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    try:
        from studio.data.store import DatasetStore
    except ImportError:
        DatasetStore = None  # noqa: N806 - the dataset store may not be installed yet
    if DatasetStore is not None:
        try:
            stored = Path(DatasetStore(settings).path(ref))
        except (LookupError, FileNotFoundError, ValueError) as exc:
            raise DatasetProblem(f"Dataset '{ref}' is not a file and not a stored dataset ({exc}).") from None
        if stored.is_file():
            return stored
    raise DatasetProblem(
        f"Dataset '{ref}' was not found: give a JSONL file path or the name of a dataset in the Dataset tab."
    )


def validation_errors(path: Path) -> list[str]:
    """Human-readable errors that make the dataset untrainable (empty = fine)."""
    try:
        from studio.data.validate import validate_path
    except ImportError:
        return _basic_errors(path)
    return _errors_from_report(validate_path(path))


def _errors_from_report(report: Any) -> list[str]:
    """Accept the validator's report whether it is an object with ``errors`` or a plain list."""
    errors = getattr(report, "errors", report if isinstance(report, list) else [])
    if isinstance(report, dict):
        errors = report.get("errors", [])
    return [str(getattr(e, "message", e)) if not isinstance(e, str) else e for e in errors or []]


def _basic_errors(path: Path) -> list[str]:
    errors: list[str] = []
    convs = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: not valid JSON ({exc.msg}).")
            continue
        problem = _conversation_problem(row)
        if problem:
            errors.append(f"line {lineno}: {problem}")
        convs += 1
    if not convs and not errors:
        errors.append("the file holds no conversations.")
    return errors


def _conversation_problem(row: Any) -> str | None:
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        return "expected an object with a non-empty 'messages' list."
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return "every message needs a role (system, user or assistant) and text content."
    if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
        return "no assistant reply to learn from."
    return None


def load_conversations(ref: str, settings: Settings) -> tuple[Path, list[list[dict]]]:
    """Resolve, validate (refusing with the reasons) and read the conversations' message lists."""
    path = resolve_dataset(ref, settings)
    errors = validation_errors(path)
    if errors:
        shown = "; ".join(errors[:MAX_REPORTED])
        more = f" (and {len(errors) - MAX_REPORTED} more)" if len(errors) > MAX_REPORTED else ""
        raise DatasetProblem(f"Dataset '{ref}' has {len(errors)} error(s), fix them first: {shown}{more}.")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return path, [[{"role": m["role"], "content": m["content"]} for m in row["messages"]] for row in rows]


def split(convs: list[list[dict]], fraction: float, seed: int) -> tuple[list[list[dict]], list[list[dict]]]:
    if fraction <= 0 or len(convs) < 2:
        return convs, []
    order = list(range(len(convs)))
    random.Random(seed).shuffle(order)
    n_eval = min(len(convs) - 1, max(1, round(len(convs) * fraction)))
    held = set(order[:n_eval])
    return [c for i, c in enumerate(convs) if i not in held], [c for i, c in enumerate(convs) if i in held]


def tokenize_all(tokenizer, convs: list[list[dict]], max_length: int, assistant_only: bool, stats: DataStats):
    """Rows of ``input_ids``/``labels``; conversations left with nothing to learn are dropped and counted."""
    from studio.train.masking import tokenize_conversation

    rows = []
    for messages in convs:
        tc = tokenize_conversation(tokenizer, messages, max_length, assistant_only)
        if tc.trained_tokens == 0:
            stats.dropped += 1
            continue
        stats.tokens += len(tc.input_ids)
        stats.trained_tokens += tc.trained_tokens
        stats.truncated += int(tc.truncated)
        rows.append({"input_ids": tc.input_ids, "labels": tc.labels})
    return rows
