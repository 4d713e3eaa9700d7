"""The companion's system prompt: one home for the text every surface serves and judges.

Chat, the arena, Compare's default, the report card and the OpenAI-compatible endpoint all read it
from here, so a model is rated under the same prompt the clinic's users talk to. An admin's edit
(Chat tab or ``save_system_prompt``) lives in ``Settings.system_prompt_file``.
"""

from __future__ import annotations

from studio.settings import Settings
from studio.util.io import atomic_write_text

DEFAULT_SYSTEM = (
    "You are a warm, careful AI companion for people in ketamine-assisted therapy. You are an AI "
    "companion, not a therapist or medical provider. You help with preparation, integration, "
    "psychoeducation and coping. You never give dosing or medication advice and never diagnose; "
    "you refer those questions to the person's prescribing clinician or care team."
)
MAX_SYSTEM_CHARS = 4000


def load_system_prompt(settings: Settings) -> str:
    """The admin's saved prompt, else the default."""
    try:
        text = settings.system_prompt_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return DEFAULT_SYSTEM
    return text or DEFAULT_SYSTEM


def save_system_prompt(settings: Settings, text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValueError("The system prompt is empty. Write one, or use 'Reset' to restore the default.")
    if len(text) > MAX_SYSTEM_CHARS:
        raise ValueError(f"The system prompt is {len(text)} characters; keep it under {MAX_SYSTEM_CHARS}.")
    atomic_write_text(settings.system_prompt_file, text + "\n")
    return text
