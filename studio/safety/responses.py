"""The fixed crisis replies, one per kind of crisis, region-aware, and admin-editable.

At level urgent the model is never called: the reply is one of these templates, chosen by the
categories the gate found (``taxonomy.RESPONSE_KIND``) and filled from the verified resource table.
Each kind lists the lines that fit it, with the emergency number first where minutes count:
poison control for overdoses and poisoning, a domestic-violence line (and no advice to stay with
the people around) for abuse. Every reply ends with a short statement of hope.

An admin's edit of a template is stored under ``settings.data_dir/safety``. It must keep the
``{emergency}`` and ``{resources}`` placeholders so that an edit can never drop the region's lines.
"""

from __future__ import annotations

import re
from pathlib import Path

from studio.safety.resources import DISCLOSURE, region_for
from studio.safety.taxonomy import RESPONSE_KIND, RESPONSE_PRIORITY
from studio.settings import Settings
from studio.util.errors import UserError
from studio.util.io import atomic_write_text

KINDS = ("suicide", "overdose", "medical", "abuse", "harm_to_others", "psychosis")
KIND_LABELS = {
    "suicide": "Suicide and self-harm",
    "overdose": "Overdose and poisoning",
    "medical": "Medical emergency",
    "abuse": "Abuse or danger from another person",
    "harm_to_others": "Urge to harm someone else",
    "psychosis": "Psychosis or mania",
}
# Which resource kinds each reply lists, in order.
KIND_RESOURCES = {
    "suicide": ("crisis", "emergency"),
    "overdose": ("emergency", "poison", "crisis"),
    "medical": ("emergency",),
    "abuse": ("emergency", "abuse", "crisis"),
    "harm_to_others": ("emergency", "crisis"),
    "psychosis": ("emergency", "crisis"),
}

_HOPE = "Feelings this intense can pass, and help works. You reached out, and that matters."
_CLOSE = "I'm an {disclosure}, so I can't help in an emergency, but these people can, any time of day or night."

DEFAULT_TEMPLATES = {
    "suicide": f"""I'm really glad you told me, and I'm sorry you're going through this. What you're describing sounds serious, and you deserve support from a real person right now.

Are you safe right now? If you might act on these thoughts, or you have already hurt yourself, please call {{emergency}} now.

You can reach people who are there for exactly this:
{{resources}}
{{clinic}}
If you can, put medicines, blades or anything you might use out of reach, or ask someone to hold them for you, and let someone near you know how you're feeling.

{_CLOSE} {_HOPE}""",
    "overdose": f"""This could be a medical emergency, so please act now.

If anyone is hard to wake, breathing slowly or strangely, has blue lips, or has a seizure, call {{emergency}} right away. If a child or a pet swallowed medicine, call even if they seem fine.

{{resources}}
{{clinic}}
Put the rest of the medicine out of reach of children and pets, and keep the packaging to show the people who help. If this was on purpose, please tell them that too; you deserve care, not judgement.

{_CLOSE} {_HOPE}""",
    "medical": f"""What you're describing needs medical help now. Please call {{emergency}} first.

{{resources}}
{{clinic}}
Don't drive yourself. If someone is with you, ask them to stay with you until help arrives, and tell the responders about the medicine you took and when.

{_CLOSE} Getting checked quickly is the right call.""",
    "abuse": f"""I'm so sorry this is happening. It is not your fault, and you deserve to be safe.

If you are in danger right now, call {{emergency}} if you can do so safely.

These services help people in exactly this situation, in confidence, and can help you plan your next steps:
{{resources}}
{{clinic}}
If someone may be checking your phone or this chat, use a device they can't see and clear what you can.

{_CLOSE} People do get free of situations like this, and you don't have to do it alone.""",
    "harm_to_others": f"""Thank you for telling me; saying it out loud takes courage. When urges like this feel strong, the safest step is to get support from a real person right now.

If you might act on them, please call {{emergency}} now. If you can, put distance between yourself and the person, and put away anything that could be used to hurt someone.

{{resources}}
{{clinic}}
{_CLOSE} Urges like these can be treated, and asking for help is the right thing to do.""",
    "psychosis": f"""Thank you for telling me. What you're going through sounds really intense, and you deserve support from a real person today.

If the voices or thoughts are telling you to hurt yourself or anyone else, or you feel unsafe, please call {{emergency}} now.

{{resources}}
{{clinic}}
Please let your prescribing clinician or care team know today, and ask someone you trust to stay with you for now.

{_CLOSE} Experiences like this can settle with the right care."""
}
DEFAULT_TEMPLATE = DEFAULT_TEMPLATES["suicide"]

