"""Crisis resources by region, the fixed crisis template, the concern check-in and the disclosure.

Every number here is a real national line, listed with the organisation's own site as its source.
Nothing is guessed: a region we have no verified lines for gets "your local emergency number" and
Find A Helpline's directory instead of a number. Fireside Project is peer support for psychedelic
experiences, never a crisis line, so it appears only in the non-urgent check-in.

The crisis template is admin-editable: a file under ``settings.data_dir`` overrides the default.
It must keep the ``{emergency}`` and ``{resources}`` placeholders so that an edit can never drop
the region's lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from studio.settings import Settings
from studio.util.io import atomic_write_text

DISCLOSURE = "AI companion, not a therapist or medical provider"


@dataclass(frozen=True)
class Resource:
    name: str
    how: str  # what to do, in words: "call or text 988"
    kind: str  # "emergency" | "crisis" | "support" (non-crisis)
    source: str  # the organisation's own site
    numbers: tuple[str, ...] = ()  # digits as people write them, for detection in replies

    def line(self) -> str:
        return f"- {self.name}: {self.how}"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    emergency: str  # how to reach emergency services, in words
    resources: tuple[Resource, ...]

    def crisis_lines(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.kind in ("emergency", "crisis"))

    def support_lines(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.kind == "support")


def _region(code: str, name: str, emergency: str, *resources: Resource) -> Region:
    return Region(code, name, emergency, resources)


REGIONS: dict[str, Region] = {
    "US": _region(
        "US", "United States", "911",
        Resource("988 Suicide & Crisis Lifeline", "call or text 988, or chat at 988lifeline.org (free, 24/7)", "crisis", "https://988lifeline.org", ("988",)),
        Resource("Emergency services", "call 911", "emergency", "https://www.911.gov", ("911",)),
        Resource("Fireside Project (psychedelic peer support, not a crisis line)", "call or text 62-FIRESIDE (623-473-7433); see firesideproject.org for hours", "support", "https://firesideproject.org", ("623-473-7433",)),
    ),
    "UK": _region(
        "UK", "United Kingdom", "999",
        Resource("Emergency services", "call 999", "emergency", "https://www.nhs.uk/nhs-services/mental-health-services/where-to-get-urgent-help-for-mental-health/", ("999",)),
        Resource("Samaritans", "call 116 123 (free, 24/7)", "crisis", "https://www.samaritans.org", ("116 123",)),
        Resource("NHS 111", "call 111 for urgent help that is not an emergency", "crisis", "https://111.nhs.uk", ("111",)),
    ),
    "IE": _region(
        "IE", "Ireland", "112 or 999",
        Resource("Emergency services", "call 112 or 999", "emergency", "https://www2.hse.ie/mental-health/", ("112", "999")),
        Resource("Samaritans Ireland", "call 116 123 (free, 24/7)", "crisis", "https://www.samaritans.org/ireland/", ("116 123",)),
    ),
    "CA": _region(
        "CA", "Canada", "911",
        Resource("9-8-8 Suicide Crisis Helpline", "call or text 9-8-8 (free, 24/7)", "crisis", "https://988.ca", ("988", "9-8-8")),
        Resource("Emergency services", "call 911", "emergency", "https://988.ca", ("911",)),
    ),
    "AU": _region(
        "AU", "Australia", "000",
        Resource("Emergency services (Triple Zero)", "call 000", "emergency", "https://www.triplezero.gov.au", ("000",)),
        Resource("Lifeline", "call 13 11 14 (24/7)", "crisis", "https://www.lifeline.org.au", ("13 11 14",)),
    ),
    "NZ": _region(
        "NZ", "New Zealand", "111",
        Resource("Emergency services", "call 111", "emergency", "https://1737.org.nz", ("111",)),
        Resource("Need to talk? 1737", "call or text 1737 (free, 24/7)", "crisis", "https://1737.org.nz", ("1737",)),
    ),
    # Fallback for regions without verified lines: no number is guessed.
    "INTL": _region(
        "INTL", "Other regions", "your local emergency number",
        Resource("Emergency services", "call your local emergency number", "emergency", "https://findahelpline.com"),
        Resource("Find A Helpline", "free, confidential crisis lines by country at findahelpline.com", "crisis", "https://findahelpline.com"),
    ),
}
_ALIASES = {"GB": "UK", "USA": "US", "IRELAND": "IE", "CANADA": "CA", "AUSTRALIA": "AU", "NEW ZEALAND": "NZ"}

DEFAULT_TEMPLATE = """I'm really glad you told me, and I'm sorry you're going through this. What you're describing sounds serious, and you deserve support from a real person right now.

Are you safe right now? If you might act on these thoughts, if someone has been hurt, or if someone is having trouble breathing or won't wake up, please call {emergency} now.

