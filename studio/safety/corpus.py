"""The safety training corpus (``examples/safety/corpus``): loading, checking and fingerprinting.

Rows are checked as they load, so a mistake in a hand-written file names its file and line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from studio.safety.taxonomy import GUARD_CODES, OK_CATEGORIES, USER_LEVEL
from studio.util.errors import UserError

CORPUS_DIR = Path(__file__).resolve().parents[2] / "examples" / "safety" / "corpus"


class CorpusError(UserError, ValueError):
    """A corpus row is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Row:
    text: str
    label: str  # user: the level; assistant: "violation" | "ok"
    category: str
    style: str
    author: str


def load_user_rows(folder: Path = CORPUS_DIR) -> list[Row]:
    return _load(sorted(folder.glob("user_*.jsonl")), _user_row)


def load_reply_rows(folder: Path = CORPUS_DIR) -> list[Row]:
    return _load(sorted(folder.glob("assistant_*.jsonl")), _reply_row)


def fingerprint(folder: Path = CORPUS_DIR) -> str:
    """sha256 over the corpus files (names and bytes): the weights record which corpus made them."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.jsonl")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _load(paths: list[Path], parse) -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
                raise CorpusError(f'{where}: each row needs a non-empty "text" string')
            row = parse(item, where)
            key = " ".join(row.text.lower().split())
            if key not in seen:  # duplicates across writers would count twice in training and evaluation
                seen.add(key)
                rows.append(row)
    return rows


def _user_row(item: dict, where: str) -> Row:
    category = item.get("category")
    if category not in USER_LEVEL:
        raise CorpusError(f"{where}: unknown category {category!r}")
    level = item.get("level")
    if level != USER_LEVEL[category]:
        raise CorpusError(f"{where}: category {category} has level {USER_LEVEL[category]}, not {level!r}")
    return Row(item["text"], level, category, str(item.get("style", "")), str(item.get("author", "")))


def _reply_row(item: dict, where: str) -> Row:
    label, category = item.get("label"), item.get("category")
    allowed = GUARD_CODES if label == "violation" else OK_CATEGORIES if label == "ok" else None
    if allowed is None:
        raise CorpusError(f'{where}: label must be "violation" or "ok", not {label!r}')
    if category not in allowed:
        raise CorpusError(f"{where}: category {category!r} is not a {label} category ({', '.join(allowed)})")
    return Row(item["text"], label, category, str(item.get("style", "")), str(item.get("author", "")))
