"""OpenAI-compatible chat completions over the studio's one chat path (core: no gradio, no web framework).

``parse_request`` turns a request body into a :class:`CompletionRequest` or raises :class:`ApiError`
naming the field; ``complete`` and ``stream_chunks`` run it through ``studio.rag.chat.chat_stream`` (the
crisis gate, optional retrieval, streaming generation and the output guard, exactly as in Chat) and
shape the answer as ``chat.completion`` / ``chat.completion.chunk`` objects. Next to the standard fields
each answer carries a non-standard ``safety`` object (the gate's level and categories, whether the
output guard replaced the reply and why) and ``warnings`` (e.g. ``max_tokens`` clipped, a system
message ignored). Standard clients ignore both.

A client's ``system`` messages are ignored (with a warning): as in Chat, only the studio's own saved
system prompt applies, since it carries the companion's rules.

When streaming, the output guard may replace a reply that has partly been sent: the last chunk then
has ``finish_reason: "content_filter"``, ``safety.replaced_streamed_text: true`` and the safe text as its
content; a client should show that content instead of what it received before.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from studio.settings import Settings

MAX_TOKENS_CAP = 1024  # more would hold the one shared model for minutes on a CPU Space
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 0.9
MAX_MESSAGES = 200
ROLES = ("system", "developer", "user", "assistant")
OWNER = "companion-studio"


class ApiError(Exception):
    """A refusal with its HTTP status and an OpenAI-style error body."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass
class CompletionRequest:
    model: str
    prompt: str
    history: list[dict]
    gen: object  # studio.models.generate.GenerationSettings
    stream: bool = False
    rag: bool = False
    region: str | None = None
    warnings: list[str] = field(default_factory=list)
    clipped_to: int | None = None


def known_models(settings: Settings) -> list[str]:
    from studio.compare.models import model_choices

    return model_choices(settings)


def models_payload(settings: Settings) -> dict:
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": OWNER}
                                       for m in known_models(settings)]}


def parse_request(body: object, settings: Settings) -> CompletionRequest:
    """Validate a chat completion body; every refusal names the field to fix."""
    from studio.models.generate import GenerationError, GenerationSettings

    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = _model(body.get("model"), settings)
    prompt, history, warnings = _messages(body.get("messages"), settings)
    if body.get("n", 1) != 1:
        raise ApiError(400, "Only n=1 is supported: one answer per request.", "n")
    max_tokens, clipped = _max_tokens(body)
    if clipped:
        warnings.append(f"max_tokens was clipped to {MAX_TOKENS_CAP}, the most this server generates per answer.")
    try:
        gen = GenerationSettings(
            max_new_tokens=max_tokens,
            temperature=_number(body, "temperature", DEFAULT_TEMPERATURE, 0, 2),
            top_p=_number(body, "top_p", DEFAULT_TOP_P, 0, 1, low_open=True),
            seed=_seed(body.get("seed")),
        )
    except GenerationError as exc:
        raise ApiError(400, str(exc)) from None
    return CompletionRequest(model=model, prompt=prompt, history=history, gen=gen, stream=_flag(body, "stream"),
                             rag=_flag(body, "rag"), region=_region(body.get("region")), warnings=warnings,
                             clipped_to=MAX_TOKENS_CAP if clipped else None)


def _model(value: object, settings: Settings) -> str:
    from studio.models.loader import ModelLoadError, finished_run_or_base

    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "'model' is required: 'base' or a finished run id (GET /v1/models lists them).", "model")
    known = known_models(settings)
    try:
        model = finished_run_or_base(value, settings)
    except ModelLoadError:
        model = None
    if model not in known:
        raise ApiError(404, f"The model {value[:60]!r} does not exist here. Known models: {', '.join(known)}.", "model",
                       "model_not_found")
    return model


def _messages(value: object, settings: Settings) -> tuple[str, list[dict], list[str]]:
    """-> (the last user message, the turns before it, warnings)."""
    from studio.models.generate import message_text

    if not isinstance(value, list) or not value:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} objects.", "messages")
    if len(value) > MAX_MESSAGES:
        raise ApiError(400, f"'messages' has {len(value)} messages; send at most {MAX_MESSAGES}.", "messages")
    turns, ignored_system = [], False
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}].role must be one of {', '.join(ROLES)}.", f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise ApiError(400, f"messages[{i}].content must be a string or a list of text parts.", f"messages[{i}].content")
        text = message_text(content)
        if len(text) > settings.max_message_chars:
            raise ApiError(400, f"messages[{i}].content is {len(text):,} characters; the limit is "
                           f"{settings.max_message_chars:,} (STUDIO_MAX_MESSAGE_CHARS). Shorten it.", f"messages[{i}].content")
        if message["role"] in ("system", "developer"):
            ignored_system = True
            continue
        turns.append({"role": message["role"], "content": text})
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise ApiError(400, "The last message must be a non-empty 'user' message.", f"messages[{len(value) - 1}]")
    warnings = ["System messages are ignored: the studio's own system prompt applies."] if ignored_system else []
    return turns[-1]["content"], turns[:-1], warnings


def _max_tokens(body: dict) -> tuple[int, bool]:
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    value = body.get(name)
    if value is None:
        return DEFAULT_MAX_TOKENS, False
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, f"'{name}' must be a whole number of at least 1.", name)
    return min(value, MAX_TOKENS_CAP), value > MAX_TOKENS_CAP


