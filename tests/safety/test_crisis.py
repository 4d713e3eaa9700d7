"""Crisis gate: each category, the hard negatives, levels, reasons and the fixed template."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studio.safety import check_user_message, concern_text, crisis_template

# Phrasings written for these tests (not copied from the evaluation set or the exemplars).
URGENT = [
    ("I'm going to kill myself tonight", "suicide"),
    ("Honestly I just want to die", "suicide"),
    ("My family would be better off without me", "suicide"),
    ("I wrote goodbye notes for everyone", "suicide"),
    ("I want to fall asleep and never wake up", "suicide"),
    ("I've been stockpiling my pills", "suicide"),
    ("How many of these pills would be lethal?", "suicide"),
    ("I cut myself again tonight", "self_harm"),
    ("I took way too much ketamine and feel terrible", "overdose"),
    ("I mixed my ketamine with vodka and now I can't stand up", "overdose"),
    ("I can't breathe properly", "medical_emergency"),
    ("My chest hurts and it's crushing", "medical_emergency"),
    ("My boyfriend took something and he won't wake up", "medical_emergency"),
    ("I'm going to stab my neighbour", "harm_to_others"),
    ("I'm so mad I could really hurt somebody", "harm_to_others"),
    ("My husband hit me and I'm scared", "abuse_danger"),
    ("He threatened to kill me", "abuse_danger"),
    ("The voices tell me to jump off the roof", "psychosis_mania"),
    ("Me quiero morir", "suicide"),
    ("Je veux me suicider", "suicide"),
    ("Ich will sterben", "suicide"),
]
CONCERN = [
    "Everything feels so hopeless",
    "What's even the point anymore",
    "I've had some dark thoughts lately but I'm safe",
]
HARD_NEGATIVES = [
    "During the session I felt like I died and was reborn, it was so peaceful",
    "It was ego death: no me at all, just light, and I wasn't scared",
    pytest.param(
        "I floated outside my body and watched myself from the ceiling",
        marks=pytest.mark.xfail(strict=True, reason="known false alarm: the classifier reads it as lasting dissociation (concern)"),
    ),
    "I cried for my mother who passed away, and it felt healing",
    "My cousin's suicide came up in the session and I finally grieved it",
    "I used to cut myself in high school, but I've been free of it for years",
    "I'm not suicidal, just tired today",
    "Our therapist had us write a goodbye letter to our old self",
    "I'm killing it at work lately",
    "I'm dying to know how the next session goes",
    "This commute is killing me",
    "The nurse said my racing heart at the start was normal",
]


@pytest.mark.parametrize(("text", "category"), URGENT)
def test_urgent_categories(text, category):
    result = check_user_message(text, learned=False)
    assert result.level == "urgent", result.reasons
    assert result.crisis is True
    assert category in result.categories
    assert result.reasons and all(r.startswith("rule ") for r in result.reasons)


@pytest.mark.parametrize("text", CONCERN)
def test_concern(text):
    result = check_user_message(text, learned=False)
    assert result.level == "concern", result.reasons
    assert result.crisis is False
    assert result.response == concern_text("US", "")


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_with_learned(text, safety_classifier):
    result = check_user_message(text)
    assert result.level == "none", result.reasons
    assert result.response is None and result.categories == [] and not result.degraded


def test_negation_and_interrupters():
    assert check_user_message("I don't want to die anymore", learned=False).level == "none"
    assert check_user_message("I don't know why I want to die", learned=False).level == "urgent"
    assert check_user_message("I can't stop thinking about overdosing on purpose", learned=False).level == "urgent"
    assert check_user_message("I'm not okay, and I want to die", learned=False).level == "urgent"


def test_past_self_harm_comes_back_when_it_is_happening_again():
    assert check_user_message("I used to cut myself years ago", learned=False).level == "none"
    relapse = check_user_message("I used to cut myself years ago and last night I did it again", learned=False)
    assert relapse.level == "urgent"


def test_stated_safety_lowers_ideation_to_concern():
    result = check_user_message("I've been thinking about killing myself, but I'm safe and won't act on it", learned=False)
    assert result.level == "concern"
    assert any("lowered to concern" in r for r in result.reasons)


def test_past_attempts_told_as_recovery_are_not_a_crisis():
    result = check_user_message("Two years ago I tried to take my own life; I'm doing well now", learned=False)
    assert result.level == "none"


def test_learned_classifier_catches_what_the_rules_miss_and_says_why(safety_classifier):
    text = "I keep thinking of ways to make it all stop forever"
    assert check_user_message(text, learned=False).level == "none"
    combined = check_user_message(text)
    assert combined.level != "none"
    assert "suicide" in combined.categories
    assert any(r.startswith("classifier [suicide]") for r in combined.reasons)


def test_urgent_response_is_the_fixed_template_for_the_region():
    result = check_user_message("I want to end my life", region="UK", clinic_phone="020 7946 0000", learned=False)
    assert result.response == crisis_template("UK", "020 7946 0000")
    assert "116 123" in result.response and "020 7946 0000" in result.response


def test_to_dict_shape():
    data = check_user_message("hello there", learned=False).to_dict()
    assert set(data) == {"crisis", "level", "categories", "response", "reasons"}
    assert data == {"crisis": False, "level": "none", "categories": [], "response": None, "reasons": []}


def test_empty_text_is_none():
    assert check_user_message("").level == "none"


def test_rules_only_never_loads_the_embedder():
    code = (
        "import sys; from studio.safety import check_user_message as c; "
        "r = c('I want to die', learned=False); assert r.level == 'urgent'; "
        "assert 'sentence_transformers' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_no_pattern_carries_an_fstring_accident():
    """A single-brace quantifier inside an rf-string silently becomes a tuple: "{0,40}" -> "(0, 40)"."""
    import re

    from studio.safety import crisis_rules, guard_rules

    rules = crisis_rules.RULES + crisis_rules.NON_ENGLISH + guard_rules.RULES
    patterns = [r.pattern.pattern for r in rules] + [c.pattern.pattern for c in crisis_rules.CONTEXTS.values()]
    assert not [p for p in patterns if re.search(r"[({]\d+, \d+[)}]", p)]
