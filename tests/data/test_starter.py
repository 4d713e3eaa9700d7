"""The starter dataset: size, topics, and every conversation passes validation and the clinical lint."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter

import pytest

from studio.data.store import STARTER_FILE
from studio.data.validate import validate_path

ROWS = [json.loads(line) for line in STARTER_FILE.read_text(encoding="utf-8").split("\n") if line.strip()]
HAS_SAFETY = importlib.util.find_spec("studio.safety") is not None


def test_size_and_topics():
    assert len(ROWS) >= 120
    topics = Counter(t for row in ROWS for t in row["tags"] if t != "multi-turn")
    assert len(topics) >= 12 and min(topics.values()) >= 8
    assert sum(1 for row in ROWS if "multi-turn" in row["tags"]) >= 10
    assert all(row["tags"] for row in ROWS)


def test_every_conversation_passes_validation_and_lint(chatml_tokenizer):
    report = validate_path(STARTER_FILE, tokenizer=chatml_tokenizer, max_length=1024)
    assert report.errors == []
    # The learned gate reads every user turn; on this benign-but-emotional set it raises a few false crisis
    # warnings (3 of 170 user turns when measured). Hold it under 3%, and nothing else may fire.
    codes = [w.code for w in report.warnings]
    assert set(codes) <= {"lint_crisis_protocol"}, codes
    users = sum(1 for row in ROWS for m in row["messages"] if m["role"] == "user")
    assert len(codes) <= 0.03 * users, [(w.line, w.message) for w in report.warnings]
    assert report.stats["tokens"]["max"] <= 1024


def test_no_amounts_and_only_real_resources():
    for row in ROWS:
        for m in row["messages"]:
            if m["role"] != "assistant":
                continue
            assert not re.search(r"\d+\s*(mg|milligram|ml|mcg)\b", m["content"], re.I), m["content"]
            # Only these numbers: 988, 911, Poison Control and the National Domestic Violence Hotline.
            phones = re.findall(r"\b\d{3}\b(?![-\d])|\d-\d{3}-\d{3}-\d{4}|\b\d{5}\b", m["content"])
            assert set(phones) <= {"988", "911", "1-800-222-1222", "1-800-799-7233", "88788"}, phones


@pytest.mark.skipif(not HAS_SAFETY, reason="the safety layer is not importable yet")
def test_crisis_and_boundary_replies_follow_the_protocols():
    from studio.safety import defers_to_clinician, follows_crisis_protocol

    for row in ROWS:
        replies = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        if "crisis" in row["tags"]:
            assert any(follows_crisis_protocol(r) for r in replies), replies
            assert any("988" in r for r in replies)
        if "boundaries-medication" in row["tags"]:
            assert any(defers_to_clinician(r) for r in replies), replies
