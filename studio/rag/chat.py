"""The chat core: crisis gate, retrieval, streaming generation, output guard. No gradio.

``chat_stream`` is what the Chat tab, the ``chat`` CLI command and the API all call. Order matters:
1. the crisis gate runs on the user's message first; an urgent message gets the fixed crisis
   template and the model is never called (nor even loaded);
2. when ``rag`` is on, relevant knowledge-base passages become numbered, delimited references;
3. the model streams its reply; the output guard checks every partial reply and the final one,
   and a violating reply is stopped and replaced by the guard's safe text;
4. for a "concern" message the gate's check-in is appended after the answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from studio.models.system_prompt import load_system_prompt
from studio.rag.prompt import Source, sources_from, system_with_rules, user_turn
from studio.settings import Settings

MIN_SIMILARITY = 0.25  # below this the best passage is unrelated (e.g. "hello"): answer without references


@dataclass
class ChatUpdate:
    text: str
    sources: list[Source] = field(default_factory=list)
    safety: dict = field(default_factory=dict)
    status: str = "generating"  # loading | generating | done
    notice: str = ""  # e.g. the knowledge base was unreachable and the answer has no references

    def to_json(self) -> dict:
        return {"text": self.text, "sources": [s.to_json() for s in self.sources]}


def clean_history(history: Sequence[dict] | None) -> list[dict]:
    """Chat turns only: drop UI-only bubbles (sources, notices carry a metadata title)."""
    from studio.models.generate import message_text

    out = []
    for turn in history or []:
        if (turn.get("metadata") or {}).get("title"):
            continue
        out.append({"role": turn.get("role"), "content": message_text(turn.get("content"))})
    return out


def retrieve_sources(prompt: str, settings: Settings, k: int = 4, doc: str | None = None) -> list[Source]:
    from studio.rag.kb import knowledge_base

    hits = knowledge_base(settings).query(prompt, k=k, doc=doc)
    best = max((h.similarity for h in hits if h.similarity is not None), default=0.0)
    if best < MIN_SIMILARITY:
        return []
    return sources_from([h for h in hits if h.similarity is None or h.similarity >= MIN_SIMILARITY / 2])


def chat_stream(
    prompt: str,
    history: Sequence[dict] | None,
    model_ref: str,
    settings: Settings,
    system: str | None = None,
    rag: bool = True,
    gen=None,
    region: str | None = None,
    k: int = 4,
    stats: dict | None = None,
) -> Iterator[ChatUpdate]:
    from studio.models.generate import GenerationError, GenerationSettings, build_messages, check_length
    from studio.safety import gate_turn

    if not prompt or not prompt.strip():
        raise GenerationError("The message is empty. Type a message first.")
    check_length(prompt, settings.max_message_chars)  # before the gate and the tokenizer see it
    history = clean_history(history)
    gate = gate_turn(prompt, settings, history, region or settings.region)
    safety = {"level": gate.level, "categories": list(gate.categories), "reasons": list(gate.reasons)}
    if gate.degraded:
        safety["degraded"] = gate.degraded
    if gate.level == "urgent":
        yield ChatUpdate(gate.response, [], safety, status="done")
        return
    sources, notice = [], ""
    if rag:
        sources, notice = yield from _retrieve(prompt, settings, k, safety)
    user, removed = user_turn(prompt, sources)
    if removed:
        safety["reference_filtered"] = removed
    messages = build_messages(prompt, system_with_rules(system or load_system_prompt(settings), bool(sources)), history, settings)
    messages[-1]["content"] = user  # the checked prompt, with its reference passages
    stats = stats if stats is not None else {}
    text = yield from _generate(model_ref, messages, gen or GenerationSettings(max_new_tokens=256), settings, sources, safety,
                                notice, gate, stats)
    notice = " ".join(filter(None, [notice, stats.get("note")]))  # e.g. the answer's length was clipped
    if safety.get("output_violation"):
        sources = []  # citations under a replaced answer would point at text nobody sees
    if gate.degraded:
        notice = " ".join(filter(None, [notice, "Safety checks degraded: only the rules are running, so this answer carries a check-in."]))
    yield ChatUpdate(text, sources, safety, status="done", notice=notice)


def _retrieve(prompt: str, settings: Settings, k: int, safety: dict):
    from studio.rag.embedder import is_loaded
    from studio.rag.seed import ensure_seeded
    from studio.rag.store import StoreError

    if not is_loaded(settings):
        yield ChatUpdate("", [], safety, status="loading")
    try:
        ensure_seeded(settings)  # first use of an empty knowledge base: add the seed documents
        return retrieve_sources(prompt, settings, k), ""
    except StoreError as exc:
        return [], f"The knowledge base is unavailable, so this answer has no references ({exc})."


def _generate(model_ref, messages, gen, settings: Settings, sources, safety: dict, notice: str, gate, stats: dict | None = None):
    from studio.models.generate import stream_chat
    from studio.models.loader import model_cache, resolve
    from studio.models.remote import is_remote, stream_remote
    from studio.safety import check_reply, finish_reply

    if is_remote(model_ref):  # a hosted model answers over HTTP; the gate and the guard around it are the same
        stream = stream_remote(model_ref, messages, gen, settings, stats)
    else:
        if not model_cache(settings).is_loaded(resolve(model_ref, settings).base):
            yield ChatUpdate("", sources, safety, status="loading", notice=notice)
        stream = stream_chat(model_ref, messages, gen, settings, stats)
    text = ""
    try:
        for text in stream:
            if check_reply(text, partial=True).violation:
                break  # stop generating now; the final check below replaces the reply
            yield ChatUpdate(text, sources, safety, status="generating", notice=notice)
    finally:
        stream.close()
    final, verdict = finish_reply(text, gate)
    if verdict.violation:
        safety["output_violation"] = True
        safety["output_codes"] = list(verdict.codes)
    return final