You can reach people who are there for exactly this:
{resources}
{clinic}
I'm an {disclosure}, so I can't help in an emergency, but these people can, any time of day or night. If you can, let someone near you know how you're feeling, and stay with them."""

PLACEHOLDERS = ("emergency", "resources", "clinic", "disclosure")
REQUIRED_PLACEHOLDERS = ("emergency", "resources")
_PLACEHOLDER = re.compile(r"\{([a-zA-Z_]*)\}")


class TemplateError(ValueError):
    """The admin's crisis template cannot be used; the message says what to change."""


def region_for(code: str | None) -> Region:
    """The region table entry for a code ("US", "uk", "GB"...); unknown codes get the fallback."""
    key = (code or "US").strip().upper()
    return REGIONS.get(_ALIASES.get(key, key), REGIONS["INTL"])


def resources_text(region: str = "US", clinic_phone: str = "") -> str:
    lines = [r.line() for r in region_for(region).crisis_lines()]
    if clinic_phone.strip():
        lines.append(f"- Your clinic: call {clinic_phone.strip()}")
    return "\n".join(lines)


def render_template(template: str, region: str = "US", clinic_phone: str = "") -> str:
    validate_template(template)
    reg = region_for(region)
    clinic = f"- Your clinic or care team: call {clinic_phone.strip()}\n" if clinic_phone.strip() else ""
    values = {
        "emergency": reg.emergency,
        "resources": "\n".join(r.line() for r in reg.crisis_lines()),
        "clinic": clinic,
        "disclosure": DISCLOSURE,
    }
    # Plain replacement, not str.format: an admin's text may contain other braces.
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def crisis_template(region: str = "US", clinic_phone: str = "", settings: Settings | None = None) -> str:
    """The full fixed crisis reply for a region (the admin's template when ``settings`` is given)."""
    template = load_crisis_template(settings) if settings is not None else DEFAULT_TEMPLATE
    return render_template(template, region, clinic_phone)


def concern_text(region: str = "US", clinic_phone: str = "") -> str:
    """The gentle check-in appended after the model's answer at level ``concern``."""
    reg = region_for(region)
    crisis = "; ".join(f"{r.name}: {r.how}" for r in reg.crisis_lines())
    text = (
        "I also want to gently check in, because some of what you said sounds heavy. How are you doing right now, "
        f"and are you safe? You don't have to carry this alone. If things get harder, you can reach people any time: {crisis}."
    )
    if clinic_phone.strip():
        text += f" Your clinic or care team is at {clinic_phone.strip()}."
    support = reg.support_lines()
    if support:
        text += " For non-crisis support after a psychedelic experience: " + "; ".join(f"{r.name}: {r.how}" for r in support) + "."
    return text


def first_message_notice(region: str = "US", clinic_phone: str = "") -> str:
    """The notice shown before the first message in Chat."""
    reg = region_for(region)
    return (
        f"I'm an {DISCLOSURE}. I can help you prepare for sessions, reflect on them and find ways to cope, but I "
        "can't give medical advice, doses or diagnoses; those belong with your prescribing clinician or care team. "
        f"If you are in crisis or in danger, please don't wait for me: {resources_text(reg.code, clinic_phone).replace(chr(10), ' ')}"
    )


def validate_template(text: str) -> None:
    if not text or not text.strip():
        raise TemplateError("The crisis template is empty. Write the reply, or reset it to the default.")
    found = set(_PLACEHOLDER.findall(text))
    unknown = sorted(found - set(PLACEHOLDERS))
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise TemplateError(f"Unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; use only {allowed}.")
    missing = [p for p in REQUIRED_PLACEHOLDERS if p not in found]
    if missing:
        raise TemplateError(
            f"The crisis template must keep {', '.join('{' + m + '}' for m in missing)} so the region's emergency "
            "number and crisis lines are always shown."
        )


def template_path(settings: Settings) -> Path:
    return settings.data_dir / "safety" / "crisis_template.md"


def load_crisis_template(settings: Settings | None) -> str:
    """The admin's template if one was saved (and is still valid), else the default."""
    if settings is None:
        return DEFAULT_TEMPLATE
    try:
        text = template_path(settings).read_text(encoding="utf-8")
        validate_template(text)
        return text
    except (FileNotFoundError, TemplateError):
        return DEFAULT_TEMPLATE


def save_crisis_template(settings: Settings, text: str) -> Path:
    """Validate and store the admin's template atomically; returns the file written."""
    validate_template(text)
    path = template_path(settings)
    atomic_write_text(path, text.strip() + "\n")
    return path


def reset_crisis_template(settings: Settings) -> None:
    template_path(settings).unlink(missing_ok=True)


def known_numbers() -> tuple[str, ...]:
    """Every crisis or emergency number in the table (for recognising real resources in replies)."""
    return tuple(sorted({n for reg in REGIONS.values() for r in reg.crisis_lines() for n in r.numbers}))
