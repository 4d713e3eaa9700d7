"""Validation rules one by one, with 1-based physical line numbers (blank lines counted)."""

from __future__ import annotations

import json

import pytest

from studio.data.files import FileReadError
from studio.data.validate import validate_conversations, validate_lines, validate_path

SYS = {"role": "system", "content": "You are a careful AI companion."}
USER = {"role": "user", "content": "How should I prepare for Friday?"}
BOT = {"role": "assistant", "content": "A calm evening and a written intention help many people."}


def line(messages, **extra) -> str:
    return json.dumps({"messages": messages, **extra})


def codes(report, kind="errors"):
    return [(i.line, i.code) for i in getattr(report, kind)]


GOOD = line([SYS, USER, BOT], tags=["prep"])


@pytest.mark.parametrize(
    "bad,code",
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_object"),
        ('"text"', "not_object"),
        (json.dumps({"tags": ["x"]}), "no_messages"),
        (json.dumps({"messages": "hi"}), "no_messages"),
        (json.dumps({"messages": []}), "empty_messages"),
        (line([SYS, {"content": "hi"}, BOT]), "missing_role"),
        (line([SYS, {"role": "user"}, BOT]), "missing_content"),
        (line([SYS, {"role": "human", "content": "hi"}, BOT]), "unknown_role"),
        (line([SYS, {"role": "user", "content": "hi", "name": "sam"}, BOT]), "unknown_key"),
        (line([SYS, {"role": "user", "content": "   "}, BOT]), "empty_content"),
        (line([SYS, {"role": "user", "content": ["hi"]}, BOT]), "non_string_content"),
        (line([SYS, USER]), "no_assistant"),
        (line([SYS, USER, BOT, USER]), "last_not_assistant"),
        (line([SYS, USER, USER, BOT]), "consecutive_roles"),
        (line([USER, SYS, BOT]), "misplaced_system"),
        (line([SYS, "hello", BOT]), "bad_message"),
    ],
)
def test_each_error_rule_with_line_numbers_counting_blank_lines(bad, code):
    text = f"{GOOD}\n\n{bad}\n   \n{GOOD.replace('Friday', 'Monday')}\n"
    report = validate_lines(text, lint=False)
    assert report.examples == 3
    assert (3, code) in codes(report), report.errors
    assert all(i.line == 3 for i in report.errors)
    error = next(i for i in report.errors if i.code == code)
    assert error.message.startswith("line 3:") and error.index == 1


def test_valid_file_has_no_errors_and_blank_lines_are_ignored():
    report = validate_lines(f"\n{GOOD}\n\n\n", lint=False)
    assert report.ok and report.examples == 1 and report.warnings == []
    assert report.stats["valid"] == 1 and report.stats["tags"] == {"prep": 1}


def test_crlf_and_unicode_line_separator_inside_text():
    weird = line([SYS, {"role": "user", "content": "a\u2028b"}, BOT])
    report = validate_lines(f"{GOOD}\r\n{weird}\r\n", lint=False)
    assert report.ok and report.examples == 2


def test_warnings_no_system_duplicates_and_schema_drift():
    rows = [
        GOOD,
        line([USER, BOT], tags=["prep"]),  # no system
        GOOD,  # exact duplicate of line 1
        line([SYS, {"role": "user", "content": "how should i PREPARE for friday"}, BOT], tags=["prep"]),  # near dup
        line([SYS, {"role": "user", "content": "Other?"}, BOT]),  # no tags: drift
    ]
    report = validate_lines("\n".join(rows), lint=False)
    assert report.ok
    warnings = codes(report, "warnings")
    assert (2, "no_system") in warnings
    assert (3, "duplicate") in warnings
    assert (4, "near_duplicate") in warnings
    assert (5, "schema_drift") in warnings
    assert report.stats["duplicates"] == 1 and report.stats["near_duplicates"] == 1


def test_too_long_uses_the_base_tokenizer(chatml_tokenizer):
    long_bot = {"role": "assistant", "content": "Breathe slowly. " * 80}
    report = validate_lines(f"{GOOD}\n{line([SYS, USER, long_bot], tags=['prep'])}", tokenizer=chatml_tokenizer, max_length=100, lint=False)
    assert codes(report, "warnings") == [(2, "too_long")]
    assert report.token_counts[0] < 100 < report.token_counts[1]
    exact = len(chatml_tokenizer.apply_chat_template([SYS, USER, BOT], tokenize=True, return_dict=True)["input_ids"])
    assert report.token_counts[0] == exact
    assert report.stats["tokens"]["over_max_length"] == 1


def test_to_dict_matches_cli_shape():
    report = validate_lines(f"{GOOD}\n{{oops", lint=False)
    data = report.to_dict()
    assert set(data) == {"examples", "errors", "warnings", "stats"}
    assert data["errors"] == [{"line": 2, "code": "invalid_json", "message": data["errors"][0]["message"]}]


def test_validate_conversations_numbers_like_the_stored_file():
    report = validate_conversations([json.loads(GOOD), {"messages": [USER]}], lint=False)
    assert (2, "no_assistant") in codes(report)
    assert report.issues_for(1)[0][0] == "error"


def test_lint_on_a_huge_dataset_uses_the_rules_and_says_so(monkeypatch):
    from studio.data import lint

    monkeypatch.setattr(lint, "LEARNED_MAX_TEXTS", 1)
    report = validate_lines(GOOD)
    assert report.ok and report.stats["lint"] == "rules only"
    assert codes(report, "warnings") == [(None, "lint_limited")]
    assert "safety rules only" in report.warnings[0].message


@pytest.mark.parametrize(
    "content,needle",
    [(b"", "empty"), (b"\n\n  \n", "empty"), (b"\x00\x01\x02binary", "binary"), (b'{"messages": "caf\xe9"}', "not UTF-8")],
)
def test_unreadable_files(tmp_path, content, needle):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(FileReadError, match=needle) as info:
        validate_path(path)
    assert "bad.jsonl" in str(info.value)


def test_non_utf8_message_says_where(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(GOOD.encode() + b'\n{"messages": "caf\xe9"}\n')
    with pytest.raises(FileReadError, match="line 2, column 18"):
        validate_path(path)


def test_over_the_size_limit(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text((GOOD + "\n") * 20)
    with pytest.raises(FileReadError, match="over the"):
        validate_path(path, limit_bytes=1000)
