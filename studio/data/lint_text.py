"""Text checks of the clinical lint that need no model: numbers, confidentiality, monitored settings.

A small model can garble a ten-digit number, and a number that is right in one country is wrong in
another, so training data names resources through placeholders (``studio.data.placeholders``).
These checks read the raw text, where any number is free text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from studio.safety.resources import REGIONS

# Digit runs with the separators people write between them ("1-800-222-1222", "116 123", "(01) 809 2166").
_PHONE = re.compile(r"(?<![\w/.,$£€])\+?\(?\d[\d ().-]{1,18}\d(?![\w/%])|(?<![\w/.,$£€-])\d{3,4}(?![\w/%,.-]\d)")
_MIN_DIGITS = 7  # shorter digit runs count only when the table knows them (988, 999, 13 11 14, ...)
_PLACEHOLDER_OF_KIND = {"crisis": "{crisis_line}", "emergency": "{emergency_number}", "poison": "{poison_control}",
                        "abuse": "{abuse_line}"}

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_CONFIDENTIAL = re.compile(
    r"\b(?:i|we) (?:don't|do not|never|won't|will not|can't|cannot) (?:share|store|save|keep|record|log|pass on|tell anyone)\b"
    r"|\b(?:this|everything|anything|what you (?:say|share|tell me|write)|our (?:chat|conversation)s?|your (?:messages|chats?))\b"
    r"[^.]{0,40}\b(?:is|are|stays?|will stay|remains?|will remain)\s+(?:completely |totally |fully |100% |strictly )?"
    r"(?:confidential|private|between us|secret|anonymous)\b"
    r"|\bno ?one (?:else )?(?:will|can|is going to) (?:ever )?(?:see|read|know)\b",
    re.IGNORECASE,
)
_HEDGED = re.compile(r"\b(?:can't|cannot|can not|not able to|unable to) (?:promise|guarantee)|\b(?:isn't|is not|aren't|are not|not) "
                     r"(?:fully |completely )?(?:confidential|private)|\bprivacy policy\b", re.IGNORECASE)
_MONITORED = re.compile(
    r"\byou(?:'ll| will)? (?:be|stay) (?:in|at|under) (?:a |the )?(?:(?:medically )?(?:monitored|supervised) (?:setting|room|environment|clinic)"
    r"|(?:medical )?(?:supervision|monitoring))\b"
    r"|\b(?:staff|a nurse|the nurses?|the team|the clinicians?|your (?:care )?team|someone) will (?:be )?(?:monitor(?:ing)?|watch(?:ing)?) you\b",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"\b(?:if|when|whether)\b|\bin[- ]clinic\b|\bat the clinic\b|\bin the clinic\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _number_table() -> dict[str, tuple[str, frozenset[str]]]:
    """digits -> (resource kind, regions whose table lists it)."""
    table: dict[str, tuple[str, set[str]]] = {}
    for code, region in REGIONS.items():
        for resource in region.resources:
            for number in resource.numbers:
                digits = re.sub(r"\D", "", number)
                kind, regions = table.setdefault(digits, (resource.kind, set()))
                regions.add(code)
    return {digits: (kind, frozenset(regions)) for digits, (kind, regions) in table.items()}


def phone_numbers(text: str) -> list[tuple[str, str]]:
    """``(as written, digits)`` for every phone-like number in ``text``."""
    known = _number_table()
    out = []
    for match in _PHONE.finditer(text):
        written = match.group(0).strip(" .-")
        if written.endswith(")") and written.count(")") > written.count("("):
            written = written[:-1]
        if written.startswith("(") and written.count("(") > written.count(")"):
            written = written[1:]
        digits = re.sub(r"\D", "", written)
        if len(digits) >= _MIN_DIGITS or digits in known:
            out.append((written, digits))
    return out


def number_findings(text: str, region: str) -> list[tuple[str, str]]:
    """``(code, message)`` for free-text phone numbers, and for numbers that belong to other regions only."""
    known = _number_table()
    out = []
    for written, digits in dict.fromkeys(phone_numbers(text)):
        kind, regions = known.get(digits, ("", frozenset()))
        placeholder = _PLACEHOLDER_OF_KIND.get(kind, "a placeholder such as {crisis_line}")
        if regions and region not in regions:
            out.append(("lint_foreign_number", f"{written} is a number for {'/'.join(sorted(regions))}, but this dataset is "
                        f"rendered for {region}: write {placeholder} instead."))
        else:
            out.append(("lint_phone_number", f"phone number {written} written as free text (a small model can garble it, and "
                        f"it is wrong outside its region): write {placeholder} instead."))
    return out


def _claims(text: str, pattern: re.Pattern, skip: re.Pattern) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if pattern.search(s) and not skip.search(s)]


def confidentiality_promises(text: str) -> list[str]:
    """Sentences promising privacy the companion cannot keep ("this stays between us")."""
    return _claims(text, _CONFIDENTIAL, _HEDGED)


def monitored_setting_claims(text: str) -> list[str]:
    """Sentences that take a monitored clinic setting for granted ("you'll be in a monitored setting")."""
    return _claims(text, _MONITORED, _CONDITIONAL)
