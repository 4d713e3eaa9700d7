"""Training data: resolve a dataset reference, refuse invalid data with the reason, split, tokenize.

A ``dataset`` is a JSONL path (messages format) or the name of a stored dataset, resolved through
``studio.data.store.DatasetStore`` (latest version). ``studio.data.validate.validate_path`` decides
what is an error, so the Train tab refuses exactly what the Dataset tab flags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.settings import Settings
from studio.util.errors import UserError

MAX_REPORTED = 5


class DatasetProblem(UserError, ValueError):
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
    """A file path as is, a stored preference set (``preferences/<name>``), else the latest version of a
    stored dataset."""
    from studio.data.preferences import preference_set_path, preference_sets
    from studio.data.schema import DataError
    from studio.data.store import DatasetStore

    path = Path(ref).expanduser()
    if path.is_file():
        return path
    stored_set = preference_set_path(settings, ref)
    if stored_set is not None:
        if stored_set.is_file():
            return stored_set
        names = ", ".join(preference_sets(settings)) or "none yet (Dataset › Feedback inbox makes them)"
        raise DatasetProblem(f"No preference set {ref}. Stored preference sets: {names}.")
    if "/" in ref or ref.endswith((".jsonl", ".json")):
        raise DatasetProblem(f"Dataset file {ref} was not found. Check the path, or use a stored dataset's name.")
    store = DatasetStore(settings)
    try:
        return store.path(ref)
    except DataError as exc:
        names = ", ".join(info.name for info in store.list()) or "none yet"
        raise DatasetProblem(f"{exc} Stored datasets: {names}. Give a stored name or a JSONL file path.") from None


def validation_errors(path: Path, region: str = "US") -> list[str]:
    """The validator's errors (each names its line) that make the dataset untrainable; empty = fine."""
    from studio.data.schema import DataError
    from studio.data.validate import validate_path

    try:
        report = validate_path(path, lint=False, region=region)
    except DataError as exc:  # unreadable: missing, binary, not UTF-8, too big, empty
        return [str(exc)]
    return [issue.message for issue in report.errors]


def load_training_conversations(ref: str, settings: Settings, region: str | None = None) -> tuple[Path, list[list[dict]]]:
    """Resolve, validate (refusing with the reasons) and read the conversations' message lists.

    Placeholders such as ``{crisis_line}`` are rendered for ``region`` (default: the studio's).
    """
    from studio.data.placeholders import render_rows

    region = region or settings.region
    path = resolve_dataset(ref, settings)
    errors = validation_errors(path, region)
    if errors:
        shown = "; ".join(errors[:MAX_REPORTED])
        more = f" (and {len(errors) - MAX_REPORTED} more)" if len(errors) > MAX_REPORTED else ""
        raise DatasetProblem(f"Dataset '{ref}' has {len(errors)} error(s), fix them first: {shown}{more}.")
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other characters splitlines breaks on.
    rows = render_rows([json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()], region).rows
    return path, [[{"role": m["role"], "content": m["content"]} for m in row["messages"]] for row in rows]


def preflight(ref: str, settings: Settings, eval_ref: str | None = None, region: str | None = None,
              method: str = "sft") -> tuple[Path, int]:
    """Check a dataset before a run is created: raises DatasetProblem with the reasons; returns (path, rows).

    ``method`` dpo reads preference pairs (prompt/chosen/rejected) instead of conversations."""
    load = load_pairs if method == "dpo" else load_training_conversations
    path, rows = load(ref, settings, region)
    if eval_ref:
        load(eval_ref, settings, region)
    return path, len(rows)


def load_pairs(ref: str, settings: Settings, region: str | None = None) -> tuple[Path, list[dict]]:
    """Resolve and check a preference JSONL, refusing with the reasons; placeholders rendered for the region."""
    from studio.data.placeholders import PlaceholderError
    from studio.data.preferences import read_pairs

    path = resolve_dataset(ref, settings)
    rows, errors = read_pairs(path)
    if errors:
        shown = "; ".join(errors[:MAX_REPORTED])
        more = f" (and {len(errors) - MAX_REPORTED} more)" if len(errors) > MAX_REPORTED else ""
        raise DatasetProblem(f"Preference dataset '{ref}' has {len(errors)} error(s), fix them first: "
                             f"{shown.rstrip('.')}{more}.")
    try:
        return path, [_rendered(row, region or settings.region) for row in rows]
    except PlaceholderError as exc:
        raise DatasetProblem(f"Preference dataset '{ref}': {exc}") from None


def _rendered(row: dict, region: str) -> dict:
    from studio.data.placeholders import render_rows

    if isinstance(row["prompt"], str):
        messages = [{"role": "user", "content": row[k]} for k in ("prompt", "chosen", "rejected")]
        done = render_rows([{"messages": messages}], region).rows[0]["messages"]
        return {k: m["content"] for k, m in zip(("prompt", "chosen", "rejected"), done, strict=True)}
    sizes = [len(row[k]) for k in ("prompt", "chosen", "rejected")]
    done = render_rows([{"messages": row["prompt"] + row["chosen"] + row["rejected"]}], region).rows[0]["messages"]
    return {"prompt": done[:sizes[0]], "chosen": done[sizes[0]:sizes[0] + sizes[1]], "rejected": done[sizes[0] + sizes[1]:]}


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
