"""One turn through the safety layer, the same way in Chat, Compare, the arena and the CLI.

1. ``gate_turn``: the crisis gate reads the conversation (``check_conversation``). At ``urgent`` the
   model is not called: the reply is the fixed crisis reply.
2. Otherwise the model generates; ``finish_reply`` runs the output guard, replaces a violating
   reply with the guard's safe text, and appends the check-in at ``concern``.
3. ``TurnSafety`` is the record kept with an answer (Compare and the arena show and store it).

Streaming UIs call ``gate_turn`` before streaming, ``check_reply(partial=True)`` while it streams,
and ``finish_reply`` on the finished text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from studio.safety.gate import CrisisCheck, check_conversation
from studio.safety.guard import GuardCheck, check_reply
from studio.settings import Settings


def gate_turn(
    prompt: str, settings: Settings, history: Sequence[dict] | None = None, region: str | None = None
) -> CrisisCheck:
    """The crisis gate on a new user message, read with the conversation before it."""
    turns = [{"role": t["role"], "content": t["content"]} for t in history or () if t.get("role") in ("user", "assistant")]
    return check_conversation([*turns, {"role": "user", "content": prompt}], region, settings=settings)


def finish_reply(raw: str, gate: CrisisCheck) -> tuple[str, GuardCheck]:
    """Guard a generated reply (replacing it when it violates) and append the check-in at concern."""
    guard = check_reply(raw)
    text = guard.safe_text.strip()
    if gate.level == "concern" and gate.response:
        text = f"{text}\n\n{gate.response}".strip()
    return text, guard


@dataclass
class TurnSafety:
    """What the safety layer said about one answer and the prompt it answered."""

    gate: CrisisCheck
    guard: GuardCheck | None = None  # None when no model was called
    flags: list[str] = field(default_factory=list)

    @property
    def model_called(self) -> bool:
        return self.guard is not None

    def to_dict(self) -> dict:
        return {
            "input": {"level": self.gate.level, "categories": list(self.gate.categories)},
            "output": self.guard.to_dict() if self.guard else None,
            "flags": list(self.flags),
            "model_called": self.model_called,
        }


def answer_safety(text: str, gate: CrisisCheck) -> TurnSafety:
    """Run the output guard on a generated answer and collect the flags to display."""
    guard = check_reply(text)
    flags = list(guard.codes)
    if gate.level != "none":
        flags.insert(0, f"crisis_gate:{gate.level}")
    return TurnSafety(gate, guard, flags)


def crisis_safety(gate: CrisisCheck) -> TurnSafety:
    """The record of an urgent prompt: the fixed crisis reply was shown, no model was called."""
    return TurnSafety(gate, None, ["crisis_gate:urgent", "crisis_template"])


def describe_flags(record: dict) -> str:
    """One human line from a stored ``TurnSafety.to_dict()``, e.g. 'output guard: dosing · crisis gate: concern (self_harm)'."""
    gate = record.get("input") or {}
    output = record.get("output") or {}
    parts = []
    if not record.get("model_called", True):
        parts.append("crisis gate: urgent → fixed crisis reply shown, no model called")
    elif gate.get("level", "none") != "none":
        cats = f" ({', '.join(gate.get('categories') or [])})" if gate.get("categories") else ""
        parts.append(f"crisis gate: {gate['level']}{cats}")
    if output.get("violation"):
        parts.append(f"output guard: {', '.join(output.get('codes') or []) or 'violation'} (Chat would replace this reply)")
    return " · ".join(parts) if parts else "no safety flags"
