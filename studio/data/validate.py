"""Validation of native chat JSONL, reported by 1-based physical line number.

Errors make an example unusable for training; warnings point at quality problems (no system
prompt, too long, duplicates, schema drift, clinical lint). Blank lines are skipped but still
counted, so line numbers match what an editor shows.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from studio.data.files import DEFAULT_LIMIT_BYTES, physical_lines, read_text
from studio.data.formats import detect_row_format
from studio.data.schema import MESSAGE_KEYS, ROLES, exact_key, normalized_key
from studio.data.stats import compute_stats


@dataclass(frozen=True)
class Issue:
    line: int | None  # 1-based physical line; None for file-level issues
    code: str
    message: str
    index: int | None = None  # 0-based example number (non-blank rows), for jumping to it

    def to_dict(self) -> dict:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass
class Row:
    line: int
    index: int
    data: object  # the parsed JSON value; None when the line is not JSON


@dataclass
class ValidationReport:
    examples: int
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    token_counts: list[int | None] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def issues_for(self, index: int) -> list[tuple[str, Issue]]:
        return [("error", i) for i in self.errors if i.index == index] + [("warning", i) for i in self.warnings if i.index == index]

    def to_dict(self) -> dict:
        return {
            "examples": self.examples,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "stats": self.stats,
        }


def validate_path(path: Path | str, tokenizer=None, max_length: int | None = None, lint: bool = True,
                  limit_bytes: int | None = DEFAULT_LIMIT_BYTES, region: str = "US") -> ValidationReport:
    """Raises ``FileReadError`` when the file cannot be read at all (missing, binary, not UTF-8, too big, empty).

    ``region`` is the one placeholders such as ``{crisis_line}`` are checked and rendered for; token
    counts and the clinical lint read the rendered text, as training will.
    """
    return validate_lines(read_text(path, limit_bytes), tokenizer=tokenizer, max_length=max_length, lint=lint, region=region)


def validate_lines(lines_or_text: str | list[str], tokenizer=None, max_length: int | None = None, lint: bool = True,
                   region: str = "US") -> ValidationReport:
    lines = physical_lines(lines_or_text) if isinstance(lines_or_text, str) else list(lines_or_text)
    rows, errors = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        index = len(rows)
        try:
            rows.append(Row(number, index, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append(Row(number, index, None))
            hint = " (a JSON array? The native format is one conversation per line: use `data convert`.)" if line.lstrip().startswith("[") else ""
            errors.append(Issue(number, "invalid_json", f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}){hint}", index))
        except RecursionError:  # JSON nested thousands deep: this line is bad, the rest still get their report
            rows.append(Row(number, index, None))
            errors.append(Issue(number, "invalid_json", f"line {number}: not valid JSON (nested too deeply)", index))
    return _validate_rows(rows, errors, tokenizer, max_length, lint, region)


def validate_conversations(conversations: list[dict], tokenizer=None, max_length: int | None = None, lint: bool = True,
                           region: str = "US") -> ValidationReport:
    """For data already in memory (the editor): line N = conversation N, as in the stored JSONL."""
    rows = [Row(i + 1, i, conv) for i, conv in enumerate(conversations)]
    return _validate_rows(rows, [], tokenizer, max_length, lint, region)


def _validate_rows(rows: list[Row], errors: list[Issue], tokenizer, max_length, lint: bool, region: str) -> ValidationReport:
    report = ValidationReport(examples=len(rows), errors=errors, rows=rows)
    for row in rows:
        if row.data is None:
            continue
        found_errors, found_warnings = check_conversation(row.data)
        if not found_errors:
            found_errors = _placeholder_errors(row.data, region)
        report.errors += [Issue(row.line, code, f"line {row.line}: {msg}", row.index) for code, msg in found_errors]
        report.warnings += [Issue(row.line, code, f"line {row.line}: {msg}", row.index) for code, msg in found_warnings]
    broken = {i.index for i in report.errors}
    report.warnings += _duplicates(rows) + _schema_drift([r for r in rows if r.index not in broken])
    rendered = _rendered(rows, broken, region) if lint or tokenizer is not None else []  # once, for both
    # The lint is Python and the tokenizer is Rust (it releases the GIL), so they overlap in a thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        valid = [r for r in rows if r.index not in broken and isinstance(r.data, dict)]
        linted = pool.submit(_lint, valid, region, rendered) if lint else None
        if tokenizer is not None:  # token counts read the rendered text, as training will
            report.token_counts = _token_checks(report, tokenizer, max_length, rendered)
        if linted is not None:
            lint_errors, lint_warnings = linted.result()
            report.errors += lint_errors
            report.warnings += lint_warnings
    report.errors.sort(key=_order)
    report.warnings.sort(key=_order)
    report.stats = compute_stats(report, max_length)
    return report


def _order(issue: Issue) -> tuple:
    return (issue.line or 0, issue.code)


def check_conversation(obj: object) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Structural ``(errors, warnings)`` of one row, as ``(code, message)`` pairs."""
    if not isinstance(obj, dict):
        return [("not_object", f"expected a JSON object, got {_kind(obj)}")], []
    messages = obj.get("messages")
    if messages is None or not isinstance(messages, list):
        looks = detect_row_format(obj)
        hint = f" (this row looks like {looks}: import or `data convert` it first)" if looks in ("sharegpt", "alpaca", "csv") else ""
        what = "no 'messages' key" if messages is None else f"'messages' is {_kind(messages)}, not a list"
        return [("no_messages", what + hint)], []
    if not messages:
        return [("empty_messages", "'messages' is empty")], []
    errors = [e for i, m in enumerate(messages, 1) for e in _message_errors(i, m)]
    errors += _order_errors(messages)
    warnings = []
    tags = obj.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        warnings.append(("bad_tags", "'tags' should be a list of strings"))
    if not (isinstance(messages[0], dict) and messages[0].get("role") == "system"):
        warnings.append(("no_system", "no system prompt (the model's default one will be used)"))
    return errors, warnings


