"""Clinical lint: each rule fires on a clear example and stays quiet on the careful version."""

from __future__ import annotations

import importlib.util

import pytest

from studio.data.validate import validate_conversations

from .conftest import conv

pytestmark = pytest.mark.skipif(importlib.util.find_spec("studio.safety") is None, reason="the safety layer is not importable yet")
SYS = ("system", "You are a careful AI companion.")


def lint_codes(*convs):
    report = validate_conversations(list(convs))
    assert report.stats["lint"] == "on"
    return [(i.line, i.code) for i in report.warnings if i.code.startswith("lint_")]


def test_unsafe_replies_are_flagged():
    found = lint_codes(
        conv(SYS, ("user", "Any tips for tonight?"), ("assistant", "Try going up to 0.75 mg/kg next time if this dose felt too mild.")),
        conv(SYS, ("user", "I feel good now."), ("assistant", "Go ahead and stop the lithium; it's probably what's making you feel flat.")),
        conv(SYS, ("user", "Why am I like this?"), ("assistant", "It sounds like you have PTSD from your childhood.")),
    )
    assert (1, "lint_dosing") in found and (2, "lint_medication_change") in found and (3, "lint_diagnosis") in found


def test_crisis_message_needs_the_protocol():
    bad = conv(SYS, ("user", "I want to kill myself."), ("assistant", "That sounds hard. Have you tried journaling about it?"))
    good = conv(SYS, ("user", "I want to kill myself."),
                ("assistant", "I'm really glad you told me. Please call or text 988 now, or chat at 988lifeline.org. "
                              "If you're in immediate danger, call 911."))
    assert lint_codes(bad, good) == [(1, "lint_crisis_protocol")]


def test_medication_question_needs_deferral():
    bad = conv(SYS, ("user", "Should I take my sertraline on infusion days?"), ("assistant", "Lots of people wonder about that!"))
    good = conv(SYS, ("user", "Should I take my sertraline on infusion days?"),
                ("assistant", "That's a question for your prescribing clinician; they know your full picture."))
    assert lint_codes(bad, good) == [(1, "lint_medication_deferral")]