PLACEHOLDERS = ("emergency", "resources", "clinic", "disclosure")
REQUIRED_PLACEHOLDERS = ("emergency", "resources")
_PLACEHOLDER = re.compile(r"\{([a-zA-Z_]*)\}")


class TemplateError(UserError, ValueError):
    """The admin's crisis template cannot be used; the message says what to change."""


def kind_for(categories: list[str]) -> str:
    """The reply kind for the urgent categories found (the most time-critical one wins)."""
    kinds = {RESPONSE_KIND[c] for c in categories if c in RESPONSE_KIND}
    return next((k for k in RESPONSE_PRIORITY if k in kinds), "suicide")


def render_template(template: str, region: str = "US", clinic_phone: str = "", kind: str = "suicide") -> str:
    validate_template(template)
    reg = region_for(region)
    lines = reg.lines_of(*KIND_RESOURCES[_known(kind)])
    clinic = f"- Your clinic or care team: call {clinic_phone.strip()}\n" if clinic_phone.strip() else ""
    values = {
        "emergency": reg.emergency,
        "resources": "\n".join(r.line() for r in lines),
        "clinic": clinic,
        "disclosure": DISCLOSURE,
    }
    # Plain replacement, not str.format: an admin's text may contain other braces.
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def crisis_template(region: str = "US", clinic_phone: str = "", settings: Settings | None = None, kind: str = "suicide") -> str:
    """The full fixed crisis reply of one kind for a region (the admin's template when ``settings`` is given)."""
    template = load_crisis_template(settings, kind) if settings is not None else DEFAULT_TEMPLATES[_known(kind)]
    return render_template(template, region, clinic_phone, kind)


def crisis_reply(categories: list[str], region: str = "US", clinic_phone: str = "", settings: Settings | None = None) -> str:
    return crisis_template(region, clinic_phone, settings, kind_for(categories))


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


def template_path(settings: Settings, kind: str = "suicide") -> Path:
    # The suicide template kept the original file name, so earlier edits still apply.
    name = "crisis_template.md" if _known(kind) == "suicide" else f"crisis_template_{kind}.md"
    return settings.safety_dir / name


def load_crisis_template(settings: Settings | None, kind: str = "suicide") -> str:
    """The admin's template if one was saved (and is still valid), else the default."""
    default = DEFAULT_TEMPLATES[_known(kind)]
    if settings is None:
        return default
    try:
        text = template_path(settings, kind).read_text(encoding="utf-8")
        validate_template(text)
        return text
    except (FileNotFoundError, TemplateError):
        return default


def save_crisis_template(settings: Settings, text: str, kind: str = "suicide") -> Path:
    """Validate and store the admin's template atomically; returns the file written."""
    validate_template(text)
    path = template_path(settings, kind)
    atomic_write_text(path, text.strip() + "\n")
    return path


def reset_crisis_template(settings: Settings, kind: str = "suicide") -> None:
    template_path(settings, kind).unlink(missing_ok=True)


def _known(kind: str) -> str:
    if kind not in DEFAULT_TEMPLATES:
        raise TemplateError(f"Unknown crisis reply kind {kind!r}; use one of {', '.join(KINDS)}.")
    return kind
