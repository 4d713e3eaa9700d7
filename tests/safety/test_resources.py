"""Crisis resources by region, the template (default and admin-edited) and the disclosure."""

from __future__ import annotations

import pytest

from studio.safety import (
    DISCLOSURE,
    REGIONS,
    TemplateError,
    check_user_message,
    concern_text,
    crisis_template,
    first_message_notice,
    load_crisis_template,
    reset_crisis_template,
    save_crisis_template,
)
from studio.safety.responses import DEFAULT_TEMPLATE, template_path

EXPECTED = {
    "US": ["988", "988lifeline.org", "911"],
    "UK": ["999", "116 123", "111"],
    "IE": ["112", "999", "116 123"],
    "CA": ["9-8-8", "911"],
    "AU": ["000", "13 11 14"],
    "NZ": ["111", "1737"],
}


def test_disclosure_text():
    assert DISCLOSURE == "AI companion, not a therapist or medical provider"
    assert DISCLOSURE in first_message_notice() and "988" in first_message_notice()


def test_us_template_has_988_chat_911_and_asks_about_safety():
    text = crisis_template("US")
    for needle in ("call or text 988", "988lifeline.org", "911", "Are you safe right now?", DISCLOSURE):
        assert needle in text
    assert "Your clinic" not in text


def test_clinic_phone_is_included_when_set():
    assert "+1 555 0100" in crisis_template("US", "+1 555 0100")
    assert "+1 555 0100" in concern_text("US", "+1 555 0100")


@pytest.mark.parametrize(("region", "needles"), sorted(EXPECTED.items()))
def test_region_resources(region, needles):
    text = crisis_template(region)
    for needle in needles:
        assert needle in text
    for resource in REGIONS[region].resources:
        assert resource.source.startswith("https://")


def test_fireside_is_support_only_never_in_the_crisis_template():
    assert "Fireside" not in crisis_template("US")
    assert "Fireside" in concern_text("US")
    assert all(r.kind == "support" for r in REGIONS["US"].resources if "Fireside" in r.name)


def test_unknown_region_invents_no_number():
    text = crisis_template("FR")
    assert "local emergency number" in text and "findahelpline.com" in text
    assert "988" not in text and "911" not in text
    assert crisis_template("gb") == crisis_template("UK")


def test_admin_template_round_trip(settings):
    assert load_crisis_template(settings) == DEFAULT_TEMPLATE
    custom = "We care about you. Call {emergency} now.\n{resources}\n{clinic}Reach our team any time."
    path = save_crisis_template(settings, custom)
    assert path == template_path(settings) and path.read_text().strip() == custom
    assert [p.name for p in path.parent.iterdir()] == [path.name], "atomic write leaves no temp files"
    assert load_crisis_template(settings).strip() == custom
    rendered = crisis_template("US", "555-0100", settings)
    assert rendered.startswith("We care about you. Call 911 now.") and "988lifeline.org" in rendered and "555-0100" in rendered
    result = check_user_message("I want to kill myself", learned=False, settings=settings)
    assert result.response.startswith("We care about you.")
    reset_crisis_template(settings)
    assert load_crisis_template(settings) == DEFAULT_TEMPLATE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Call {emergency}.", "{resources}"),
        ("{resources} only", "{emergency}"),
        ("{emergency} {resources} {phone}", "Unknown placeholder"),
    ],
)
def test_invalid_templates_are_refused_with_a_reason(settings, text, message):
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")):
        save_crisis_template(settings, text)
    assert not template_path(settings).exists()