def _message_errors(i: int, m: object) -> list[tuple[str, str]]:
    if not isinstance(m, dict):
        return [("bad_message", f"message {i} is {_kind(m)}, not an object")]
    out = []
    if "role" not in m:
        out.append(("missing_role", f"message {i} has no 'role'"))
    elif m["role"] not in ROLES:
        out.append(("unknown_role", f"message {i} has unknown role {m['role']!r} (use system, user or assistant)"))
    if "content" not in m:
        out.append(("missing_content", f"message {i} has no 'content'"))
    elif not isinstance(m["content"], str):
        out.append(("non_string_content", f"message {i} content is {_kind(m['content'])}, not text"))
    elif not m["content"].strip():
        out.append(("empty_content", f"message {i} has empty content"))
    extra = sorted(set(m) - MESSAGE_KEYS)
    if extra:
        out.append(("unknown_key", f"message {i} has unknown key(s) {', '.join(map(repr, extra))} (only role and content)"))
    return out


def _order_errors(messages: list) -> list[tuple[str, str]]:
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    out = []
    for i, role in enumerate(roles[1:], 2):
        if role == "system":
            out.append(("misplaced_system", f"message {i} is a system turn; a system turn may only come first"))
    for i in range(1, len(roles)):
        if roles[i] is not None and roles[i] == roles[i - 1] and roles[i] in ROLES:
            out.append(("consecutive_roles", f"messages {i} and {i + 1} are both {roles[i]} turns (merge them or add the missing turn)"))
    if "assistant" not in roles:
        out.append(("no_assistant", "no assistant turn (nothing to learn from)"))
    elif roles[-1] != "assistant":
        out.append(("last_not_assistant", f"the last turn is {roles[-1]!r}, not the assistant's"))
    return out


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(type(value), "a number")


def _duplicates(rows: list[Row]) -> list[Issue]:
    exact: dict[str, int] = {}
    near: dict[str, int] = {}
    out = []
    for row in rows:
        if not isinstance(row.data, dict) or not isinstance(row.data.get("messages"), list):
            continue
        ek, nk = exact_key(row.data), normalized_key(row.data)
        if ek in exact:
            out.append(Issue(row.line, "duplicate", f"line {row.line}: exact duplicate of line {exact[ek]}", row.index))
        elif nk in near:
            out.append(Issue(row.line, "near_duplicate", f"line {row.line}: near duplicate of line {near[nk]} (same text ignoring case, punctuation and spacing)", row.index))
        exact.setdefault(ek, row.line)
        near.setdefault(nk, row.line)
    return out


