"""Two models answer the same prompt with the same settings and seed; both answers stream at once.

When both models sit on the same base weights (``base`` and a run's LoRA adapter, or two runs of
the same base) they share the one copy that ``model_cache`` keeps, and ONE batched ``generate``
answers both: row 0 with model A's adapter, row 1 with model B's, using PEFT's mixed-batch
inference (``adapter_names=[...]``, ``"__base__"`` for no adapter). Models on different bases run
as two generations side by side, each in its own thread, merged into one stream of updates.

Every prompt passes the crisis gate first (urgent: both sides show the fixed crisis template and
no model is called) and every answer passes the output guard; its flags travel with the answer.
A hosted model (``remote:<name>``) on either side: see ``studio.compare.remote_pair``.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from studio.models.generate import GenerationSettings, _StopOnEvent, build_messages, encode_chat
from studio.models.loader import BASE_ADAPTER, LoadedModel, ModelRef, model_cache, resolve
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
    if is_remote(model_a) or is_remote(model_b):  # hosted models answer over HTTP, each side in its own thread
        from studio.compare.remote_pair import stream_mixed

        yield from stream_mixed((model_a, model_b), messages, gen, settings, gate, _seeds(gen))
        return
    refs = (resolve_ref(model_a, settings), resolve_ref(model_b, settings))
    mode = BATCHED if shares_weights(*refs) else PARALLEL
    cache = model_cache(settings)
    if not all(cache.is_loaded(ref.base) for ref in refs):
        yield PairUpdate(("", ""), "loading", mode)
    loaded = [cache.get(ref) for ref in refs]
    seeds = _seeds(gen)
    sink: queue.Queue = queue.Queue()
    stop = threading.Event()
    limit = float(settings.max_generation_s)
    if mode == BATCHED:
        jobs = [_Job(loaded[0], list(refs), messages, gen, seeds, sink, stop, 0, limit)]
    else:
        jobs = [_Job(loaded[i], [refs[i]], messages, gen, seeds, sink, stop, i, limit) for i in range(2)]
    yield from _run(jobs, (model_a, model_b), gate, mode, sink, stop)


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


def _seeds(gen: GenerationSettings) -> list[int]:
    # Both sides get the same seed: each answer is then what its model gives alone with that seed.
    seed = int(gen.seed) if gen.seed is not None else secrets.randbits(31)
    return [seed, seed]


def _crisis_update(model_a: str, model_b: str, gate: CrisisCheck) -> PairUpdate:
    text = gate.response or ""
    answers = (Answer(model_a, text, crisis_safety(gate)), Answer(model_b, text, crisis_safety(gate)))
    return PairUpdate((text, text), "done", CRISIS, answers)


class _Job:
    """One ``generate`` call for one or two rows on one loaded base, run in a worker thread."""

    def __init__(self, loaded: LoadedModel, refs: list[ModelRef], messages, gen, seeds, sink, stop, row_offset: int,
                 max_time: float):
        from studio.compare.streaming import RowStreamer, eos_ids

        self.loaded, self.refs, self.gen, self.sink, self.stop = loaded, refs, gen, sink, stop
        self.seeds = seeds[row_offset : row_offset + len(refs)]
        self.row_offset, self.max_time = row_offset, max_time
        self.inputs = encode_chat(loaded.tokenizer, messages)
        self.streamer = RowStreamer(loaded.tokenizer, len(refs), sink, eos_ids(loaded.model, loaded.tokenizer), row_offset)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _adapter_names(self) -> list[str] | None:
        from peft import PeftModel

        if isinstance(self.loaded.model, PeftModel):
            return [ref.adapter_name or BASE_ADAPTER for ref in self.refs]
        return None  # no adapter was ever loaded on this base: every row is the plain base

    def _work(self) -> None:
        import torch
        from transformers import StoppingCriteriaList

        from studio.compare.streaming import decoding_kwargs

        rows = len(self.refs)
        try:
            with self.loaded.lock, torch.inference_mode():
                inputs = {k: v.repeat(rows, 1).to(self.loaded.device) for k, v in self.inputs.items()}
                extra = {}
                names = self._adapter_names()
                if names is not None:
                    extra["adapter_names"] = names
                self.loaded.model.generate(
                    **inputs,
                    **decoding_kwargs(self.gen, self.loaded.model, self.seeds, self.loaded.device),
                    **extra,
                    max_time=self.max_time,
                    streamer=self.streamer,
                    pad_token_id=self.loaded.tokenizer.pad_token_id,
                    stopping_criteria=StoppingCriteriaList([_StopOnEvent(self.stop)]),
                )
        except BaseException as exc:  # re-raised in the caller's thread
            self.failure = exc
        finally:
            self.sink.put(("end", self.row_offset, None))


def _run(jobs: list[_Job], labels: tuple[str, str], gate: CrisisCheck, mode: str, sink: queue.Queue, stop) -> Iterator[PairUpdate]:
    yield from relay(jobs, mode, sink, stop)
    answers = []
    for job in jobs:
        for row in range(len(job.refs)):
            text = job.streamer.text(row).strip()
            answers.append(
                Answer(
                    model=labels[job.row_offset + row],
                    text=text,
                    safety=answer_safety(text, gate),
                    new_tokens=len(job.streamer.tokens[row]),
                    seconds=job.streamer.seconds(row),
                )
            )
    yield PairUpdate((answers[0].text, answers[1].text), "done", mode, (answers[0], answers[1]))


def relay(jobs: list, mode: str, sink: queue.Queue, stop) -> Iterator[PairUpdate]:
    """Start the jobs and yield both texts as they grow until every job ended; a job's failure is raised.

    -> the last texts. A job has ``thread`` and ``failure`` and sends ("text", row, text) / ("end", row, None)."""
    texts = ["", ""]
    for job in jobs:
        job.thread.start()
    ended = 0
    try:
        while ended < len(jobs):
            kind, row, text = sink.get(timeout=900)
            if kind == "end":
                ended += 1
            else:
                texts[row] = text
                yield PairUpdate((texts[0], texts[1]), "generating", mode)
    finally:
        stop.set()  # the consumer went away (or all ended): stop at the next token
        for job in jobs:
            job.thread.join()
    failure = next((job.failure for job in jobs if job.failure is not None), None)
    if failure is not None:
        raise CompareError(f"Generation failed: {failure}") from failure
    return texts
