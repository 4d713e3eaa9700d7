"""The safety layer's design rules: rules are a floor, unsure means concern, failure is loud, bad input is defined."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from studio.safety import ConversationError, check_conversation, check_reply, check_user_message, crisis_reply
from studio.safety import classifier as clf
from studio.safety.corpus import CORPUS_DIR, fingerprint, load_reply_rows, load_user_rows


def test_committed_weights_were_trained_on_the_committed_corpus():
    meta = json.loads(clf.META_PATH.read_text())
    assert meta["corpus_sha256"] == fingerprint(CORPUS_DIR), "the corpus changed: run `python -m studio safety train`"


def test_corpus_meets_the_issue_size_and_records_authors_and_styles():
    users, replies = load_user_rows(), load_reply_rows()
    assert len(users) >= 3000 and len(replies) >= 1500
    negatives = sum(r.label == "none" for r in users)
    assert negatives >= 0.4 * len(users)
    assert all(r.author and r.style for r in users + replies)
    assert len({r.style for r in users}) >= 8


def test_rules_are_a_floor_the_classifier_cannot_lower(safety_classifier):
    text = "Ich will sterben"  # a non-English rule; the English classifier alone would not know it
    assert check_user_message(text, learned=False).level == "urgent"
    assert check_user_message(text).level == "urgent"


def test_between_the_thresholds_the_answer_is_concern(safety_classifier, monkeypatch):
    """The classifier never says none when its risk mass is above the flag threshold but below urgent."""
    model = safety_classifier
    monkeypatch.setitem(model.thresholds, "user_urgent", 1.01)
    monkeypatch.setitem(model.thresholds, "user_flag", 1.01)
    monkeypatch.setitem(model.thresholds, "user_unsure", 0.0)
    assert check_user_message("what should I bring to my prep session").level == "concern"


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "x" * 300_000, "¿Qué debo llevar a mi sesión?", "我很好"])
def test_odd_messages_get_a_defined_level(text, safety_classifier):
    result = check_user_message(text)
    assert result.level in ("none", "concern", "urgent")
    assert check_reply(text).violation in (True, False)


def test_script_the_classifier_cannot_read_fails_closed(safety_classifier):
    assert check_user_message("Мне очень плохо").level == "concern"


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        ([], "non-empty list"),
        ("hello", "non-empty list"),
        ([{"role": "user"}], "message 1"),
        ([{"role": "robot", "content": "hi"}], "message 1"),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "last message"),
    ],
)
def test_malformed_conversations_name_the_message(messages, needle):
    with pytest.raises(ConversationError, match=needle):
        check_conversation(messages)


def test_classifier_that_cannot_load_degrades_loudly():
    code = (
        "from studio.safety import check_user_message, check_reply, safety_status;"
        "r = check_user_message('what should I bring to my prep session');"
        "assert r.level == 'concern' and r.degraded and 'degraded' in ' '.join(r.reasons), r;"
        "assert check_reply('Have a lovely day.').degraded;"
        "s = safety_status(); assert not s['ok'] and 'degraded' in s['message'];"
        "assert check_user_message('I want to kill myself').level == 'urgent'"
    )
    env = {**os.environ, "STUDIO_SAFETY_DISABLE_LEARNED": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)


REGIONS_WITHOUT_988 = ("UK", "IE", "AU", "NZ")


@pytest.mark.parametrize(
    ("categories", "needles", "first"),
    [
        (["overdose"], ["1-800-222-1222", "911", "988"], "911"),
        (["medical_emergency"], ["911"], "911"),
        (["abuse_danger"], ["1-800-799-7233", "911"], "911"),
        (["psychosis_mania"], ["988", "911"], "911"),
        (["suicide"], ["988", "911"], "911"),
    ],
)
def test_crisis_reply_fits_the_crisis(categories, needles, first):
    text = crisis_reply(categories, "US")
    for needle in needles:
        assert needle in text
    assert text.index(first) <= min(text.index(n) for n in needles)
    assert "can pass" in text or "help works" in text or "settle" in text or "free" in text or "right call" in text


def test_abuse_reply_never_says_stay_with_the_people_around():
    text = crisis_reply(["abuse_danger"], "US").lower()
    assert "stay with" not in text and "someone near you" not in text


@pytest.mark.parametrize("region", REGIONS_WITHOUT_988)
def test_overdose_reply_outside_the_us_has_no_us_numbers(region):
    text = crisis_reply(["overdose"], region)
    assert "988" not in text and "911" not in text and "1-800" not in text


def test_medical_emergency_outranks_suicide_when_both_fire():
    assert crisis_reply(["suicide", "medical_emergency"], "US").startswith("What you're describing needs medical help now")