def _number(body: dict, name: str, default: float, low: float, high: float, low_open: bool = False) -> float:
    value = body.get(name)
    if value is None:
        return default
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (low < value if low_open else low <= value) or value > high:
        raise ApiError(400, f"'{name}' must be a number from {low} to {high}.", name)
    return float(value)


def _seed(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "'seed' must be a whole number.", "seed")
    return value


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"'{name}' must be true or false.", name)
    return value


def _region(value: object) -> str | None:
    from studio.safety.resources import REGIONS, region_key

    if value is None:
        return None
    key = region_key(value) if isinstance(value, str) and len(value) <= 40 else None
    if key is None:
        raise ApiError(400, f"'region' must be one of {', '.join(REGIONS)} (it picks the crisis resources).", "region")
    return key


# --- running a request ---


def complete(req: CompletionRequest, settings: Settings) -> dict:
    """One non-streamed ``chat.completion``."""
    stats: dict = {}
    final = None
    for update in _updates(req, settings, stats):
        final = update
    answer = _envelope(req, "chat.completion")
    answer["choices"] = [{"index": 0, "message": {"role": "assistant", "content": final.text},
                          "finish_reason": _finish_reason(final, stats, req)}]
    return _with_extras(answer, final, stats, req)


def stream_chunks(req: CompletionRequest, settings: Settings) -> Iterator[dict]:
    """``chat.completion.chunk`` objects: the role, the text as it grows, then the finish (with safety and usage).

    The first update is read before anything is yielded, so a refusal raises before a response starts."""
    stats: dict = {}
    updates = _updates(req, settings, stats)
    try:
        update = next(updates)
        base = _envelope(req, "chat.completion.chunk")
        yield _chunk(base, {"role": "assistant", "content": ""})
        sent = ""
        while update.status != "done":
            if update.text.startswith(sent) and len(update.text) > len(sent):
                yield _chunk(base, {"content": update.text[len(sent):]})
                sent = update.text
            update = next(updates)
        rest, replaced = _remainder(sent, update.text)
        if replaced:
            update.safety["replaced_streamed_text"] = True
        last = _chunk(base, {"content": rest} if rest else {}, _finish_reason(update, stats, req))
        yield _with_extras(last, update, stats, req)
    finally:
        updates.close()


def _updates(req: CompletionRequest, settings: Settings, stats: dict):
    """``chat_stream``'s updates, with its refusals turned into API errors."""
    from studio.models.generate import GenerationError
    from studio.models.loader import ModelLoadError
    from studio.models.remote import RemoteError
    from studio.models.scheduler import SchedulerBusy
    from studio.rag.chat import chat_stream

    stream = chat_stream(req.prompt, req.history, req.model, settings, rag=req.rag, gen=req.gen, region=req.region,
                         stats=stats)
    try:
        yield from stream
    except ModelLoadError as exc:
        raise ApiError(503, f"The model could not be loaded: {exc}", "model", "model_unavailable", "server_error") from None
    except RemoteError as exc:  # the hosted model behind remote:<name> failed: a bad gateway, with its message
        raise ApiError(502, str(exc), "model", "upstream_error", "server_error") from None
    except SchedulerBusy as exc:  # the generation queue is full: a retry in a moment may be served
        raise ApiError(503, str(exc), code="busy", kind="server_error", headers={"Retry-After": "5"}) from None
    except GenerationError as exc:
        status, kind = (500, "server_error") if str(exc).startswith("Generation failed") else (400, "invalid_request_error")
        raise ApiError(status, str(exc), kind=kind) from None
    finally:
        stream.close()


def _remainder(sent: str, final: str) -> tuple[str, bool]:
    """What to send after ``sent`` so the client shows ``final``; True when ``final`` replaces ``sent``."""
    if final.startswith(sent):
        return final[len(sent):], False
    if final.startswith(sent.rstrip()):  # the finished reply is stripped of trailing whitespace
        return final[len(sent.rstrip()):].lstrip(" "), False
    return final, True


def _finish_reason(update, stats: dict, req: CompletionRequest) -> str:
    if update.safety.get("output_violation"):
        return "content_filter"
    if stats.get("new_tokens", 0) >= req.gen.max_new_tokens:
        return "length"
    return "stop"


def _envelope(req: CompletionRequest, kind: str) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": kind, "created": int(time.time()), "model": req.model}


def _chunk(base: dict, delta: dict, finish_reason: str | None = None) -> dict:
    return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}


def _with_extras(answer: dict, update, stats: dict, req: CompletionRequest) -> dict:
    prompt_tokens, completion_tokens = stats.get("prompt_tokens", 0), stats.get("new_tokens", 0)
    answer["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                       "total_tokens": prompt_tokens + completion_tokens}
    safety = {"output_violation": False, "output_codes": [], **update.safety,
              "crisis_template": update.safety.get("level") == "urgent"}
    if req.clipped_to:
        safety["max_tokens_clipped_to"] = req.clipped_to
    answer["safety"] = safety
    answer["warnings"] = [*req.warnings, *([update.notice] if update.notice else [])]
    if req.rag:
        answer["sources"] = [s.to_json() for s in update.sources]
    return answer
