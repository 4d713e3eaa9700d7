"""The output guard, and the reply checks the dataset lint uses.

``check_reply`` flags dosing, medication changes, diagnoses, driving after a session and agreement
with delusional content, and gives a warm replacement that defers to the prescribing clinician or
care team. ``follows_crisis_protocol`` and ``defers_to_clinician`` judge dataset replies;
``is_medication_question`` finds the user turns whose replies must defer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.safety import guard_rules
from studio.safety.resources import DISCLOSURE, known_numbers
from studio.safety.rules import match
from studio.safety.text import normalize, sentences

CODES = ("dosing", "medication_change", "diagnosis", "driving", "delusion_agreement")

_OPENING = "Thank you for trusting me with this."
_CLOSING = (
    f"I'm an {DISCLOSURE}, so I want to make sure you get a safe answer from your prescribing clinician or care team, "
    "who know your history. "
    "If it would help, we can put your question into words together so it's easy to bring to them."
)
_REPLACEMENTS = {
    "dosing": "I can't give advice about doses or amounts. Your prescribing clinician is the right person for that, "
    "and they can explain what makes sense for you.",
    "medication_change": "Starting, stopping, skipping or mixing medications or other substances, alcohol included, "
    "is something to decide with your prescribing clinician or care team first, since some changes and combinations "
    "can be risky.",
    "diagnosis": "I'm not able to diagnose anything. What you're noticing is worth sharing with your care team, "
    "who can look at the whole picture with you.",
    "driving": "Please don't drive for the rest of the day after a session, even if you feel clear; arrange a ride or "
    "a taxi, and follow your care team's instructions about when driving is safe again.",
    "delusion_agreement": "I can't confirm that, but I can hear how real and intense this feels for you. It would "
    "really help to tell your care team about it soon, and if you ever feel unsafe, reach out to them or to "
    "emergency services right away.",
}


@dataclass
class GuardCheck:
    violation: bool
    codes: list[str]
    reasons: list[str]
    safe_text: str

    def to_dict(self) -> dict:
        return {"violation": self.violation, "codes": self.codes, "safe_text": self.safe_text, "reasons": self.reasons}


def check_reply(text: str) -> GuardCheck:
    """Check one generated reply; ``safe_text`` is the original when fine, else a warm replacement."""
    norm = normalize(text)
    hits, _ = match(guard_rules.RULES, sentences(norm), guard_rules.CONTEXTS, norm)
    codes = [c for c in CODES if any(h.rule.category == c for h in hits)]
    if not codes:
        return GuardCheck(False, [], [], text)
    return GuardCheck(True, codes, [h.reason() for h in hits], safe_replacement(codes))


def safe_replacement(codes: list[str]) -> str:
    parts = [_OPENING, *(_REPLACEMENTS[c] for c in codes if c in _REPLACEMENTS), _CLOSING]
    return " ".join(parts)


# --- checks for the dataset lint ------------------------------------------------------------
_NUMBER = "|".join(re.escape(n).replace(r"\ ", r"[ -]?") for n in known_numbers())
_RESOURCE = re.compile(
    rf"(?<![\d-])(?:{_NUMBER})(?![\d-])|988lifeline\.org|findahelpline\.com|\bcrisis (?:line|text line|helpline|team|service)s?\b|"
    r"\bemergency (?:services|number|room|department)\b|\b(?:samaritans|lifeline|ambulance|a&e)\b|\bnearest (?:emergency|hospital)\b"
)
_URGE = re.compile(
    r"\b(?:call|text|chat|dial|reach out|contact|go to|get to|phone|ring|talk to someone|please (?:get|seek) help|right now|now)\b"
)
_CLINICIAN = re.compile(
    r"\b(?:prescrib\w*|doctor|psychiatrist|clinician|care team|treatment team|clinic|nurse|pharmacist|provider|"
    r"physician|gp|medical team)\b"
)
_MED_TERMS = re.compile(
    rf"\b(?:dose|doses|dosage|dosing|mg|milligrams?|how much|how many|{guard_rules.MEDS}|{guard_rules.SUBSTANCES})\b"
)
_ASKING = re.compile(
    r"\?|\b(?:should i|can i|could i|may i|is it (?:ok|okay|safe|fine|bad|dangerous)|is it alright|do i need to|"
    r"how (?:much|many|long|often)|what if i|would it be|wondering|thinking (?:about|of) (?:stopping|taking|skipping|"
    r"changing|quitting|coming off|mixing|doubling|upping|lowering)|want to (?:stop|quit|skip|change|double|lower|up))\b"
)


def follows_crisis_protocol(reply: str) -> bool:
    """True when a reply gives a real crisis resource or emergency route and urges reaching it."""
    norm = normalize(reply)
    return bool(_RESOURCE.search(norm) and _URGE.search(norm))


def defers_to_clinician(reply: str) -> bool:
    """True when a reply sends medication/dose questions to the prescriber or care team without advising itself."""
    if not _CLINICIAN.search(normalize(reply)):
        return False
    codes = check_reply(reply).codes
    return not ({"dosing", "medication_change"} & set(codes))


def is_medication_question(text: str) -> bool:
    """True when a user turn asks about doses, medications, or mixing substances."""
    norm = normalize(text)
    return bool(_MED_TERMS.search(norm) and _ASKING.search(norm))
