"""One turn through the safety layer: at urgent the model is never called."""

from __future__ import annotations

from studio.safety import crisis_template, safe_reply


def _must_not_be_called() -> str:
    raise AssertionError("the model was called for an urgent message")


def test_urgent_uses_the_fixed_template_and_never_calls_the_model(settings):
    local = settings.with_(region="AU", clinic_phone="02 5550 1234")
    reply = safe_reply("I'm going to end my life tonight", _must_not_be_called, local, learned=False)
    assert reply.model_called is False and reply.guard is None
    assert reply.text == crisis_template("AU", "02 5550 1234", local)
    assert reply.flags == ["crisis:urgent"]


def test_ordinary_turn_is_generated_and_guarded(settings):
    reply = safe_reply("How should I prepare for tomorrow?", lambda: "You could take 2 mg of it before.", settings, learned=False)
    assert reply.model_called and reply.flags == ["guard:dosing"]
    assert "prescribing clinician" in reply.text and "2 mg" not in reply.text


def test_concern_appends_the_check_in(settings):
    reply = safe_reply("Everything feels hopeless", lambda: "I'm here with you.", settings, learned=False)
    assert reply.text.startswith("I'm here with you.") and "988" in reply.text
    assert reply.flags == ["crisis:concern"]
    assert set(reply.to_dict()) == {"text", "model_called", "flags", "crisis", "guard"}
