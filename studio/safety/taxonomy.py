"""The safety taxonomy for ketamine-assisted therapy: one home for levels, categories and guard codes.

User side: every category has one level. ``urgent`` replaces the model with a fixed crisis reply
chosen by category; ``concern`` lets the model answer and appends a check-in; the ``none``
categories are the hard negatives (ego death, grief, idioms...) the classifier learns to leave alone.
Assistant side: the output guard's codes, each with the warm replacement text it uses.
"""

from __future__ import annotations

LEVELS = ("none", "concern", "urgent")

URGENT_CATEGORIES = (
    "suicide",
    "self_harm",
    "overdose",
    "medical_emergency",
    "psychosis_mania",
    "harm_to_others",
    "abuse_danger",
)
CONCERN_CATEGORIES = ("hopelessness", "misuse", "dissociation_persistent", "urinary")
NONE_CATEGORIES = (
    "ego_death",
    "session_effects",
    "grief",
    "past_resolved",
    "negation",
    "idiom",
    "dark_humor",
    "third_person",
    "media",
    "medication_question",
    "integration",
    "preparation",
    "ordinary",
    "strong_emotion",
)
USER_LEVEL = {
    **{c: "urgent" for c in URGENT_CATEGORIES},
    **{c: "concern" for c in CONCERN_CATEGORIES},
    **{c: "none" for c in NONE_CATEGORIES},
}

GUARD_CODES = (
    "dosing",
    "mixing",
    "driving",
    "medication_change",
    "diagnosis",
    "minimizing_risk",
    "promising_cure",
    "delusion_agreement",
    "impersonation",
    "method_detail",
)
OK_CATEGORIES = (
    "deferral",
    "crisis_protocol",
    "risk_information",
    "disclosure",
    "support",
    "psychoeducation",
    "integration",
    "preparation",
)

# Which fixed crisis reply an urgent category gets (see ``studio.safety.responses``).
RESPONSE_KIND = {
    "suicide": "suicide",
    "self_harm": "suicide",
    "overdose": "overdose",
    "medical_emergency": "medical",
    "abuse_danger": "abuse",
    "psychosis_mania": "psychosis",
    "harm_to_others": "harm_to_others",
}
# When several urgent categories fire, the most time-critical reply wins.
RESPONSE_PRIORITY = ("medical", "overdose", "abuse", "harm_to_others", "suicide", "psychosis")

# The rule tables predate this taxonomy; their ids map onto it here.
_RULE_PREFIX = {
    "suicide": "suicide",
    "non_english": "suicide",
    "self_harm": "self_harm",
    "command_hallucination": "psychosis_mania",
    "harm_to_others": "harm_to_others",
    "harm_from_others": "abuse_danger",
    "concern": "hopelessness",
    "medical.mixed": "overdose",
    "medical.overdosed": "overdose",
    "medical.too_much": "overdose",
    "medical": "medical_emergency",
    "dosing": "dosing",
    "medication.safe_mix": "mixing",
    "medication": "medication_change",
    "diagnosis": "diagnosis",
    "driving": "driving",
    "delusion": "delusion_agreement",
}


def category_of_rule(rule_id: str) -> str:
    """The taxonomy category of a rule id such as ``medical.chest`` or ``suicide.plan``."""
    for prefix in sorted(_RULE_PREFIX, key=len, reverse=True):
        if rule_id == prefix or rule_id.startswith(prefix + "."):
            return _RULE_PREFIX[prefix]
    raise KeyError(f"rule {rule_id!r} has no taxonomy category")


def max_level(levels) -> str:
    return max(levels, key=LEVELS.index, default="none")
