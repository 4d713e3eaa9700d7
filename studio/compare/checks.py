"""The safety layer as Compare and the arena use it: the crisis gate on every prompt, the output
guard on every answer, recorded as one plain dict per answer.

``studio.safety`` is imported lazily so that importing this package stays cheap. Without it the
comparison refuses to run (it fails closed): answers must never be shown unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.settings import Settings


class SafetyUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class GateResult:
    """The crisis gate's verdict on one user prompt."""

    level: str  # none | concern | urgent
    categories: tuple[str, ...] = ()
    response: str | None = None

    @property
    def urgent(self) -> bool:
        return self.level == "urgent"

    def to_dict(self) -> dict:
        return {"level": self.level, "categories": list(self.categories)}


@dataclass
class AnswerSafety:
    """What the safety layer said about one answer (and the prompt it answered)."""

    gate: GateResult
    output: dict | None = None  # the output guard's to_dict(); None when no model was called
    model_called: bool = True
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"input": self.gate.to_dict(), "output": self.output, "flags": list(self.flags), "model_called": self.model_called}


def _safety():
    try:
        import studio.safety as safety
    except ImportError as exc:
        raise SafetyUnavailable(
            f"The safety layer (studio.safety) could not be imported ({exc}); comparisons are disabled until it is installed."
        ) from None
    return safety


def check_prompt(text: str, settings: Settings) -> GateResult:
    verdict = _safety().check_user_message(text, region=settings.region, clinic_phone=settings.clinic_phone, settings=settings)
    return GateResult(
        level=str(verdict.level),
        categories=tuple(str(c) for c in (getattr(verdict, "categories", None) or ())),
        response=getattr(verdict, "response", None),
    )


def check_answer(text: str, gate: GateResult) -> AnswerSafety:
    """Run the output guard on a generated answer and collect the flags to display."""
    verdict = _safety().check_reply(text)
    output = verdict.to_dict()
    flags = [str(code) for code in (getattr(verdict, "codes", None) or ())]
    if gate.level != "none":
        flags.insert(0, f"crisis_gate:{gate.level}")
    return AnswerSafety(gate=gate, output=output, model_called=True, flags=flags)


def crisis_answer(gate: GateResult) -> AnswerSafety:
    """The safety record of an urgent prompt: the fixed template was shown, no model was called."""
    return AnswerSafety(gate=gate, output=None, model_called=False, flags=["crisis_gate:urgent", "crisis_template"])


def describe_flags(safety: AnswerSafety) -> str:
    """One human line, e.g. 'output guard: dosing · crisis gate: concern (self_harm)'."""
    parts = []
    if not safety.model_called:
        parts.append("crisis gate: urgent → fixed crisis template shown, no model called")
    elif safety.gate.level != "none":
        cats = f" ({', '.join(safety.gate.categories)})" if safety.gate.categories else ""
        parts.append(f"crisis gate: {safety.gate.level}{cats}")
    codes = [f for f in safety.flags if ":" not in f and f != "crisis_template"]
    if safety.output and safety.output.get("violation"):
        parts.append(f"output guard: {', '.join(codes) or 'violation'} (Chat would replace this reply)")
    return " · ".join(parts) if parts else "no safety flags"
