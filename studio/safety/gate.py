"""The crisis gate: a conversation in, a level (none | concern | urgent) and the reply to use out.

``urgent``: the model is not called; ``response`` is the fixed crisis reply for the category and region.
``concern``: the model answers; ``response`` is a gentle check-in with resources to append.

One message is judged by the learned classifier and by the rules; the rules are a floor that can
only raise the level. When the classifier is unsure (between its two thresholds) the answer is
``concern``, never ``none``. ``check_conversation`` then reads the last user turn in the light of
the turns before it (``studio.safety.context``). If the classifier cannot load, the gate runs
degraded: it says so, and every answer carries the check-in.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from studio.safety import crisis_rules
from studio.safety.classifier import (
    ClassifierUnavailable,
    get_classifier,
    load_error,
    rules_not_in_floor,
    urgent_decision,
)
from studio.safety.resources import concern_text
from studio.safety.responses import crisis_reply
from studio.safety.rules import match
from studio.safety.taxonomy import USER_LEVEL, category_of_rule, max_level
from studio.safety.text import clip, normalize, sentences
from studio.settings import Settings
from studio.util.errors import UserError

log = logging.getLogger(__name__)
_ALL_RULES = crisis_rules.RULES + crisis_rules.NON_ENGLISH
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[a-zà-ÿ]")
DEGRADED_NOTICE = "Safety checks degraded: the learned safety classifier could not load, so only the rules are running."


class ConversationError(UserError, ValueError):
    """The messages given to ``check_conversation`` are malformed; the message says which one."""


@dataclass
class Verdict:
    """The judgement of one user message on its own."""

    level: str = "none"
    categories: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    degraded: str = ""  # why the learned part was not used, when it should have been

    def raise_to(self, level: str, categories: list[str], reason: str) -> None:
        if level == "none":
            return
        self.level = max_level([self.level, level])
        self.categories = _ordered([*self.categories, *categories])
        self.reasons.append(reason)


@dataclass
class CrisisCheck:
    crisis: bool  # True only at level "urgent": the fixed reply replaces the model
    level: str
    categories: list[str]
    reasons: list[str]
    response: str | None
    degraded: str = ""  # non-empty when the learned classifier was unavailable (the reason)

    def to_dict(self) -> dict:
        out = {
            "crisis": self.crisis,
            "level": self.level,
            "categories": self.categories,
            "response": self.response,
            "reasons": self.reasons,
        }
        if self.degraded:
            out["degraded"] = self.degraded
        return out


def check_user_message(
    text: str, region: str = "US", clinic_phone: str = "", learned: bool = True, *, settings: Settings | None = None
) -> CrisisCheck:
    """Check one user turn with no conversation around it."""
    return check_conversation([{"role": "user", "content": text}], region, clinic_phone, learned=learned, settings=settings)


def check_conversation(
    messages: list[dict],
    region: str | None = None,
    clinic_phone: str | None = None,
    *,
    learned: bool = True,
    settings: Settings | None = None,
) -> CrisisCheck:
    """Rate the last user turn of ``messages`` in the light of the turns before it.

    ``settings`` gives the region, the clinic phone and the admin's edited crisis replies.
    ``learned=False`` runs the rules alone (deterministic; for tests and ``--rules-only``).
    """
    from studio.safety.context import in_context, is_short_reply_to_question

    turns = validate_messages(messages)
    # A bare "no" or "yes" is read against the question before it, not by the classifier on its own.
    alone = learned and not is_short_reply_to_question(turns)
    verdict = judge_message(turns[-1]["content"], alone)
    in_context(turns, verdict, lambda text: judge_message(text, learned), learned)
    if learned and not verdict.degraded:
        verdict.degraded = load_error() or ""
    if verdict.degraded:
        verdict.raise_to("concern", [], f"{DEGRADED_NOTICE} ({verdict.degraded})")
    region = region or (settings.region if settings else "US")
    phone = clinic_phone if clinic_phone is not None else (settings.clinic_phone if settings else "")
    response = None
    if verdict.level == "urgent":
        response = crisis_reply(verdict.categories, region, phone, settings)
    elif verdict.level == "concern":
        response = concern_text(region, phone)
    return CrisisCheck(verdict.level == "urgent", verdict.level, verdict.categories, verdict.reasons, response, verdict.degraded)


def validate_messages(messages) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise ConversationError('"messages" must be a non-empty list of {"role", "content"} objects')
    turns = []
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            raise ConversationError(f"message {number} must be an object with \"role\" and \"content\"")
        role, content = message.get("role"), message.get("content")
        if role not in ("system", "user", "assistant"):
            raise ConversationError(f'message {number}: "role" must be "user", "assistant" or "system", got {clip(str(role), 40)!r}')
        if not isinstance(content, str):
            raise ConversationError(f'message {number}: "content" must be a string')
        turns.append({"role": role, "content": content})
    if turns[-1]["role"] != "user":
        raise ConversationError(f"the last message (message {len(turns)}) must be a user turn, got {turns[-1]['role']!r}")
    return turns


def judge_message(text: str, learned: bool = True) -> Verdict:
    """Rules and classifier on one message, with no context."""
    norm = normalize(text)
    verdict = Verdict()
    if not norm:
        return verdict
    if learned:
        _learned(norm, verdict)
    hits, _silenced = match(_ALL_RULES, sentences(norm), crisis_rules.CONTEXTS, norm)
    # Rules the corpus showed to be noisy stay out of the floor only while the classifier is there to judge.
    noisy = rules_not_in_floor() if learned and not verdict.degraded else frozenset()
    for hit in hits:
        if hit.rule.id in noisy:
            verdict.reasons.append(f"{hit.reason()} (not in the floor: mostly hard negatives in the corpus)")
        else:
            verdict.raise_to(hit.level, [category_of_rule(hit.rule.id)], hit.reason())
    return verdict


def _learned(norm: str, verdict: Verdict) -> None:
    letters = _LETTER.findall(norm)
    if not letters:
        return  # emoji or punctuation only: nothing for the classifier to read
    if len(_LATIN.findall(norm)) < 0.5 * len(letters):
        # The encoder was trained on English; it cannot read this script, so the gate fails closed.
        verdict.raise_to("concern", [], "written in a script the safety classifier cannot read: checked in with the person")
        return
    try:
        model = get_classifier()
    except ClassifierUnavailable as exc:
        verdict.degraded = str(exc)
        return
    score = model.score_users([norm])[0]
    level, category = learned_level(score, model.thresholds)
    if level == "none":
        return
    verdict.raise_to(
        level,
        [category],
        f"classifier [{category}] urgent {score.urgent:.2f}, any risk {score.flagged:.2f} for '{clip(score.unit, 60)}'",
    )


def learned_level(score, t: dict) -> tuple[str, str]:
    """The classifier's level: urgent when urgent mass is high, or risk is confident and mostly urgent;
    concern for concern categories and for the unsure band below; else none."""
    if urgent_decision(score.urgent, score.flagged, t):
        return "urgent", score.urgent_category
    if score.flagged >= t.get("user_unsure", t["user_flag"]):
        return "concern", score.risk_category  # unsure, or a concern category: answer and check in
    return "none", ""


def _ordered(categories: list[str]) -> list[str]:
    """Unique categories, urgent ones first (they choose the crisis reply)."""
    unique = list(dict.fromkeys(c for c in categories if c))
    return sorted(unique, key=lambda c: USER_LEVEL.get(c, "none") != "urgent")
