"""Crisis resources by region (the one verified table), the concern check-in and the disclosure.

Every number here is a real line, listed with the organisation's own site as its source (checked
2026-11-30). Nothing is guessed: a region we have no verified lines for gets "your local emergency
number" and Find A Helpline's directory instead of a number; a region without a national poison or
domestic-violence line gets its emergency number for those. Fireside Project is peer support for
psychedelic experiences, never a crisis line, so it appears only in the non-urgent check-in.
The fixed crisis replies that use this table live in ``studio.safety.responses``.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCLOSURE = "AI companion, not a therapist or medical provider"


@dataclass(frozen=True)
class Resource:
    name: str
    how: str  # what to do, in words: "call or text 988"
    kind: str  # "emergency" | "crisis" | "poison" | "abuse" | "support" (non-crisis)
    source: str  # the organisation's own site
    numbers: tuple[str, ...] = ()  # digits as people write them, for detection in replies
    phrase: str = ""  # how running text names it, for the dataset placeholders ("the 988 ... (call or text 988)")

    def line(self) -> str:
        return f"- {self.name}: {self.how}"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    emergency: str  # how to reach emergency services, in words
    resources: tuple[Resource, ...]

    def emergency_action(self) -> str:
        return f"call {self.emergency}" if self.emergency[0].isdigit() else f"call {self.emergency}"

    def crisis_lines(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.kind in ("emergency", "crisis"))

    def support_lines(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.kind == "support")

    def lines_of(self, *kinds: str) -> tuple[Resource, ...]:
        """The resources of these kinds, in the order the kinds are given."""
        return tuple(r for kind in kinds for r in self.resources if r.kind == kind)


def _region(code: str, name: str, emergency: str, *resources: Resource) -> Region:
    return Region(code, name, emergency, resources)


REGIONS: dict[str, Region] = {
    "US": _region(
        "US", "United States", "911",
        Resource("988 Suicide & Crisis Lifeline", "call or text 988, or chat at 988lifeline.org (free, 24/7)", "crisis", "https://988lifeline.org", ("988",), phrase="the 988 Suicide & Crisis Lifeline (call or text 988, or chat at 988lifeline.org)"),
        Resource("Emergency services", "call 911", "emergency", "https://www.911.gov", ("911",)),
        Resource("Poison Help (poison control)", "call 1-800-222-1222 (free, 24/7)", "poison", "https://poisonhelp.hrsa.gov", ("1-800-222-1222",), phrase="Poison Help (call 1-800-222-1222, free, 24/7)"),
        Resource("National Domestic Violence Hotline", "call 1-800-799-7233, text START to 88788, or chat at thehotline.org (24/7)", "abuse", "https://www.thehotline.org", ("1-800-799-7233",), phrase="the National Domestic Violence Hotline (call 1-800-799-7233, text START to 88788, or chat at thehotline.org)"),
        Resource("Fireside Project (psychedelic peer support, not a crisis line)", "call or text 62-FIRESIDE (623-473-7433); see firesideproject.org for hours", "support", "https://firesideproject.org", ("623-473-7433",)),
    ),
    "UK": _region(
        "UK", "United Kingdom", "999",
        Resource("Emergency services", "call 999", "emergency", "https://www.nhs.uk/nhs-services/mental-health-services/where-to-get-urgent-help-for-mental-health/", ("999",)),
        Resource("Samaritans", "call 116 123 (free, 24/7)", "crisis", "https://www.samaritans.org", ("116 123",), phrase="Samaritans (call 116 123, free, 24/7)"),
        Resource("NHS 111", "call 111 for urgent help that is not an emergency", "crisis", "https://111.nhs.uk", ("111",)),
        # The UK has no public poison line: NHS 111 gives poisoning advice, 999 when someone is very unwell.
        Resource("NHS 111 (poisoning advice)", "call 111, or 999 if the person is very unwell", "poison", "https://www.nhs.uk/conditions/poisoning/", ("111",), phrase="NHS 111 (call 111, or 999 if the person is very unwell)"),
        Resource("National Domestic Abuse Helpline (Refuge)", "call 0808 2000 247 (free, 24/7)", "abuse", "https://www.nationaldahelpline.org.uk", ("0808 2000 247",), phrase="the National Domestic Abuse Helpline (call 0808 2000 247, free, 24/7)"),
    ),
    "IE": _region(
        "IE", "Ireland", "112 or 999",
        Resource("Emergency services", "call 112 or 999", "emergency", "https://www2.hse.ie/mental-health/", ("112", "999")),
        Resource("Samaritans Ireland", "call 116 123 (free, 24/7)", "crisis", "https://www.samaritans.org/ireland/", ("116 123",), phrase="Samaritans Ireland (call 116 123, free, 24/7)"),
        Resource("Public Poisons Information Line", "call 01 809 2166 (8am to 10pm daily; at other times your GP or an emergency department)", "poison", "https://poisons.ie/public/", ("01 809 2166",), phrase="the Public Poisons Information Line (call 01 809 2166, 8am to 10pm daily; at other times your GP or an emergency department)"),
        Resource("Women's Aid 24hr National Freephone Helpline", "call 1800 341 900 (free, 24/7)", "abuse", "https://www.womensaid.ie", ("1800 341 900",), phrase="the Women's Aid National Freephone Helpline (call 1800 341 900, free, 24/7)"),
    ),
    "CA": _region(
        "CA", "Canada", "911",
        Resource("9-8-8 Suicide Crisis Helpline", "call or text 9-8-8 (free, 24/7)", "crisis", "https://988.ca", ("988", "9-8-8"), phrase="the 9-8-8 Suicide Crisis Helpline (call or text 9-8-8)"),
        Resource("Emergency services", "call 911", "emergency", "https://988.ca", ("911",)),
        Resource("Poison centres (1-844 POISON-X)", "call 1-844-764-7669 (24/7; in Quebec, the Centre antipoison du Québec at 1-800-463-5060)", "poison", "https://www.canada.ca/en/health-canada/news/2023/03/health-canada-launches-new-toll-free-number-for-poison-centres.html", ("1-844-764-7669", "1-800-463-5060"), phrase="your poison centre (call 1-844-764-7669, 24/7; in Quebec, 1-800-463-5060)"),
        # Canada has no single national domestic-violence line; ShelterSafe maps the shelters and their crisis lines.
        Resource("ShelterSafe (women's shelters and their crisis lines, by location)", "find the nearest shelter's 24/7 line at sheltersafe.ca", "abuse", "https://sheltersafe.ca", phrase="a local shelter's 24/7 crisis line (ShelterSafe lists them by location at sheltersafe.ca)"),
    ),
    "AU": _region(
        "AU", "Australia", "000",
        Resource("Emergency services (Triple Zero)", "call 000", "emergency", "https://www.triplezero.gov.au", ("000",)),
        Resource("Lifeline", "call 13 11 14 (24/7)", "crisis", "https://www.lifeline.org.au", ("13 11 14",), phrase="Lifeline (call 13 11 14, 24/7)"),
        Resource("Poisons Information Centre", "call 13 11 26 (24/7)", "poison", "https://www.poisonsinfo.nsw.gov.au", ("13 11 26",), phrase="the Poisons Information Centre (call 13 11 26, 24/7)"),
        Resource("1800RESPECT", "call 1800 737 732 (24/7)", "abuse", "https://www.1800respect.org.au", ("1800 737 732",), phrase="1800RESPECT (call 1800 737 732, 24/7)"),
    ),
    "NZ": _region(
        "NZ", "New Zealand", "111",
        Resource("Emergency services", "call 111", "emergency", "https://1737.org.nz", ("111",)),
        Resource("Need to talk? 1737", "call or text 1737 (free, 24/7)", "crisis", "https://1737.org.nz", ("1737",), phrase="the Need to talk? 1737 line (call or text 1737, free, 24/7)"),
        Resource("National Poisons Centre", "call 0800 764 766 (0800 POISON, 24/7)", "poison", "https://www.poisons.co.nz", ("0800 764 766",), phrase="the National Poisons Centre (call 0800 764 766, 24/7)"),
        Resource("Women's Refuge crisis line", "call 0800 733 843 (0800 REFUGE, 24/7)", "abuse", "https://womensrefuge.org.nz", ("0800 733 843",), phrase="the Women's Refuge crisis line (call 0800 733 843, 24/7)"),
    ),
    # Fallback for regions without verified lines: no number is guessed.
    "INTL": _region(
        "INTL", "Other regions", "your local emergency number",
        Resource("Emergency services", "call your local emergency number", "emergency", "https://findahelpline.com"),
        Resource("Find A Helpline", "free, confidential crisis lines by country at findahelpline.com", "crisis", "https://findahelpline.com", phrase="a local crisis line (Find A Helpline lists free lines by country at findahelpline.com)"),
    ),
}
_ALIASES = {"GB": "UK", "USA": "US", "IRELAND": "IE", "CANADA": "CA", "AUSTRALIA": "AU", "NEW ZEALAND": "NZ"}

def region_key(code: str | None) -> str | None:
    """The table's code for "US", "uk", "GB", "Ireland"...; None when the table has no such region."""
    key = (code or "US").strip().upper()
    key = _ALIASES.get(key, key)
    return key if key in REGIONS else None