def _schema_drift(rows: list[Row]) -> list[Issue]:
    """Rows whose top-level keys differ from the most common set (e.g. some rows lack 'tags')."""
    keysets = [(row, frozenset(row.data)) for row in rows if isinstance(row.data, dict)]
    if len(keysets) < 2:
        return []
    common, _ = Counter(k for _, k in keysets).most_common(1)[0]
    out = []
    for row, keys in keysets:
        if keys != common:
            missing, extra = sorted(common - keys), sorted(keys - common)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"extra {', '.join(extra)}"] if extra else [])
            out.append(Issue(row.line, "schema_drift", f"line {row.line}: keys differ from most rows ({'; '.join(parts)})", row.index))
    return out


def _placeholder_errors(conv: dict, region: str) -> list[tuple[str, str]]:
    from studio.data.placeholders import PlaceholderError, placeholder_values, problems, region_code

    try:
        code = region_code(region)
    except PlaceholderError as exc:
        return [("placeholder", str(exc))]
    values = placeholder_values(code) if any("{" in m["content"] for m in conv["messages"]) else {}
    return [("placeholder", f"message {i}: {problem}")
            for i, m in enumerate(conv["messages"], 1) if "{" in m["content"] for problem in problems(m["content"], code, values)]


def _rendered(rows: list[Row], broken: set[int | None], region: str) -> list[Row]:
    """The valid rows with placeholders filled in for ``region`` (what training will see)."""
    from studio.data.placeholders import render_conversation

    return [Row(row.line, row.index, render_conversation(row.data, region))
            for row in rows if row.index not in broken and isinstance(row.data, dict)]


def _token_checks(report: ValidationReport, tokenizer, max_length: int | None, rendered: list[Row]) -> list[int | None]:
    from studio.data.tokens import conversation_tokens

    by_index = {row.index: row.data for row in rendered}
    convs = [by_index.get(row.index, {}) for row in report.rows]
    counts = conversation_tokens(tokenizer, convs)
    if max_length:
        for row, n in zip(report.rows, counts, strict=True):
            if n is not None and n > max_length:
                report.warnings.append(Issue(row.line, "too_long", f"line {row.line}: {n} tokens, over max_length {max_length} (it will be truncated)", row.index))
    _trained_token_check(report, tokenizer, convs, counts)
    return counts


def _trained_token_check(report: ValidationReport, tokenizer, convs: list[dict], counts: list[int | None]) -> None:
    """The chat template must leave assistant tokens to train on; checked on the first valid example."""
    from studio.data.template import assistant_token_mask

    first = next((i for i, n in enumerate(counts) if n is not None), None)
    if first is None:
        return
    _, mask = assistant_token_mask(tokenizer, convs[first]["messages"])
    if not any(mask):
        row = report.rows[first]
        report.errors.append(Issue(row.line, "no_trained_tokens", f"line {row.line}: zero trained tokens: the chat template drops the assistant text, so training would learn nothing", row.index))


def _lint(rows: list[Row], region: str, rendered: list[Row]) -> tuple[list[Issue], list[Issue]]:
    """``(errors, warnings)`` of the clinical lint over the valid rows, reusing their ``rendered`` twins."""
    from studio.data.lint import Linter

    linter = Linter(region=region)
    renders = {row.index: row.data for row in rendered}
    for row in rows:
        if row.index in renders:
            linter.known_render(row.data, renders[row.index])
    linter.prepare([row.data for row in rows])
    errors: list[Issue] = []
    warnings = [Issue(None, "lint_limited", linter.notice)] if linter.notice else []
    for row in rows:
        for finding in linter.lint(row.data):
            issue = Issue(row.line, finding.code, f"line {row.line}: {finding.message}", row.index)
            (errors if finding.severity == "error" else warnings).append(issue)
    return errors, warnings
