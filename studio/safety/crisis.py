"""The crisis gate: one user message in, a level (none | concern | urgent) and the reply to use out.

``urgent``: the model is not called; ``response`` is the fixed crisis template for the region.
``concern``: the model answers; ``response`` is a gentle check-in with resources to append.
Rules run first (fast, explainable); the learned exemplar match adds what the rules miss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from studio.safety import crisis_rules, learned
from studio.safety.resources import concern_text, crisis_template
from studio.safety.rules import match
from studio.safety.text import normalize, sentences
from studio.settings import Settings

log = logging.getLogger(__name__)
LEVELS = ("none", "concern", "urgent")
_ALL_RULES = crisis_rules.RULES + crisis_rules.NON_ENGLISH


@dataclass
class CrisisCheck:
    crisis: bool  # True only at level "urgent": the fixed template replaces the model
    level: str
    categories: list[str]
    reasons: list[str]
    response: str | None
    suppressed: list[str] = field(default_factory=list)  # rules that matched but were silenced, and why
    learned_used: bool = False

    def to_dict(self) -> dict:
        return {
            "crisis": self.crisis,
            "level": self.level,
            "categories": self.categories,
            "response": self.response,
            "reasons": self.reasons,
        }


def check_user_message(
    text: str,
    region: str = "US",
    clinic_phone: str = "",
    learned: bool = True,
    *,
    settings: Settings | None = None,
) -> CrisisCheck:
    """Check one user turn. Pass ``settings`` to use the admin's edited crisis template."""
    norm = normalize(text)
    sents = sentences(norm)
    hits, silenced = match(_ALL_RULES, sents, crisis_rules.CONTEXTS, norm)
    level = _max_level(h.level for h in hits)
    categories = _unique(h.rule.category for h in hits)
    reasons = [h.reason() for h in hits]
    used = False
    # The learned match can only raise the level; it never overrules a rule that fired.
    if learned and norm and level != "urgent":
        found = _learned_hits(norm, sents, {x.span.sentence for x in silenced})
        used = found is not None
        for hit in found or []:
            level = _max_level([level, hit.level])
            categories = _unique([*categories, hit.exemplar.category])
            reasons.append(hit.reason())
    response = None
    if level == "urgent":
        response = crisis_template(region, clinic_phone, settings)
    elif level == "concern":
        response = concern_text(region, clinic_phone)
    return CrisisCheck(
        crisis=level == "urgent",
        level=level,
        categories=categories,
        reasons=reasons,
        response=response,
        suppressed=[s.reason() for s in silenced],
        learned_used=used,
    )


def _learned_hits(norm: str, sents: list[str], silenced: set[str]) -> list[learned.LearnedHit] | None:
    """Learned hits, or None when the embedder cannot load (the rules still protect).

    A unit is not judged by similarity when the rules already read it as safe: a sentence whose
    rule match was negated or silenced by a context ("I don't want to die anymore"), one told in
    the past tense as recovery ("my ex used to threaten me, I'm safe now"), an idiom ("work is
    killing me") or an in-session experience told as meaningful.
    """
    try:
        index = learned.get_index()
    except (ImportError, OSError, RuntimeError) as exc:
        log.warning("safety: learned crisis check unavailable, using rules only: %s", exc)
        return None
    veto, past = crisis_rules.LEARNED_VETO.pattern, crisis_rules.CONTEXTS["recovery"]

    def allowed(unit: str) -> bool:
        return not (veto.search(unit) or past.applies(unit, norm) or any(s in unit for s in silenced))

    hits = index.message_hits(norm, sents, allowed)
    # One reason per exemplar is enough to explain the decision.
    seen: set[str] = set()
    return [h for h in sorted(hits, key=lambda h: -h.similarity) if not (h.exemplar.text in seen or seen.add(h.exemplar.text))]


def _max_level(levels) -> str:
    return max(levels, key=LEVELS.index, default="none")


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