def region_for(code: str | None) -> Region:
    """The region table entry for a code; unknown codes get the fallback."""
    return REGIONS[region_key(code) or "INTL"]


def resources_text(region: str = "US", clinic_phone: str = "") -> str:
    lines = [r.line() for r in region_for(region).crisis_lines()]
    if clinic_phone.strip():
        lines.append(f"- Your clinic: call {clinic_phone.strip()}")
    return "\n".join(lines)


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


def known_numbers() -> tuple[str, ...]:
    """Every emergency, crisis, poison or abuse number in the table (for recognising real resources in replies)."""
    return tuple(sorted({n for reg in REGIONS.values() for r in reg.resources if r.kind != "support" for n in r.numbers}))


def header_line(region: str = "US") -> str:
    """The one-line emergency notice under the app's header, for the studio's region."""
    reg = region_for(region)
    crisis = "; ".join(f"{r.name}: {r.how}" for r in reg.lines_of("crisis"))
    return f"In an emergency {reg.emergency_action()}. {crisis}."


# Placeholders that training data may use instead of writing numbers, rendered per region from this
# table (a model tuned for a UK clinic must never learn "call 988"). A region without a verified line
# for one has no value: rendering it is an error, never empty text.
PLACEHOLDERS: dict[str, str] = {
    "crisis_line": "the region's main crisis line, e.g. 'please reach {crisis_line} now'",
    "emergency_number": "how to reach emergency services, e.g. 'call {emergency_number}'",
    "poison_control": "the poison line, e.g. 'contact {poison_control}'",
    "abuse_line": "the domestic-abuse line, e.g. 'you can reach {abuse_line}'",
}


def placeholder_values(region: str | None) -> dict[str, str]:
    """The region's text for each placeholder it has a verified line for (missing names have none)."""
    reg = region_for(region)
    values = {"emergency_number": reg.emergency}
    for name, kind in (("crisis_line", "crisis"), ("poison_control", "poison"), ("abuse_line", "abuse")):
        first = next((r for r in reg.lines_of(kind) if r.phrase), None)
        if first is not None:
            values[name] = first.phrase
    return values
