"""Import: native JSONL, OpenAI fine-tuning JSONL, ShareGPT, Alpaca, CSV and Hugging Face datasets.

``load_conversations(path, fmt="auto")`` reads a file (or a dataset folder / hub id), detects the
format unless told, and converts every row to the native schema. Any row that cannot be converted
stops the import with a message naming the row, so a failed import never half-happens.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from studio.data.files import DEFAULT_LIMIT_BYTES, physical_lines, read_text
from studio.data.schema import ROLES, DataError, make_conversation

FORMATS = ("auto", "native", "openai", "sharegpt", "alpaca", "csv", "hf")
SHAREGPT_SPEAKERS = {
    "human": "user", "user": "user",
    "gpt": "assistant", "assistant": "assistant", "bot": "assistant", "chatgpt": "assistant", "model": "assistant",
    "system": "system",
}
OPENAI_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_LISTED = 5


class ImportFailed(DataError):
    """The whole import was refused; nothing was stored."""


@dataclass
class ImportResult:
    conversations: list[dict]
    format: str
    notes: list[str] = field(default_factory=list)


def load_conversations(path: Path | str, fmt: str = "auto", limit_bytes: int | None = DEFAULT_LIMIT_BYTES) -> ImportResult:
    if fmt not in FORMATS:
        raise ImportFailed(f"Unknown format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    path = Path(path) if not isinstance(path, Path) else path
    if fmt == "hf" or (fmt == "auto" and path.is_dir()):
        return _load_hf(str(path))
    text = read_text(path, limit_bytes)
    if fmt == "csv" or (fmt == "auto" and path.suffix.lower() in (".csv", ".tsv")):
        return ImportResult(_from_csv(text, path.name, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), "csv")
    rows = parse_json_rows(text, path.name)
    fmt = detect_format(rows, path.name) if fmt == "auto" else fmt
    return convert_rows(rows, fmt, path.name)


def parse_json_rows(text: str, name: str = "file") -> list[tuple[str, object]]:
    """``[(where, value)]`` from JSONL (where = "line N") or a JSON array (where = "item N")."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFailed(f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
        except RecursionError:
            raise ImportFailed(f"{name}: the JSON is nested too deeply to be a chat dataset.") from None
        return [(f"item {i}", row) for i, row in enumerate(data, 1)]
    rows, bad = [], []
    for number, line in enumerate(physical_lines(text), 1):
        if not line.strip():
            continue
        try:
            rows.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            bad.append(f"line {number} ({exc.msg}, column {exc.colno})")
        except RecursionError:
            bad.append(f"line {number} (nested too deeply)")
    if bad:
        raise ImportFailed(f"{name}: {len(bad)} line(s) are not valid JSON: {_listed(bad)}. Fix them and import again.")
    if not rows:
        raise ImportFailed(f"{name}: the file has no rows (only blank lines).")
    return rows


def detect_row_format(row: object) -> str | None:
    if not isinstance(row, dict):
        return None
    if isinstance(row.get("messages"), list):
        msgs = row["messages"]
        plain = all(isinstance(m, dict) and set(m) <= {"role", "content"} and m.get("role") in ROLES for m in msgs)
        return "native" if plain else "openai"
    if isinstance(row.get("conversations"), list):
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if "user" in row and "assistant" in row:
        return "csv"
    return None


def detect_format(rows: list[tuple[str, object]], name: str = "file") -> str:
    """The format of the first recognisable rows; OpenAI wins over native if any row needs it."""
    seen = [detect_row_format(row) for _, row in rows[:200]]
    known = [f for f in seen if f]
    if not known:
        where = rows[0][0] if rows else "line 1"
        keys = sorted(rows[0][1]) if rows and isinstance(rows[0][1], dict) else []
        raise ImportFailed(
            f"{name}: cannot tell the format from {where} (keys: {', '.join(keys) or 'none'}). Expected 'messages' "
            "(native/OpenAI), 'conversations' (ShareGPT), 'instruction'+'output' (Alpaca) or 'user'+'assistant'. "
            "Choose the format explicitly if it is one of these."
        )
    if "openai" in known and set(known) <= {"native", "openai"}:
        return "openai"
    return max(set(known), key=known.count)


def convert_rows(rows: list[tuple[str, object]], fmt: str, name: str = "file") -> ImportResult:
    convert = _CONVERTERS.get(fmt)
    if convert is None:
        raise ImportFailed(f"{name}: format {fmt!r} cannot be read from JSON rows.")
    conversations, problems, notes = [], [], set()
    for where, row in rows:
        try:
            conversations.append(convert(row, notes))
        except DataError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise ImportFailed(f"{name}: {len(problems)} row(s) could not be read as {fmt}: {_listed(problems)}.")
    return ImportResult(conversations, fmt, sorted(notes))


def _native(row: object, notes: set) -> dict:
    if not isinstance(row, dict):
        raise DataError(f"expected an object, got {type(row).__name__}")
    if "messages" not in row:
        raise DataError("no 'messages' key")
    return row  # kept as it is: validation reports anything odd inside, with line numbers


def _openai(row: object, notes: set) -> dict:
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
        raise DataError("no 'messages' list")
    messages = []
    for i, m in enumerate(row["messages"], 1):
        if not isinstance(m, dict):
            raise DataError(f"message {i} is not an object")
        role = OPENAI_ROLES.get(str(m.get("role")))
        if role is None:
            raise DataError(f"message {i} has role {m.get('role')!r}; only system/developer/user/assistant can be imported")
        if set(m) - {"role", "content"}:
            notes.add(f"dropped message keys: {', '.join(sorted(set(m) - {'role', 'content'}))}")
        messages.append({"role": role, "content": _text(m.get("content"))})
    extra = {k: v for k, v in row.items() if k == "tags"}
    return make_conversation(messages, **extra)


