"""The native chat schema: one conversation per JSONL line.

``{"messages": [{"role": "system|user|assistant", "content": "..."}], "tags": ["topic", ...]}``
(TRL's conversational format). Conversations travel as plain dicts so they serialize as they are;
this module holds the few helpers every other part agrees on.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from studio.util.errors import UserError

ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = frozenset({"role", "content"})
TOP_KEYS = ("messages", "tags")

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


class DataError(UserError, ValueError):
    """A user-facing data problem; the message names what is wrong and where."""


def make_conversation(messages: list[dict], tags: list[str] | None = None, **extra) -> dict:
    conv: dict = {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}
    if tags:
        conv["tags"] = list(dict.fromkeys(str(t).strip() for t in tags if str(t).strip()))
    conv.update({k: v for k, v in extra.items() if v not in (None, "", [], {})})
    return conv


# Characters that str.splitlines() treats as line breaks but JSON leaves raw: escaped, so any reader
# (even one that splits with splitlines) sees exactly one conversation per line.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def to_jsonl(conversations: list[dict]) -> str:
    """One compact JSON object per line, UTF-8 kept readable; unusual line breaks escaped."""
    out = []
    for c in conversations:
        line = json.dumps(c, ensure_ascii=False)
        if not line.isascii():
            for raw, escaped in _LINE_BREAKS.items():
                line = line.replace(raw, escaped)
        out.append(line + "\n")
    return "".join(out)


def conversation_text(conv: dict) -> str:
    """All message text joined by role, for search and duplicate detection."""
    messages = conv.get("messages") if isinstance(conv, dict) else None
    if not isinstance(messages, list):
        return ""
    parts = []
    for m in messages:
        if isinstance(m, dict):
            parts.append(f"{m.get('role')}: {m.get('content') if isinstance(m.get('content'), str) else ''}")
    return "\n".join(parts)


def normalized_key(conv: dict) -> str:
    """A digest of the normalized text: case, accents, punctuation and spacing do not count."""
    text = conversation_text(conv)
    text = text.lower() if text.isascii() else unicodedata.normalize("NFKD", text).casefold()
    text = " ".join(_NON_WORD.sub(" ", text).split())
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def exact_key(conv: dict) -> str:
    return hashlib.sha1(json.dumps(conv.get("messages"), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def tags_of(conv: dict) -> list[str]:
    tags = conv.get("tags") if isinstance(conv, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def is_renderable(conv: dict) -> bool:
    """True when every message has a known role and string content (safe to render with a template)."""
    messages = conv.get("messages") if isinstance(conv, dict) else None
    if not isinstance(messages, list) or not messages:
        return False
    return all(isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in messages)


def first_user_text(conv: dict, limit: int = 120) -> str:
    for m in conv.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str):
            text = " ".join(m["content"].split())
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""
