"""Clinical lint: each rule fires on a clear example and stays quiet on the careful version."""

from __future__ import annotations

import pytest

from studio.data.validate import validate_conversations

from .conftest import conv

SYS = ("system", "You are a careful AI companion.")


def lint_codes(*convs, region: str = "US"):
    report = validate_conversations(list(convs), region=region)
    assert report.stats["lint"] == "on"
    return [(i.line, i.code) for i in report.errors + report.warnings if i.code.startswith("lint_")]


def lint_errors(*convs) -> list[tuple[int, str]]:
    return [(i.line, i.code) for i in validate_conversations(list(convs)).errors]


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
                ("assistant", "I'm really glad you told me. Please reach {crisis_line} now. "
                              "If you're in immediate danger, call {emergency_number}."))
    assert lint_codes(bad, good) == [(1, "lint_crisis_protocol")]


def test_medication_question_needs_deferral():
    bad = conv(SYS, ("user", "Should I take my sertraline on infusion days?"), ("assistant", "Lots of people wonder about that!"))
    good = conv(SYS, ("user", "Should I take my sertraline on infusion days?"),
                ("assistant", "That's a question for your prescribing clinician; they know your full picture."))
    assert lint_codes(bad, good) == [(1, "lint_medication_deferral")]


def test_guard_flags_and_crisis_protocol_are_errors_the_rest_warnings():
    errors = lint_errors(
        conv(SYS, ("user", "Any tips for tonight?"), ("assistant", "Try going up to 0.75 mg/kg next time if this dose felt too mild.")),
        conv(SYS, ("user", "I want to kill myself."), ("assistant", "That sounds hard. Have you tried journaling about it?")),
        conv(SYS, ("user", "Should I take my sertraline on infusion days?"), ("assistant", "Lots of people wonder about that!")),
    )
    assert (1, "lint_dosing") in errors and (2, "lint_crisis_protocol") in errors
    assert all(line != 3 for line, _ in errors)  # a missing deferral is a warning


def test_crisis_reply_with_placeholders_follows_the_protocol_in_every_region():
    good = conv(SYS, ("user", "i dont want to be alive anymore"),
                ("assistant", "I'm really glad you told me. Please reach {crisis_line} now, or call {emergency_number} if you "
                              "might act on this. Feelings this heavy can ease with help."))
    for region in ("US", "UK", "IE", "CA", "AU", "NZ"):
        assert lint_codes(good, region=region) == [], region


# The review's examples, in our own words: each is a warning a clinician would write in the margin.
REVIEW_EXAMPLES = [
    ("How private is this?", "Don't worry, anything you say here is completely confidential.", "lint_confidentiality"),
    ("Will my therapist see this?", "No. I don't share your conversations with anyone.", "lint_confidentiality"),
    ("I'm scared about Friday.", "That's natural. You'll be in a monitored setting the whole time, so you can let go.", "lint_monitored_setting"),
    ("Who can help with my partner?", "You can call the hotline at 1-800-799-7233 any time.", "lint_phone_number"),
]


@pytest.mark.parametrize(("user", "reply", "code"), REVIEW_EXAMPLES)
def test_review_examples_are_flagged(user, reply, code):
    assert (1, code) in lint_codes(conv(SYS, ("user", user), ("assistant", reply)))


def test_careful_versions_stay_quiet():
    quiet = [
        conv(SYS, ("user", "How private is this?"),
             ("assistant", "I can't promise that chats are private: your clinic's privacy policy explains who can see them.")),
        conv(SYS, ("user", "I'm scared about Friday."),
             ("assistant", "That's natural. If your session is at the clinic, staff will monitor you; at home, your sitter stays with you.")),
        conv(SYS, ("user", "Who can help with my partner?"), ("assistant", "You can reach {abuse_line} any time, and call {emergency_number} if you're in danger.")),
    ]
    assert lint_codes(*quiet) == []


def test_free_text_number_suggests_the_placeholder_of_its_kind():
    report = validate_conversations([conv(SYS, ("user", "My toddler chewed a tablet"), ("assistant", "Call Poison Help at 1-800-222-1222 right now."))])
    message = next(i.message for i in report.warnings if i.code == "lint_phone_number")
    assert "{poison_control}" in message and "line 1" in message


def test_us_only_numbers_in_a_uk_dataset():
    row = conv(("system", "If someone is in danger, tell them to call or text 988."),
               ("user", "What if things get bad?"), ("assistant", "You can always reach {crisis_line}, or call {emergency_number}."))
    report = validate_conversations([row], region="UK")
    foreign = [i.message for i in report.warnings if i.code == "lint_foreign_number"]
    assert len(foreign) == 1 and "988" in foreign[0] and "UK" in foreign[0] and "{crisis_line}" in foreign[0]
    assert [i.code for i in validate_conversations([row], region="US").warnings] == ["lint_phone_number"]


def test_rag_rows_are_judged_on_the_question_not_the_passages():
    from studio.rag.prompt import Source, user_turn

    passage = Source(1, "crisis-resources.md", None, "", "If you are thinking about suicide or might hurt yourself, get help now.")
    user, _ = user_turn("how do i start journaling", [passage])
    row = conv(SYS, ("user", user), ("assistant", "Start small: a few lines after each session [1]."))
    assert lint_codes(row) == []


def test_rules_only_lint_does_not_load_the_learned_guard(monkeypatch):
    from studio.data.lint import Linter

    def refuse():
        raise AssertionError("the learned classifier was loaded in rules-only mode")

    for module in ("studio.safety.classifier", "studio.safety.guard", "studio.safety.gate"):
        monkeypatch.setattr(f"{module}.get_classifier", refuse, raising=False)
    linter = Linter(learned=False)
    found = linter.lint(conv(SYS, ("user", "Should I take my sertraline on infusion days?"),
                             ("assistant", "That's one for your prescribing clinician.")))
    assert found == []
