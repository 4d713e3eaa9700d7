"""The output guard: one model reply in, a verdict and (when it fails) a warm replacement out.

The learned reply classifier judges the whole reply; the rules are a floor that can only add codes. ``check_reply`` flags the
codes in ``taxonomy.GUARD_CODES`` and gives a warm replacement that defers to the prescribing
clinician or care team. ``partial=True`` is for streaming: the rules judge every growing partial
reply and the classifier each time a sentence ends, so a stream stopped by the partial check is
flagged by the full check of the same text too.
If the classifier cannot load, the rules run alone and the verdict says it is degraded.
``follows_crisis_protocol`` and ``defers_to_clinician`` judge dataset replies;
``is_medication_question`` finds the user turns whose replies must defer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.safety import guard_rules
from studio.safety.classifier import ClassifierUnavailable, get_classifier
from studio.safety.resources import DISCLOSURE, known_numbers
from studio.safety.rules import match
from studio.safety.taxonomy import GUARD_CODES, category_of_rule
from studio.safety.text import clip, normalize, sentences

CODES = GUARD_CODES
_SENTENCE_DONE = re.compile(r"[.!?\n]\s*$")

_OPENING = "Thank you for trusting me with this."
_CLOSING = (
    f"I'm an {DISCLOSURE}, so I want to make sure you get a safe answer from your prescribing clinician or care team, "
    "who know your history. "
    "If it would help, we can put your question into words together so it's easy to bring to them."
)
_REPLACEMENTS = {
    "dosing": "I can't give advice about doses or amounts. Your prescribing clinician is the right person for that, "
    "and they can explain what makes sense for you.",
    "mixing": "Combining ketamine with alcohol, sedatives, opioids or other substances can be dangerous, for example "
    "by slowing breathing, so please check any combination with your prescribing clinician first.",
    "medication_change": "Starting, stopping, skipping or tapering a medication is something to decide with your "
    "prescribing clinician or care team first, since some changes can be risky.",
    "diagnosis": "I'm not able to diagnose anything. What you're noticing is worth sharing with your care team, "
    "who can look at the whole picture with you.",
    "driving": "Please don't drive for the rest of the day after a session, even if you feel clear; arrange a ride or "
    "a taxi, and follow your care team's instructions about when driving is safe again.",
    "minimizing_risk": "Ketamine treatment is not risk-free: side effects such as raised blood pressure, nausea, "
    "dissociation and bladder problems can happen, and your care team can tell you what to watch for.",
    "promising_cure": "No one can promise how treatment will go. Many people find it helps, and your care team can "
    "talk with you about realistic hopes for your situation.",
    "delusion_agreement": "I can't confirm that, but I can hear how real and intense this feels for you. It would "
    "really help to tell your care team about it soon, and if you ever feel unsafe, reach out to them or to "
    "emergency services right away.",
    "impersonation": f"I want to be clear that I'm an {DISCLOSURE}, and I can't promise that what you write here "
    "stays private: your clinic may review these conversations. Your therapist or care team is the right place for "
    "anything you need kept in confidence.",
    "method_detail": "I can't share anything about ways to cause harm. If you're thinking about hurting yourself, please "
    "reach a crisis line or emergency services now; you deserve support from a real person.",
}


@dataclass
class GuardCheck:
    violation: bool
    codes: list[str]
    reasons: list[str]
    safe_text: str
    degraded: str = ""

    def to_dict(self) -> dict:
        out = {"violation": self.violation, "codes": self.codes, "safe_text": self.safe_text, "reasons": self.reasons}
        if self.degraded:
            out["degraded"] = self.degraded
        return out


def check_reply(text: str, *, learned: bool = True, partial: bool = False) -> GuardCheck:
    """Check one generated reply; ``safe_text`` is the original when fine, else a warm replacement."""
    norm = normalize(text)
    found: dict[str, str] = {}
    reasons: list[str] = []
    degraded = ""
    if learned and norm and (not partial or _SENTENCE_DONE.search(text)):
        try:
            _learned(norm, found, reasons)
        except ClassifierUnavailable as exc:
            degraded = str(exc)
    hits, _ = match(guard_rules.RULES, sentences(norm), guard_rules.CONTEXTS, norm)
    # Every guard rule stays in the floor: a missed dose instruction costs more than a replaced good answer
    # (the classifier alone let "Sure. You should double your dose tonight." through).
    for hit in hits:
        reasons.append(hit.reason())
        found.setdefault(category_of_rule(hit.rule.id), hit.reason())
    codes = [c for c in CODES if c in found]
    if not codes:
        return GuardCheck(False, [], reasons, text, degraded)
    return GuardCheck(True, codes, reasons, safe_replacement(codes), degraded)


def _learned(norm: str, found: dict, reasons: list[str]) -> None:
    model = get_classifier()
    score = model.score_replies([norm])[0]
    if score.violation >= model.thresholds["reply_violation"] and score.codes:
        for code in score.codes:
            found.setdefault(code, "")
        reasons.append(f"classifier [{', '.join(score.codes)}] violation {score.violation:.2f} for '{clip(score.unit, 60)}'")


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


MEDICATION_CODES = frozenset({"dosing", "mixing", "medication_change"})
_CARE = re.compile(
    r"\b(?:urgent care|walk-in|hospital|medical (?:help|care|attention|advice)|(?:seek|get) (?:help|care|checked|seen)|"
    r"be (?:checked|seen)|see (?:a|your) (?:doctor|gp|nurse)|health ?care provider)\b"
)


# "ask your prescriber", "check with the care team", "please call your doctor": a referral, not a mention.
_REFERRAL = re.compile(
    r"\b(?:ask|asking|check(?:ing)? (?:in )?with|talk(?:ing)? (?:to|with|it over with|this over with)|speak(?:ing)? (?:to|with)|"
    r"consult\w*|contact\w*|call|phone|ring|reach out to|let|tell|discuss\w*|bring (?:it|this|that) up with|"
    r"run (?:it|this|that) by|get in touch with|message|email)\b[^.!?\n]{0,40}" + _CLINICIAN.pattern
)


def mentions_clinician(reply: str) -> bool:
    """True when a reply names the prescriber, the care team or another clinician."""
    return bool(_CLINICIAN.search(normalize(reply)))


def refers_to_clinician(reply: str) -> bool:
    """True when a reply tells the person to ask, call or check with a clinician (not merely names one)."""
    return bool(_REFERRAL.search(normalize(reply)))


def defers_to_clinician(reply: str, learned: bool = True) -> bool:
    """True when a reply sends medication/dose questions to the prescriber or care team without advising itself."""
    if not mentions_clinician(reply):
        return False
    return not (MEDICATION_CODES & set(check_reply(reply, learned=learned).codes))


def sends_to_care(reply: str) -> bool:
    """True when a reply points to a clinician, the care team, urgent care or emergency services."""
    norm = normalize(reply)
    return bool(_REFERRAL.search(norm) or _CARE.search(norm) or (_RESOURCE.search(norm) and _URGE.search(norm)))


def is_medication_question(text: str) -> bool:
    """True when a user turn asks about doses, medications, or mixing substances."""
    norm = normalize(text)
    return bool(_MED_TERMS.search(norm) and _ASKING.search(norm))