def _sharegpt(row: object, notes: set) -> dict:
    if not isinstance(row, dict) or not isinstance(row.get("conversations"), list):
        raise DataError("no 'conversations' list")
    messages = []
    for i, turn in enumerate(row["conversations"], 1):
        if not isinstance(turn, dict):
            raise DataError(f"turn {i} is not an object")
        speaker = str(turn.get("from", "")).strip()
        role = SHAREGPT_SPEAKERS.get(speaker.lower())
        if role is None:
            known = ", ".join(sorted(SHAREGPT_SPEAKERS))
            raise DataError(f"turn {i} has unknown speaker {speaker!r} (known speakers: {known})")
        messages.append({"role": role, "content": _text(turn.get("value"))})
    if isinstance(row.get("system"), str) and row["system"].strip() and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": row["system"]})
    return make_conversation(messages, tags=row.get("tags") if isinstance(row.get("tags"), list) else None)


def _alpaca(row: object, notes: set) -> dict:
    if not isinstance(row, dict) or "instruction" not in row or "output" not in row:
        raise DataError("needs 'instruction' and 'output'")
    user = _text(row.get("instruction")).strip()
    extra_input = _text(row.get("input")).strip()
    if extra_input:
        user = f"{user}\n\n{extra_input}"
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": _text(row.get("output"))}]
    if _text(row.get("system")).strip():
        messages.insert(0, {"role": "system", "content": _text(row["system"])})
    return make_conversation(messages, tags=row.get("tags") if isinstance(row.get("tags"), list) else None)


def _pair(row: object, notes: set) -> dict:
    if not isinstance(row, dict) or "user" not in row or "assistant" not in row:
        raise DataError("needs 'user' and 'assistant'")
    messages = [{"role": "user", "content": _text(row["user"])}, {"role": "assistant", "content": _text(row["assistant"])}]
    if _text(row.get("system")).strip():
        messages.insert(0, {"role": "system", "content": _text(row["system"])})
    return make_conversation(messages, tags=_split_tags(row.get("tags")))


_CONVERTERS = {"native": _native, "openai": _openai, "sharegpt": _sharegpt, "alpaca": _alpaca, "csv": _pair}


def _csv_rows(reader: csv.DictReader, name: str):
    """The reader's rows; a cell over the csv module's limit (128 KB) is named with its line, not a traceback."""
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportFailed(f"{name}: line {reader.line_num + 1}: {exc}; a chat turn that long is not supported. "
                           "Shorten or split it, then import again.") from None


def _from_csv(text: str, name: str, delimiter: str = ",") -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ImportFailed(f"{name}: line 1 (header): {exc}.") from None
    missing = [c for c in ("user", "assistant") if c not in header]
    if missing:
        raise ImportFailed(
            f"{name}: line 1 (header) is missing the column(s) {', '.join(missing)}; found: "
            f"{', '.join(header) or 'nothing'}. Needed: user, assistant (optional: system, tags)."
        )
    reader.fieldnames = header
    conversations, problems = [], []
    for row in _csv_rows(reader, name):
        line = reader.line_num
        if None in row:
            problems.append(f"line {line}: more values than columns")
            continue
        values = {k: (v or "") for k, v in row.items()}
        if not any(v.strip() for v in values.values()):
            continue
        if not values["user"].strip() or not values["assistant"].strip():
            problems.append(f"line {line}: empty {'user' if not values['user'].strip() else 'assistant'} cell")
            continue
        conversations.append(_pair(values, set()))
    if problems:
        raise ImportFailed(f"{name}: {len(problems)} CSV row(s) cannot be used: {_listed(problems)}.")
    if not conversations:
        raise ImportFailed(f"{name}: the CSV has a header but no rows.")
    return conversations


def _load_hf(source: str) -> ImportResult:
    """A dataset saved with ``save_to_disk`` (a folder), or a hub id when online."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a hard dependency
        raise ImportFailed("The 'datasets' package is not installed.") from None
    try:
        data = datasets.load_from_disk(source) if Path(source).is_dir() else datasets.load_dataset(source)
    except Exception as exc:  # datasets raises many types; all mean "could not open it"
        raise ImportFailed(_explain_hf_failure(source, exc)) from None
    if isinstance(data, datasets.DatasetDict):
        split = "train" if "train" in data else next(iter(data))
        data = data[split]
    rows = [(f"row {i}", dict(row)) for i, row in enumerate(data, 1)]
    if not rows:
        raise ImportFailed(f"{source}: the dataset has no rows.")
    result = convert_rows(rows, detect_format(rows, source), source)
    result.notes.insert(0, f"read {len(rows)} rows from the Hugging Face dataset {source} (as {result.format})")
    result.format = "hf"
    return result


def _explain_hf_failure(source: str, exc: Exception) -> str:
    import os

    from studio.util.redact import redact

    if not Path(source).exists() and (os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in str(exc).lower()):
        return f"{source}: not a local dataset folder, and the Hugging Face Hub is offline here."
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{source}: could not open it as a Hugging Face dataset ({redact(first)})."


def _text(value: object) -> str:
    """Message content as text; OpenAI-style lists of parts are joined."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in value)
    return str(value)


def _split_tags(value: object) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.strip():
        return [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]
    return None


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    return shown + (f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")
