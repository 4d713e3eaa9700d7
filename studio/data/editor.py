"""The Dataset tab's editing model, without gradio: one ``EditorState`` per browser session.

Every change to the conversation list is a *splice* (replace a slice with new conversations), so
one undo step restores exactly what a change removed. Saving writes a new store version based on
the version the editor started from; a stale base raises ``VersionConflict`` and keeps the edits.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from studio.data.schema import ROLES, DataError, conversation_text, first_user_text, tags_of
from studio.data.store import NAME_RE, DatasetStore
from studio.data.validate import ValidationReport, validate_conversations

LIVE_LIMIT = 2000  # above this many conversations, full validation runs on request, not after every edit
UNDO_LIMIT = 50


class EditError(DataError):
    pass


@dataclass
class EditorState:
    name: str = ""
    version: int = 0  # the stored version these edits start from (0: not saved yet)
    convs: list[dict] = field(default_factory=list)
    selected: int = 0
    dirty: bool = False
    undo: list[tuple[int, list[dict], int, int]] = field(default_factory=list)  # (start, removed, inserted, selected)
    report: ValidationReport | None = None
    conflict: int | None = None  # the latest version seen when a save was refused
    viewing: int | None = None  # an older version opened for viewing (saving it makes a new version)
    armed: str = ""  # a destructive action waiting for its confirming second click (e.g. "open:name")

    @property
    def current(self) -> dict | None:
        return self.convs[self.selected] if 0 <= self.selected < len(self.convs) else None


def open_dataset(store: DatasetStore, name: str, version: int | None = None) -> EditorState:
    latest = store.latest(name)
    convs = store.load(name, version)
    viewing = version if version and version != latest else None
    return EditorState(name=name, version=latest, convs=convs, viewing=viewing)


def new_dataset(store: DatasetStore, name: str) -> EditorState:
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise EditError(f"Dataset name {name!r} is not allowed: use letters, digits, '.', '_' or '-' (up to 64).")
    if store.exists(name):
        raise EditError(f"A dataset named '{name}' already exists: open it instead.")
    return EditorState(name=name, version=0, convs=[], dirty=True)


# ---- changes (each one undoable) -----------------------------------------------------------
def splice(state: EditorState, start: int, count: int, inserted: list[dict]) -> None:
    removed = copy.deepcopy(state.convs[start : start + count])
    state.convs[start : start + count] = inserted
    state.undo.append((start, removed, len(inserted), state.selected))
    del state.undo[:-UNDO_LIMIT]
    state.dirty = True


def undo(state: EditorState) -> bool:
    if not state.undo:
        return False
    start, removed, inserted, selected = state.undo.pop()
    state.convs[start : start + inserted] = removed
    state.selected = min(selected, max(0, len(state.convs) - 1))
    state.dirty = True
    return True


def _conv(state: EditorState, index: int | None = None) -> tuple[int, dict]:
    i = state.selected if index is None else int(index)
    if not 0 <= i < len(state.convs):
        raise EditError("Select a conversation first (click a row in the table).")
    conv = copy.deepcopy(state.convs[i])
    if not isinstance(conv, dict):
        conv = {"messages": []}
    if not isinstance(conv.get("messages"), list):
        conv["messages"] = []
    return i, conv


def _turn(conv: dict, turn: int) -> int:
    t = int(turn) - 1  # the UI counts turns from 1
    if not 0 <= t < len(conv["messages"]):
        raise EditError(f"Turn {turn} does not exist (this conversation has {len(conv['messages'])} turns).")
    return t


def _role(role: str) -> str:
    if role not in ROLES:
        raise EditError(f"Role must be one of {', '.join(ROLES)}.")
    return role


def edit_turn(state: EditorState, turn: int, role: str, content: str) -> None:
    i, conv = _conv(state)
    t = _turn(conv, turn)
    conv["messages"][t] = {"role": _role(role), "content": content or ""}
    splice(state, i, 1, [conv])


def add_turn(state: EditorState, after: int | None = None, role: str | None = None) -> int:
    """Insert an empty turn after ``after`` (default: at the end); returns its 1-based number."""
    i, conv = _conv(state)
    messages = conv["messages"]
    at = len(messages) if not after else min(int(after), len(messages))
    previous = messages[at - 1].get("role") if at and isinstance(messages[at - 1], dict) else None
    role = role or ("assistant" if previous == "user" else "user")
    messages.insert(at, {"role": _role(role), "content": ""})
    splice(state, i, 1, [conv])
    return at + 1


def delete_turn(state: EditorState, turn: int) -> None:
    i, conv = _conv(state)
    del conv["messages"][_turn(conv, turn)]
    splice(state, i, 1, [conv])


def move_turn(state: EditorState, turn: int, delta: int) -> int:
    i, conv = _conv(state)
    t = _turn(conv, turn)
    to = t + delta
    if not 0 <= to < len(conv["messages"]):
        raise EditError("That turn cannot move further.")
    messages = conv["messages"]
    messages[t], messages[to] = messages[to], messages[t]
    splice(state, i, 1, [conv])
    return to + 1


def set_tags(state: EditorState, text: str) -> None:
    i, conv = _conv(state)
    tags = list(dict.fromkeys(t.strip() for t in (text or "").split(",") if t.strip()))
    if tags:
        conv["tags"] = tags
    else:
        conv.pop("tags", None)
    splice(state, i, 1, [conv])


def add_conversation(state: EditorState) -> None:
    """A new conversation after the selected one, with the selected one's system prompt."""
    system = None
    if state.current is not None:
        first = (state.current.get("messages") or [None])[0]
        if isinstance(first, dict) and first.get("role") == "system":
            system = dict(first)
    messages = ([system] if system else []) + [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
    at = state.selected + 1 if state.convs else 0
    splice(state, at, 0, [{"messages": messages, "tags": tags_of(state.current or {})} if state.current else {"messages": messages}])
    state.selected = at


def duplicate_conversation(state: EditorState) -> None:
    i, conv = _conv(state)
    splice(state, i + 1, 0, [conv])
    state.selected = i + 1


def delete_conversation(state: EditorState) -> None:
    i, _ = _conv(state)
    splice(state, i, 1, [])
    state.selected = min(i, max(0, len(state.convs) - 1))


def import_conversations(state: EditorState, conversations: list[dict], append: bool) -> None:
    if append:
        splice(state, len(state.convs), 0, copy.deepcopy(conversations))
    else:
        splice(state, 0, len(state.convs), copy.deepcopy(conversations))
        state.selected = 0


# ---- saving, validation and views ----------------------------------------------------------
def save(store: DatasetStore, state: EditorState, note: str = "", author: str = "", as_new_version: bool = False) -> int:
    """Save as a new version. A stale base raises VersionConflict unless ``as_new_version`` (after a conflict)."""
    if not state.name:
        raise EditError("Open or create a dataset first.")
    expected = None if as_new_version else state.version
    note = note or (f"edited from v{state.viewing}" if state.viewing else "")
    version = store.save(state.name, state.convs, expected_version=expected, note=note, author=author)
    state.version, state.dirty, state.conflict, state.viewing = version, False, None, None
    return version


def revalidate(state: EditorState, tokenizer=None, max_length: int | None = None, force: bool = False,
               region: str = "US") -> ValidationReport | None:
    if force or len(state.convs) <= LIVE_LIMIT:
        state.report = validate_conversations(state.convs, tokenizer=tokenizer, max_length=max_length, region=region)
    return state.report


def table_rows(state: EditorState, query: str = "", tag: str = "", flags: list[str] | None = None) -> list[list]:
    """Rows ``[#, tags, turns, first user message, tokens, errors, warnings]`` after search and filters."""
    flags = flags or []
    report = state.report
    errors: dict[int, int] = {}
    warnings: dict[int, int] = {}
    if report is not None:
        for issue in report.errors:
            errors[issue.index] = errors.get(issue.index, 0) + 1
        for issue in report.warnings:
            warnings[issue.index] = warnings.get(issue.index, 0) + 1
    counts = report.token_counts if report is not None else []
    query = (query or "").strip().lower()
    rows = []
    for i, conv in enumerate(state.convs):
        if tag and tag not in tags_of(conv):
            continue
        if "has errors" in flags and not errors.get(i):
            continue
        if "has warnings" in flags and not warnings.get(i):
            continue
        if query and query not in conversation_text(conv).lower() and not any(query in t.lower() for t in tags_of(conv)):
            continue
        messages = conv.get("messages") if isinstance(conv, dict) and isinstance(conv.get("messages"), list) else []
        tokens = counts[i] if i < len(counts) and counts[i] is not None else ""
        rows.append([i + 1, ", ".join(tags_of(conv)), len(messages), first_user_text(conv, 90), tokens, errors.get(i, 0), warnings.get(i, 0)])
    return rows


def issue_rows(state: EditorState) -> list[list]:
    """``[conversation #, severity, code, message]`` for the validation panel (file-level issues: #0)."""
    if state.report is None:
        return []
    rows = [[(i.index + 1) if i.index is not None else 0, "error", i.code, i.message] for i in state.report.errors]
    return rows + [[(i.index + 1) if i.index is not None else 0, "warning", i.code, i.message] for i in state.report.warnings]


def turn_rows(conv: dict | None) -> list[list]:
    messages = conv.get("messages") if isinstance(conv, dict) and isinstance(conv.get("messages"), list) else []
    rows = []
    for n, m in enumerate(messages, 1):
        if isinstance(m, dict):
            rows.append([n, str(m.get("role", "?")), m.get("content") if isinstance(m.get("content"), str) else repr(m.get("content"))])
        else:
            rows.append([n, "?", repr(m)])
    return rows


def all_tags(state: EditorState) -> list[str]:
    return sorted({t for conv in state.convs for t in tags_of(conv)})
