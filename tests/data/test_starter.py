"""The starter dataset: size, coverage, region rendering, and every conversation passes validation and the lint."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from studio.data.lint_text import phone_numbers
from studio.data.placeholders import render_rows
from studio.data.store import STARTER_FILE
from studio.data.validate import validate_path
from studio.rag.prompt import REFERENCE_HEADER, question_of
from studio.safety.resources import REGIONS

ROWS = [json.loads(line) for line in STARTER_FILE.read_text(encoding="utf-8").split("\n") if line.strip()]
VERIFIED = ("US", "UK", "IE", "CA", "AU", "NZ")
CRISIS_TURNS = STARTER_FILE.parents[1] / "dataset-src" / "crisis_turns.jsonl"
CRISIS_PLACEHOLDERS = re.compile(r"\{(?:crisis_line|emergency_number|poison_control|abuse_line)\}")


def _replies(row: dict) -> list[str]:
    return [m["content"] for m in row["messages"] if m["role"] == "assistant"]


def test_size_and_coverage():
    assert len(ROWS) >= 300
    tags = Counter(t for row in ROWS for t in row["tags"])
    for kind in ("psychosis-mania", "command-voices", "harm-to-others", "medical-emergency", "child-ingestion", "refuses-help",
                 "misuse", "bladder", "at-home", "pregnancy", "outside-us", "messy-text", "alcohol"):
        assert tags[kind] >= 4, kind
    assert tags["multi-turn"] >= 40 and tags["knowledge-grounded"] >= 40
    assert all(row["tags"] for row in ROWS)


def test_reply_shapes_vary():
    replies = [r for row in ROWS for r in _replies(row)]
    assert sum(r.rstrip().endswith("?") for r in replies) <= 0.5 * len(replies)


def test_knowledge_grounded_rows_use_the_chat_format_and_cite_their_passages():
    grounded = [row for row in ROWS if "knowledge-grounded" in row["tags"]]
    with_passages = [row for row in grounded if row["messages"][1]["content"].startswith(REFERENCE_HEADER)]
    assert len(with_passages) >= 40
    citing = 0
    for row in with_passages:
        user, answer = row["messages"][1]["content"], row["messages"][2]["content"]
        numbers = set(re.findall(r'<reference number="(\d+)"', user))
        cited = set(re.findall(r"\[(\d+)\]", answer))
        assert question_of(user) != user and cited <= numbers, (question_of(user), cited, numbers)
        citing += bool(cited)  # an answer the passages do not support says so instead of citing
    assert citing >= 40


@pytest.mark.parametrize("region", VERIFIED)
def test_rendered_for_each_region_has_only_that_regions_numbers(region):
    text = json.dumps(render_rows(ROWS, region).rows, ensure_ascii=False)
    assert not CRISIS_PLACEHOLDERS.search(text)
    own = {re.sub(r"\D", "", n) for r in REGIONS[region].resources for n in r.numbers}
    foreign = {digits for _, digits in phone_numbers(text)} - own
    assert not foreign, foreign
    if region != "US":
        assert "988" not in text or region == "CA"


def test_no_amounts_and_no_free_text_numbers_in_replies():
    for row in ROWS:
        for reply in _replies(row):
            assert not re.search(r"\d+\s*(mg|milligram|ml|mcg)\b", reply, re.I), reply
            assert phone_numbers(reply) == [], reply


def test_every_conversation_passes_validation_and_lint(chatml_tokenizer):
    report = validate_path(STARTER_FILE, tokenizer=chatml_tokenizer, max_length=1024)
    assert [e.message for e in report.errors] == []
    assert [w.message for w in report.warnings] == []
    assert report.stats["tokens"]["max"] <= 1024


def test_crisis_and_boundary_replies_follow_the_protocols():
    from studio.safety import defers_to_clinician, follows_crisis_protocol

    for row in render_rows([r for r in ROWS if {"crisis", "boundaries-medication"} & set(r["tags"])], "US").rows:
        replies = _replies(row)
        if "crisis" in row["tags"]:
            assert any(follows_crisis_protocol(r) for r in replies), replies
        if "boundaries-medication" in row["tags"]:
            assert any(defers_to_clinician(r) for r in replies), replies


def test_the_gate_escalates_every_crisis_user_turn():
    """Each user turn its writer marked as a crisis (examples/dataset-src/crisis_turns.jsonl) is rated urgent or concern.

    Multi-turn crisis conversations often open with an ordinary question; those turns are marked false.
    """
    from studio.safety import check_conversation

    marks = {m["first_user"]: m["crisis_turns"] for m in map(json.loads, CRISIS_TURNS.read_text(encoding="utf-8").splitlines())}
    crisis_rows = [r for r in ROWS if "crisis" in r["tags"]]
    assert len(marks) == len(crisis_rows) >= 60
    missed, checked = [], 0
    for raw in crisis_rows:
        row = render_rows([raw], "US").rows[0]  # earlier crisis replies are read as Chat shows them
        turns = [m for m in row["messages"] if m["role"] != "system"]
        users = [i for i, m in enumerate(turns) if m["role"] == "user"]
        flags = marks[raw["messages"][1]["content"]]
        assert len(flags) == len(users)
        for i, is_crisis in zip(users, flags, strict=True):
            if is_crisis:
                checked += 1
                so_far = [{**m, "content": question_of(m["content"])} for m in turns[: i + 1]]
                if check_conversation(so_far).level == "none":
                    missed.append(turns[i]["content"])
    assert checked >= 80 and missed == []


def test_knowledge_grounded_rows_are_what_the_builder_makes(capsys):
    """The 48 RAG rows are built from stored briefs and hand-written answers (examples/dataset-src)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_rag_rows", STARTER_FILE.parents[1] / "dataset-src" / "build_rag_rows.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    builder.rows()
    built = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert built == [row for row in ROWS if "knowledge-grounded" in row["tags"]]
