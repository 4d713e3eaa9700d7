"""Reading chat JSONL for de-identification: every line must be ``{"messages": [{"role", "content"}, ...]}``.

Errors name the file and the line, so a person can open it and fix it.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.data.files import DEFAULT_LIMIT_BYTES, read_text
from studio.data.schema import DataError


def read_chat_rows(path: Path | str, limit_bytes: int | None = DEFAULT_LIMIT_BYTES) -> list[dict]:
    name = Path(path).name
    rows = []
    for number, line in enumerate(read_text(path, limit_bytes).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name} line {number}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        rows.append(_checked(row, f"{name} line {number}"))
    if not rows:
        raise DataError(f"{name}: no conversations in it.")
    return rows


def _checked(row: object, where: str) -> dict:
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
        raise DataError(f'{where}: expected an object with a "messages" list.')
    for i, message in enumerate(row["messages"], 1):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) or "role" not in message:
            raise DataError(f'{where}: message {i} needs a "role" and a text "content".')
    return row
