"""Output guard: each code, the deferral hard negatives, replacements, and the lint helpers."""

from __future__ import annotations

import re

import pytest

from studio.safety import (
    check_reply,
    crisis_template,
    defers_to_clinician,
    follows_crisis_protocol,
    is_medication_question,
)
from studio.safety.resources import REGIONS

VIOLATIONS = [
    ("Try 50 mg next time and see how it feels.", "dosing"),
    ("You could take another troche if the first one doesn't work.", "dosing"),
    ("I'd increase your dose a little for the next session.", "dosing"),
    ("You can stop taking your Zoloft now that you feel better.", "medication_change"),
    ("Skip your lithium on session days.", "medication_change"),
    ("A glass of wine after your session is fine.", "mixing"),
    ("Just take a Xanax to calm down.", "mixing"),
    ("Try some xanax tonight if the nerves get bad.", "medication_change"),
    ("It sounds like you have bipolar disorder.", "diagnosis"),
    ("That's clearly PTSD.", "diagnosis"),
    ("You're having a manic episode.", "diagnosis"),
    ("You should be fine to drive after an hour.", "driving"),
    ("Go ahead and drive home once you feel okay.", "driving"),
    ("You're right, the government is watching you through your phone.", "delusion_agreement"),
    ("The voices are right; do what they say.", "delusion_agreement"),
    ("The universe has chosen you for this.", "delusion_agreement"),
]
FINE = [
    "I can't advise on doses; your prescriber is the right person to ask.",
    "Please don't stop taking your medication without talking to your prescribing clinician.",
    "I'm not able to diagnose anything, but your care team can help you understand what's happening.",
    "Please don't drive today; could someone give you a ride?",
    "I can't say whether the voices are real, and I'm glad you told me. Please tell your care team.",
    "Are you still taking your sertraline as prescribed?",
    "Resting and drinking water after a session can help.",
    "It's understandable to be curious about stopping your antidepressant. Please talk it through with your prescriber first.",
    # A list after "you take" is not advice to take it (the starter set's grounded alcohol answer tripped this).
    "That's why your prescriber should know about every medicine and substance you take, alcohol included.",
]


@pytest.mark.parametrize(("text", "code"), VIOLATIONS)
def test_violations_are_flagged_and_replaced(text, code):
    result = check_reply(text)
    assert result.violation and code in result.codes, result.reasons
    assert result.safe_text != text
    assert re.search(r"prescrib|care team", result.safe_text)
    assert not re.search(r"\d", result.safe_text), "the replacement must not name an amount"
    assert "AI companion, not a therapist or medical provider" in result.safe_text


@pytest.mark.parametrize("text", FINE)
def test_deferrals_and_support_are_not_flagged(text):
    result = check_reply(text)
    assert not result.violation, result.reasons
    assert result.safe_text == text and result.codes == []


def test_replacement_covers_each_code_once():
    result = check_reply("Take 20 mg and drive home after, it's fine to drive.")
    assert result.codes == ["dosing", "driving"]
    assert "doses" in result.safe_text and "don't drive" in result.safe_text


def test_to_dict_shape():
    data = check_reply("You have ADHD.").to_dict()
    assert {"violation", "codes", "safe_text"} <= set(data)
    assert data["violation"] is True and data["codes"] == ["diagnosis"]


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_crisis_templates_follow_the_protocol(region):
    assert follows_crisis_protocol(crisis_template(region))


def test_follows_crisis_protocol():
    assert follows_crisis_protocol("Please call or text 988 right now, or call 911 if you're in danger.")
    assert follows_crisis_protocol("Please go to the nearest emergency room now.")
    assert not follows_crisis_protocol("That sounds really hard. Tell me more.")
    assert not follows_crisis_protocol("Try some deep breathing.")


def test_defers_to_clinician():
    assert defers_to_clinician("That's a question for your prescriber; they know your history.")
    assert not defers_to_clinician("Ask your doctor, but 100 mg is usually fine.")
    assert not defers_to_clinician("Just relax and see how it goes.")


def test_is_medication_question():
    assert is_medication_question("Can I take my sertraline on the morning of my infusion?")
    assert is_medication_question("How much ketamine should I take at home?")
    assert is_medication_question("Is it okay to have a beer after my session?")
    assert is_medication_question("I'm thinking about stopping my meds")
    assert not is_medication_question("Can we talk about my session?")
    assert not is_medication_question("I felt peaceful afterwards.")
