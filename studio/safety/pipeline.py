"""One turn through the safety layer, the same way in Chat, Compare and the arena.

1. The crisis gate checks the user's message. At ``urgent`` the model is not called: the reply is
   the fixed crisis template.
2. Otherwise the model generates; the output guard replaces a reply that gives doses, medication
   changes, diagnoses, driving advice or agrees with delusional content.
3. At ``concern`` a gentle check-in with resources is appended.

Streaming UIs use the two halves: ``check_user_message`` before streaming, ``finalize_reply`` on
the finished text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from studio.safety.crisis import CrisisCheck, check_user_message
from studio.safety.guard import GuardCheck, check_reply
from studio.settings import Settings


@dataclass
class SafeReply:
    text: str  # what to show the user
    crisis: CrisisCheck
    guard: GuardCheck | None  # None when the model was not called
    model_called: bool

    @property
    def flags(self) -> list[str]:
        """Short labels kept with the reply (Compare and the arena show them)."""
        flags = [f"crisis:{self.crisis.level}"] if self.crisis.level != "none" else []
        return flags + [f"guard:{code}" for code in (self.guard.codes if self.guard else [])]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "model_called": self.model_called,
            "flags": self.flags,
            "crisis": self.crisis.to_dict(),
            "guard": self.guard.to_dict() if self.guard else None,
        }


def finalize_reply(raw: str, crisis: CrisisCheck) -> tuple[str, GuardCheck]:
    """Guard a generated reply and append the check-in at level concern."""
    guard = check_reply(raw)
    text = guard.safe_text
    if crisis.level == "concern" and crisis.response:
        text = f"{text.rstrip()}\n\n{crisis.response}"
    return text, guard


def safe_reply(
    user_text: str,
    generate: Callable[[], str],
    settings: Settings | None = None,
    *,
    learned: bool = True,
) -> SafeReply:
    """Run one turn; ``generate`` is only called when the gate lets the turn through."""
    region = settings.region if settings else "US"
    phone = settings.clinic_phone if settings else ""
    crisis = check_user_message(user_text, region, phone, learned=learned, settings=settings)
    if crisis.level == "urgent":
        return SafeReply(crisis.response or "", crisis, None, model_called=False)
    text, guard = finalize_reply(generate(), crisis)
    return SafeReply(text, crisis, guard, model_called=True)
