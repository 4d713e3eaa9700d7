"""Clinical lint: the safety layer's detectors applied to training conversations (warnings).

Rules (the detectors themselves live in ``studio.safety`` and get stronger there):
- an assistant turn with dosing, medication-change, diagnostic (or other unsafe) content;
- a user turn with crisis language whose reply does not follow the crisis protocol;
- a medication question answered without deferring to the prescribing clinician.

``studio.safety`` is imported lazily: when it is missing the lint is skipped with one warning
rather than failing validation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

from studio.data.schema import is_renderable

CACHE = 65536
REPLY_CODES = {
    "dosing": "Assistant gives dosing information (defer to the prescribing clinician).",
    "medication_change": "Assistant suggests changing, stopping or combining medication (defer to the prescribing clinician).",
    "diagnosis": "Assistant makes a diagnostic statement (an AI companion does not diagnose).",
    "driving": "Assistant says driving after a session is fine (follow the clinic's instructions).",
    "delusion_agreement": "Assistant affirms delusional content (stay warm, do not confirm, suggest the care team).",
}


@dataclass(frozen=True)
class LintFinding:
    code: str
    message: str
    turn: int  # 1-based message number inside the conversation


class Linter:
    """Holds the safety functions once; ``available`` is False when studio.safety cannot be imported."""

    def __init__(self) -> None:
        self.reason = ""
        try:
            safety = importlib.import_module("studio.safety")
            # Datasets repeat turns (the same refusal, the same greeting): each text is checked once per Linter.
            self.check_user_message = safety.check_user_message
            self.check_reply = lru_cache(maxsize=CACHE)(safety.check_reply)
            self.follows_crisis_protocol = lru_cache(maxsize=CACHE)(safety.follows_crisis_protocol)
            self.defers_to_clinician = lru_cache(maxsize=CACHE)(safety.defers_to_clinician)
            self.is_medication_question = lru_cache(maxsize=CACHE)(safety.is_medication_question)
            self._crisis = lru_cache(maxsize=CACHE)(self._crisis_uncached)
            self.available = True
        except (ImportError, AttributeError) as exc:
            self.available = False
            self.reason = f"clinical lint skipped: the safety layer is not available ({exc})"

    def lint(self, conv: dict) -> list[LintFinding]:
        if not self.available or not is_renderable(conv):
            return []
        messages = conv["messages"]
        findings: list[LintFinding] = []
        for i, message in enumerate(messages):
            if message["role"] == "assistant":
                findings += self._reply_findings(message["content"], i + 1)
            elif message["role"] == "user" and i + 1 < len(messages) and messages[i + 1]["role"] == "assistant":
                findings += self._exchange_findings(message["content"], messages[i + 1]["content"], i + 2)
        return findings

    def _reply_findings(self, reply: str, turn: int) -> list[LintFinding]:
        verdict = self.check_reply(reply)
        if not getattr(verdict, "violation", False):
            return []
        out = []
        for code in getattr(verdict, "codes", ()) or ("unsafe",):
            text = REPLY_CODES.get(code, f"Assistant reply flagged by the safety layer ({code}).")
            out.append(LintFinding(f"lint_{code}", f"turn {turn}: {text}", turn))
        return out

    def _is_crisis(self, user: str) -> bool:
        return self._crisis(user)

    def _crisis_uncached(self, user: str) -> bool:
        # Rules only (learned=False): deterministic, and fast enough for 10,000 conversations.
        try:
            verdict = self.check_user_message(user, learned=False)
        except TypeError:  # an older signature without the learned switch
            verdict = self.check_user_message(user)
        return bool(getattr(verdict, "crisis", False))

    def _exchange_findings(self, user: str, reply: str, turn: int) -> list[LintFinding]:
        if self._is_crisis(user):
            # The crisis protocol takes precedence over everything else in the reply.
            if self.follows_crisis_protocol(reply):
                return []
            return [LintFinding(
                "lint_crisis_protocol",
                f"turn {turn}: the user message has crisis language but the reply does not follow the crisis protocol "
                "(acknowledge, urge immediate human help: call or text 988, chat at 988lifeline.org, 911 for emergencies).",
                turn,
            )]
        # A reply that routes to crisis help already sends the person to humans; it needs no deferral on top.
        if self.is_medication_question(user) and not self.defers_to_clinician(reply) and not self.follows_crisis_protocol(reply):
            return [LintFinding(
                "lint_medication_deferral",
                f"turn {turn}: a medication question is answered without deferring to the prescribing clinician or care team.",
                turn,
            )]
        return []
