"""Chat generation with the model's own chat template: streaming and one-shot.

Streaming goes through the generation scheduler (``studio.models.scheduler``), which batches every
user's requests; the caller iterates cumulative text. Closing the iterator early stops generation at
the next step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from studio.models.errors import GenerationError  # noqa: F401 - callers import it from here too
from studio.models.loader import resolve
from studio.models.scheduler import encode_chat  # noqa: F401 - callers import it from here too
from studio.settings import Settings


@dataclass
class GenerationSettings:
    max_new_tokens: int = 200
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int | None = 0
    repetition_penalty: float = 1.1

    def __post_init__(self) -> None:
        if not 1 <= int(self.max_new_tokens) <= 4096:
            raise GenerationError("max_new_tokens must be between 1 and 4096.")
        if not 0 <= float(self.temperature) <= 2:
            raise GenerationError("temperature must be between 0 and 2.")
        if not 0 < float(self.top_p) <= 1:
            raise GenerationError("top_p must be above 0 and at most 1.")

    def generate_kwargs(self) -> dict:
        kwargs: dict = {"max_new_tokens": int(self.max_new_tokens), "repetition_penalty": float(self.repetition_penalty)}
        if float(self.temperature) > 0:
            kwargs.update(do_sample=True, temperature=float(self.temperature), top_p=float(self.top_p))
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs


@dataclass
class GenerationResult:
    model: str
    text: str
    new_tokens: int
    seconds: float
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


def message_text(content) -> str:
    """Plain text of a chat message's content (Gradio 6 sends a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return ""


def check_length(text: str | None, limit: int, what: str = "message") -> None:
    """A clear error, before any tokenizing, when ``text`` is over ``limit`` characters."""
    if text and len(text) > limit:
        raise GenerationError(f"The {what} is {len(text):,} characters; the limit is {limit:,} (STUDIO_MAX_MESSAGE_CHARS). "
                              "Shorten it, or split it into several messages.")


def build_messages(prompt: str, system: str | None = None, history: list[dict] | None = None,
                   settings: Settings | None = None) -> list[dict]:
    """Chat messages for the template; the prompt and system prompt are length-checked and the
    history is cut to its character budget, oldest turns first (``settings`` gives the caps)."""
    limits = settings or Settings()
    if not prompt or not prompt.strip():
        raise GenerationError("The prompt is empty. Type a message first.")
    check_length(prompt, limits.max_message_chars)
    check_length(system, max(limits.max_message_chars, 4000), "system prompt")
    messages: list[dict] = []
    if system and system.strip():
        messages.append({"role": "system", "content": system.strip()})
    turns = [{"role": t["role"], "content": message_text(t.get("content"))} for t in history or []
             if t.get("role") in ("user", "assistant") and message_text(t.get("content")).strip()]
    messages += _recent(turns, limits.max_history_chars)
    messages.append({"role": "user", "content": prompt.strip()})
    return messages


def _recent(turns: list[dict], budget: int) -> list[dict]:
    """The newest turns whose text fits in ``budget`` characters (a turn over the budget is left out whole)."""
    kept: list[dict] = []
    for turn in reversed(turns):
        budget -= len(turn["content"])
        if budget < 0:
            break
        kept.append(turn)
    return kept[::-1]


def stream_chat(
    model: str, messages: list[dict], gen: GenerationSettings, settings: Settings, stats: dict | None = None
) -> Iterator[str]:
    """Yield the reply's cumulative text as it grows. ``model`` is a model reference string.

    The request joins the generation scheduler's queue (``studio.models.scheduler``), decoded in one
    batch with everyone else's. Closing the iterator early cancels it: its slot is free at the next step.
    When ``stats`` is given it receives ``prompt_tokens`` at once, and ``new_tokens``, ``seconds`` (and
    ``note``, when the token count asked for was clipped) once generation ends. A full queue raises
    ``SchedulerBusy`` (a ``GenerationError``) with the message to show.
    """
    from studio.models.scheduler import submit_chat

    ticket, loaded = submit_chat(resolve(model, settings), messages, gen, settings)
    if stats is not None:
        stats["prompt_tokens"] = len(ticket.input_ids)
        if ticket.note:
            stats["note"] = ticket.note
    try:
        yield from ticket.texts(loaded.tokenizer)
    finally:
        ticket.cancel()  # a no-op once it ended; otherwise frees its slot before we return
    if stats is not None:
        stats.update(ticket.stats())


def generate_chat(model: str, messages: list[dict], gen: GenerationSettings, settings: Settings) -> GenerationResult:
    stats: dict = {}
    text = ""
    for partial in stream_chat(model, messages, gen, settings, stats):
        text = partial
    return GenerationResult(
        model=model, text=text.strip(), new_tokens=stats.get("new_tokens", 0), seconds=stats.get("seconds", 0.0)
    )
