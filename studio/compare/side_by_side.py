"""Two models answer the same prompt with the same settings and seed; both answers stream at once.

Both answers are two requests to the generation scheduler (``studio.models.scheduler``). When both
models sit on the same base weights (``base`` and a run's LoRA adapter, or two runs of the same
base) they share the one copy that ``model_cache`` keeps and decode in the same batch, each row with
its own adapter (PEFT's mixed-batch inference); models on different bases decode in their own
base's batch. The two streams are merged into one stream of updates.

Every prompt passes the crisis gate first (urgent: both sides show the fixed crisis template and
no model is called) and every answer passes the output guard; its flags travel with the answer.
A hosted model (``remote:<name>``) on either side answers over HTTP in its own thread, at the same time
(``studio.compare.remote_pair``); its failure ends that side only.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

from studio.compare.remote_pair import ERROR_MARK, RemoteJob
from studio.models.generate import GenerationSettings, build_messages
from studio.models.loader import ModelRef, model_cache, resolve
from studio.models.remote import is_remote
from studio.safety import CrisisCheck, TurnSafety, answer_safety, crisis_safety, gate_turn
from studio.settings import Settings
from studio.util.errors import UserError

BATCHED, PARALLEL, CRISIS = "batched", "parallel", "crisis"


class CompareError(UserError, ValueError):
    pass


@dataclass
class Answer:
    model: str
    text: str
    safety: TurnSafety
    new_tokens: int = 0
    seconds: float = 0.0
    error: str = ""  # a remote model's failure (timeout, 429, 5xx), with the provider's message

    @property
    def tokens_per_s(self) -> float:
        return round(self.new_tokens / self.seconds, 2) if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "text": self.text,
            "safety": self.safety.to_dict(),
            "new_tokens": self.new_tokens,
            "seconds": round(self.seconds, 3),
            "tokens_per_s": self.tokens_per_s,
            **({"error": self.error} if self.error else {}),
        }


@dataclass
class PairUpdate:
    """One step of a side-by-side stream. ``answers`` is set on the last update only."""

    texts: tuple[str, str]
    status: str  # loading | generating | done
    mode: str  # batched | parallel | crisis
    answers: tuple[Answer, Answer] | None = None


def shares_weights(ref_a: ModelRef, ref_b: ModelRef) -> bool:
    return ref_a.base == ref_b.base


def stream_pair(
    model_a: str,
    model_b: str,
    prompt: str,
    system: str | None,
    gen: GenerationSettings,
    settings: Settings,
    history: list[dict] | None = None,
) -> Iterator[PairUpdate]:
    """Yield cumulative texts of both answers as they grow; the last update carries the answers."""
    messages = build_messages(prompt, system, history, settings)  # validates the prompt before anything runs
    gate = gate_turn(prompt, settings, history)
    if gate.crisis:
        yield _crisis_update(model_a, model_b, gate)
        return
    models = (model_a, model_b)
    refs = [None if is_remote(model) else resolve_ref(model, settings) for model in models]  # None: over HTTP
    local = [ref for ref in refs if ref is not None]
    mode = BATCHED if len(local) == 2 and shares_weights(*local) else PARALLEL
    if not all(model_cache(settings).is_loaded(ref.base) for ref in local):
        yield PairUpdate(("", ""), "loading", mode)
    yield from _run(refs, models, messages, _same_seed(gen), settings, gate, mode)


def compare_pair(
    model_a: str, model_b: str, prompt: str, system: str | None, gen: GenerationSettings, settings: Settings
) -> tuple[Answer, Answer]:
    """Both answers, generated together, once complete."""
    answers = None
    for update in stream_pair(model_a, model_b, prompt, system, gen, settings):
        answers = update.answers or answers
    assert answers is not None
    return answers


def resolve_ref(model: str, settings: Settings) -> ModelRef:
    from studio.models.loader import ModelLoadError

    try:
        return resolve(model, settings)
    except ModelLoadError as exc:
        raise CompareError(str(exc)) from None


def _same_seed(gen: GenerationSettings) -> GenerationSettings:
    # Both sides get the same seed: each answer is then what its model gives alone with that seed.
    return gen if gen.seed is not None else replace(gen, seed=secrets.randbits(31))


def _crisis_update(model_a: str, model_b: str, gate: CrisisCheck) -> PairUpdate:
    text = gate.response or ""
    answers = (Answer(model_a, text, crisis_safety(gate)), Answer(model_b, text, crisis_safety(gate)))
    return PairUpdate((text, text), "done", CRISIS, answers)


def _submit_local(refs, messages, gen: GenerationSettings, settings: Settings, sink: queue.Queue) -> dict:
    """Queue the local answers (tagged by side); if the second is refused, the first is withdrawn."""
    from studio.models.generate import GenerationError
    from studio.models.loader import ModelLoadError
    from studio.models.scheduler import submit_chat

    submitted: dict = {}
    try:
        for side, ref in enumerate(refs):
            if ref is not None:
                submitted[side] = submit_chat(ref, messages, gen, settings, sink, tag=side)
    except (GenerationError, ModelLoadError) as exc:
        for ticket, _ in submitted.values():
            ticket.cancel()
        raise CompareError(str(exc)) from None
    return submitted


def _run(refs, labels: tuple[str, str], messages, gen, settings: Settings, gate: CrisisCheck, mode: str) -> Iterator[PairUpdate]:
    """Local answers from the generation scheduler (one batch when they share a base) and remote ones over
    HTTP in a thread each, merged into one stream. A remote failure ends that side only, with its message."""
    from studio.models.scheduler import TextDecoder

    sink: queue.Queue = queue.Queue()
    stop = threading.Event()
    submitted = _submit_local(refs, messages, gen, settings, sink)
    decoders = {side: TextDecoder(loaded.tokenizer) for side, (_, loaded) in submitted.items()}
    remotes = {side: RemoteJob(labels[side], messages, gen, settings, sink, stop, side)
               for side, ref in enumerate(refs) if ref is None}
    for job in remotes.values():
        job.thread.start()
    texts = ["", ""]
    ended = 0
    try:
        while ended < 2:
            side, kind, value = sink.get()
            if kind == "token":
                decoders[side].add(value)
                texts[side] = decoders[side].text(partial=True)
            elif kind == "text":
                texts[side] = value
            elif kind == "error":
                raise CompareError(str(value)) from value
            else:
                ended += 1
                continue
            yield PairUpdate((texts[0], texts[1]), "generating", mode)
    finally:
        stop.set()  # the consumer went away (or all ended): every slot and connection is freed
        for ticket, _ in submitted.values():
            ticket.cancel()
        for job in remotes.values():
            job.thread.join()
    answers = tuple(_answer(side, labels[side], submitted, decoders, remotes, gate) for side in (0, 1))
    shown = [ERROR_MARK + a.error if a.error else a.text for a in answers]
    yield PairUpdate((shown[0], shown[1]), "done", mode, answers)


def _answer(side: int, label: str, submitted: dict, decoders: dict, remotes: dict, gate: CrisisCheck) -> Answer:
    if side in remotes:
        job = remotes[side]
        text = job.text.strip()
        return Answer(model=label, text=text, safety=answer_safety(text, gate), new_tokens=int(job.stats.get("new_tokens", 0)),
                      seconds=float(job.stats.get("seconds", 0.0)), error=job.error)
    text = decoders[side].text().strip()
    stats = submitted[side][0].stats()
    return Answer(model=label, text=text, safety=answer_safety(text, gate), new_tokens=stats["new_tokens"],
                  seconds=stats["seconds"])
