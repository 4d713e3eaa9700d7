"""One queue for every generation request, decoded together by one worker: continuous batching.

Chat, the arena, side by side and the OpenAI-compatible API all ``submit`` here (``stream_chat`` and
``stream_pair`` do it for them). Per loaded base model one worker thread runs this loop:

1. admit waiting requests first in, first out, while fewer than ``gen_max_batch`` are active;
2. prefill admitted prompts alone, one chunk of ``gen_prefill_chunk`` tokens at a time, at most about
   one chunk's worth per turn and the shortest remaining first, so a long prompt never holds up the
   others' decoding nor their start;
3. one decode step for every running row together (``KVBatch``): each row with its own adapter
   (PEFT ``adapter_names``), sampling settings, seeded generator, stop tokens and token limit. Rows of
   very different lengths decode in separate groups (one forward pass each), so a long conversation
   does not make every short one pay for its padding.

A request that is cancelled (the consumer closed its stream, a client went away), runs past
``max_generation_s``, or ends, leaves the batch at the next step; cancel is also checked between
prefill chunks. Each row's answer equals what ``model.generate`` gives that request alone with the
same seed (see ``studio.models.sampling``). The model lock is held for one forward pass at a time.

Why not transformers' own continuous batching (``generate_batch`` / ``init_continuous_batching``,
paged attention)? It packs every request into ONE row of a ragged batch, so PEFT's ``adapter_names``
(one adapter per batch row) cannot give requests different adapters; it samples with the global
generator (no seed per request) and has no repetition penalty. This loop keeps one row per request.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from studio.models.errors import GenerationError
from studio.models.loader import LoadedModel, ModelRef, model_cache
from studio.settings import Settings
from studio.util.exiting import EXITING, on_exit

if TYPE_CHECKING:  # type only: studio.models.generate is the layer above this one
    from studio.models.generate import GenerationSettings

log = logging.getLogger(__name__)

IDLE_EXIT_S = 30.0  # a worker with nothing to do ends; the next request starts a new one
THROUGHPUT_WINDOW_S = 30.0

QUEUED, PREFILL, DECODING, DONE = "queued", "prefill", "decoding", "done"


class SchedulerBusy(GenerationError):
    """The bounded queue is full; the message is what the user sees."""

    def __init__(self, ahead: int):
        self.ahead = ahead
        super().__init__(f"The studio is busy: {ahead} people ahead of you. Please try again in a moment.")


class Ticket:
    """One submitted request. Its events go to ``sink`` as ``(tag, kind, value)``:
    ``("token", id)`` for each new token, then ``("end", reason)`` or ``("error", exception)``."""

    def __init__(self, input_ids: list[int], adapter: str | None, decoder, max_new_tokens: int, eos: set[int],
                 sink: queue.Queue | None = None, tag=None, note: str | None = None):
        self.input_ids, self.adapter, self.decoder = input_ids, adapter, decoder
        self.max_new_tokens, self.eos, self.note = max_new_tokens, eos, note
        self.sink = sink if sink is not None else queue.Queue()
        self.tag = tag
        self.tokens: list[int] = []
        self.state = QUEUED
        self.reason: str | None = None  # eos | length | time | cancelled | error
        self.prefilled = 0  # prompt tokens in the cache so far
        self.cache = None  # the row's own cache while it prefills
        self.submitted_at = time.monotonic()
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.finished_at: float | None = None
        self.done = threading.Event()
        self._cancel = threading.Event()
        self._scheduler: Scheduler | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self, wait: bool = True) -> None:
        """Stop this request: a queued one leaves the queue now, a running one at the next step or chunk."""
        self._cancel.set()
        if self._scheduler is not None:
            self._scheduler.withdraw(self)
        if wait:
            self.done.wait(timeout=60)

    def texts(self, tokenizer) -> Iterator[str]:
        """The answer's cumulative text as it grows (``sink`` must be this ticket's own)."""
        decoder, shown = TextDecoder(tokenizer), ""
        while True:
            _, kind, value = self.sink.get()
            if kind == "token":
                decoder.add(value)
                while not self.sink.empty():  # take what else arrived, decode once
                    _, kind, value = self.sink.get()
                    if kind != "token":
                        break
                    decoder.add(value)
                text = decoder.text(partial=True)
                if text != shown:
                    shown = text
                    yield text
            if kind == "error":
                raise value
            if kind == "end":
                return

    def stats(self) -> dict:
        end = self.finished_at or time.monotonic()
        started = self.started_at or end
        data = {"prompt_tokens": len(self.input_ids), "new_tokens": len(self.tokens), "seconds": round(end - started, 3),
                "queued_s": round(started - self.submitted_at, 3), "finish_reason": self.reason}
        if self.first_token_at is not None:
            data["first_token_s"] = round(self.first_token_at - self.submitted_at, 3)
        if self.note:
            data["note"] = self.note
        return data

    def _put(self, kind: str, value) -> None:
        self.sink.put((self.tag, kind, value))


class TextDecoder:
    """Token ids -> text, for a stream of one answer."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []

    def add(self, token: int) -> None:
        self.ids.append(token)

    def text(self, partial: bool = False) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        # Mid-stream, a multi-byte character may be cut in half; wait for its other bytes.
        return text.rstrip("\ufffd") if partial else text


class Scheduler:
    """The queue and the decoding worker of one loaded base model."""

    def __init__(self, loaded: LoadedModel, settings: Settings):
        self.loaded = loaded
        self.max_batch = settings.gen_max_batch
        self.max_queue = settings.gen_queue
        self.chunk = settings.gen_prefill_chunk
        self.max_new_tokens = settings.gen_max_new_tokens
        self.max_time = float(settings.max_generation_s)
        self._cond = threading.Condition()
        self._queued: deque[Ticket] = deque()
        self._prefilling: list[Ticket] = []
        self._batches: list = []  # KVBatch groups decoding together, each of rows of similar length (kv_batch.fits)
        self._mergeable = _mergeable(loaded.model)  # False: one request at a time (e.g. sliding-window layers)
        self._thread: threading.Thread | None = None
        self._recent: deque[tuple[float, int]] = deque()  # (when, tokens) per step, for throughput
        self._largest = 0  # the most rows one step has decoded together
        self._largest_kv = 0  # the most bytes the batch's KV cache has held
        self._closing = False
        _schedulers.add(self)

    # ---- callers ----

    def submit(self, input_ids: list[int], adapter: str | None, gen: GenerationSettings,
               sink: queue.Queue | None = None, tag=None) -> Ticket:
        """Queue a request; raises ``SchedulerBusy`` when the queue is full."""
        from studio.models.sampling import RowDecoder, eos_ids

        if adapter is not None and adapter not in self.loaded.adapters:
            raise GenerationError(f"The adapter {adapter!r} is not loaded on this model.")
        asked = int(gen.max_new_tokens)
        note = None
        if asked > self.max_new_tokens:
            note = (f"You asked for {asked} new tokens; answers here stop at {self.max_new_tokens} "
                    "(STUDIO_MAX_NEW_TOKENS), so this answer was clipped.")
        seed = int(gen.seed) if gen.seed is not None else secrets.randbits(31)
        model = self.loaded.model
        ticket = Ticket(list(input_ids), adapter, RowDecoder(gen, model, seed, self.loaded.device),
                        min(asked, self.max_new_tokens), eos_ids(model, self.loaded.tokenizer), sink, tag, note)
        with self._cond:
            if len(self._queued) >= self.max_queue:
                raise SchedulerBusy(len(self._queued) + self.active())
            ticket._scheduler = self
            self._queued.append(ticket)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="generation-scheduler", daemon=True)
                self._thread.start()
            self._cond.notify()
        return ticket

    def withdraw(self, ticket: Ticket) -> None:
        """A cancelled ticket that still waits leaves the queue at once (a running one at the next step)."""
        with self._cond:
            if ticket in self._queued:
                self._queued.remove(ticket)
                self._finish(ticket, "cancelled")
            self._cond.notify()

    def close(self, timeout: float = 30.0) -> None:
        """Cancel every request, waiting or running, and wait for the worker to stop."""
        with self._cond:
            self._closing = True
            tickets = list(self._queued) + self._prefilling + [row for batch in self._batches for row in batch.rows]
            thread = self._thread
            self._cond.notify()
        for ticket in tickets:
            ticket.cancel(wait=False)
        if thread is not None:
            thread.join(timeout)

    def active(self) -> int:
        return len(self._prefilling) + sum(len(batch) for batch in self._batches)

    def stats(self) -> dict:
        now = time.monotonic()
        with self._cond:
            recent = [(t, n) for t, n in self._recent if now - t <= THROUGHPUT_WINDOW_S]
            queued = len(self._queued)
        tokens = sum(n for _, n in recent)
        span = (now - recent[0][0]) if recent else 0.0
        return {"queued": queued, "active": self.active(), "max_batch": self.max_batch, "max_queue": self.max_queue,
                "tokens_per_s": round(tokens / span, 1) if span > 0.5 else 0.0,
                "groups": len(self._batches), "largest_batch": self._largest, "largest_kv_mb": round(self._largest_kv / 2**20, 1)}

    # ---- the worker ----

    def _work(self) -> None:
        _use_available_cores()
        while True:
            with self._cond:
                if not self._has_work() and not self._closing:
                    self._cond.wait(timeout=IDLE_EXIT_S)
                if not self._has_work():
                    self._thread = None
                    return
                self._admit()
            try:
                self._prefill_some()
                self._decode_step()
            except Exception as exc:  # a failed batched step fails the requests in it, never the worker
                log.exception("Generation step failed")
                batches, self._batches = self._batches, []
                for ticket in (row for batch in batches for row in batch.rows):
                    self._fail(ticket, exc)

    def _has_work(self) -> bool:
        return bool(self._queued or self._prefilling or self._batches)

    def _admit(self) -> None:
        limit = self.max_batch if self._mergeable else 1
        while self._queued and self.active() < limit:
            ticket = self._queued.popleft()
            ticket.state, ticket.started_at = PREFILL, time.monotonic()
            self._prefilling.append(ticket)

    def _stopped(self, ticket: Ticket) -> str | None:
        if ticket.cancelled:
            return "cancelled"
        if time.monotonic() - (ticket.started_at or ticket.submitted_at) > self.max_time:
            return "time"
        if ticket.adapter is not None and ticket.adapter not in self.loaded.adapters:
            return "adapter"
        return None

    def _prefill_some(self) -> None:
        """Prefill waiting prompts in order, chunk by chunk, about one chunk's worth of tokens in all."""
        import torch

        from studio.models.kv_batch import prefill_chunk

        for ticket in [t for t in self._prefilling if t.cancelled]:  # whatever their place in line
            self._prefilling.remove(ticket)
            self._end(ticket, "cancelled")
        budget = self.chunk
        for ticket in sorted(self._prefilling, key=lambda t: len(t.input_ids) - t.prefilled):  # shortest first
            logits = None
            while budget > 0 and ticket.prefilled < len(ticket.input_ids):
                piece = ticket.input_ids[ticket.prefilled : ticket.prefilled + self.chunk]
                try:
                    with self.loaded.lock, torch.inference_mode():
                        stop = self._stopped(ticket)
                        if not stop:
                            logits, ticket.cache = prefill_chunk(self.loaded.model, piece, ticket.cache, ticket.adapter)
                except Exception as exc:  # fails this request only
                    log.exception("Prefill failed")
                    self._prefilling.remove(ticket)
                    self._fail(ticket, exc)
                    break
                if stop:
                    self._prefilling.remove(ticket)
                    self._end(ticket, stop)
                    break
                ticket.prefilled += len(piece)
                budget -= len(piece)
            if ticket.state == PREFILL and ticket.prefilled == len(ticket.input_ids) and logits is not None:
                self._prefilling.remove(ticket)
                self._start_decoding(ticket, logits)
            if budget <= 0:
                return

    def _start_decoding(self, ticket: Ticket, logits) -> None:
        from studio.models.kv_batch import KVBatch, fits

        try:
            ticket.state = DECODING
            token = self._choose(ticket, logits)
            cache, ticket.cache = ticket.cache, None
            ended = self._emit(ticket, token)
            if ended:
                self._end(ticket, ended)
                return
            length = cache.get_seq_length()
            batch = next((b for b in self._batches if fits(b.width, length, self.chunk)), None)
            if batch is None:
                batch = KVBatch()
                self._batches.append(batch)
            batch.join(cache, token, ticket)
        except Exception as exc:  # fails this request only (the batch is joined last, in one piece)
            log.exception("Starting to decode failed")
            self._fail(ticket, exc)

    def _decode_step(self) -> None:
        """One step for every running row: one forward pass per group of similar lengths."""
        for batch in list(self._batches):
            self._decode_batch(batch)
        self._batches = [batch for batch in self._batches if len(batch)]
        with self._cond:
            now = time.monotonic()
            while self._recent and now - self._recent[0][0] > THROUGHPUT_WINDOW_S:
                self._recent.popleft()
            self._largest_kv = max(self._largest_kv, sum(batch.nbytes() for batch in self._batches))

    def _decode_batch(self, batch) -> None:
        import torch

        with self.loaded.lock, torch.inference_mode():  # checked under the lock: an adapter may be unloaded meanwhile
            self._leave(batch, [(ticket, self._stopped(ticket)) for ticket in batch.rows])
            if not len(batch):
                return
            logits = batch.step(self.loaded.model, [ticket.adapter for ticket in batch.rows])
        outcome = []
        for row, ticket in enumerate(batch.rows):
            token = self._choose(ticket, logits[row : row + 1])
            batch.pending[row] = token
            outcome.append((ticket, self._emit(ticket, token)))
        with self._cond:
            self._recent.append((time.monotonic(), len(batch)))
            self._largest = max(self._largest, sum(len(b) for b in self._batches))
        self._leave(batch, outcome)

    def _leave(self, batch, outcome: list[tuple[Ticket, str | None]]) -> None:
        """Rows whose outcome is a reason leave the batch, then end: a ticket is done once its slot is free."""
        keep = [row for row, (_, reason) in enumerate(outcome) if reason is None]
        if len(keep) != len(batch):
            batch.keep(keep)
        for ticket, reason in outcome:
            if reason is not None:
                self._end(ticket, reason)

    @staticmethod
    def _choose(ticket: Ticket, logits) -> int:
        import torch

        ids = torch.tensor([ticket.input_ids + ticket.tokens], device=logits.device)
        return ticket.decoder.next_token(ids, logits)

    @staticmethod
    def _emit(ticket: Ticket, token: int) -> str | None:
        """Hand ``token`` to the ticket -> why the ticket ends with it (``eos``, ``length``), or None."""
        if ticket.first_token_at is None:
            ticket.first_token_at = time.monotonic()
        if token in ticket.eos:
            return "eos"
        ticket.tokens.append(token)
        ticket._put("token", token)
        return "length" if len(ticket.tokens) >= ticket.max_new_tokens else None

    def _end(self, ticket: Ticket, reason: str) -> None:
        if reason == "adapter":
            self._fail(ticket, GenerationError(f"The adapter {ticket.adapter!r} was unloaded while answering."))
        else:
            with self._cond:
                self._finish(ticket, reason)

    def _fail(self, ticket: Ticket, exc: Exception) -> None:
        error = exc if isinstance(exc, GenerationError) else GenerationError(f"Generation failed: {exc}")
        error.__cause__ = None if error is exc else exc
        with self._cond:
            self._finish(ticket, "error", error)

    @staticmethod
    def _finish(ticket: Ticket, reason: str, error: Exception | None = None) -> None:
        """Called with the condition held: the ticket's last event, once."""
        if ticket.state == DONE:
            return
        ticket.state, ticket.reason, ticket.finished_at, ticket.cache = DONE, reason, time.monotonic(), None
        ticket._put("error", error) if error is not None else ticket._put("end", reason)
        ticket.done.set()


def _mergeable(model) -> bool:
    """Whether this model's cache rows can be padded and joined (plain full-attention layers)."""
    from transformers import DynamicCache

    from studio.models.kv_batch import mergeable

    return mergeable(DynamicCache(config=model.config))


_threads_set = False


def _use_available_cores() -> None:
    """Torch's thread pool sized to the cores this process may really use (an oversubscribed pool
    made plain generation about 7x slower); set once, by the first worker."""
    global _threads_set
    if not _threads_set:
        import torch

        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        _threads_set = True


_registry_lock = threading.Lock()
_schedulers: weakref.WeakSet = weakref.WeakSet()


@on_exit
def _stop_all() -> None:
    """End every request and hold each model, so that a thread that wants it next waits outside torch."""
    from studio.models.loader import every_loaded_model

    for scheduler in list(_schedulers):
        scheduler.close()
    for loaded in every_loaded_model():
        loaded.lock.acquire(timeout=30)


def stop_at_exit():
    """``stopping_criteria`` for a ``generate`` run outside the scheduler (the report card): it ends at exit."""
    from transformers import StoppingCriteriaList

    return StoppingCriteriaList([lambda input_ids, scores, **kwargs: EXITING.is_set()])


def scheduler_for(loaded: LoadedModel, settings: Settings) -> Scheduler:
    with _registry_lock:
        if loaded.scheduler is None:
            loaded.scheduler = Scheduler(loaded, settings)
        return loaded.scheduler


def encode_chat(tokenizer, messages: list[dict]):
    """The chat template with the generation prompt, as the model's input tensors."""
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)


def submit_chat(ref: ModelRef, messages: list[dict], gen: GenerationSettings, settings: Settings,
                sink: queue.Queue | None = None, tag=None) -> tuple[Ticket, LoadedModel]:
    """Load ``ref`` (its adapter too) and queue its answer to ``messages``.

    Loading happens here, in the caller's thread: an adapter that fails to load fails this request only.
    """
    loaded = model_cache(settings).get(ref)
    input_ids = encode_chat(loaded.tokenizer, messages)["input_ids"][0].tolist()
    return scheduler_for(loaded, settings).submit(input_ids, ref.adapter_name, gen, sink, tag), loaded


def queue_stats(settings: Settings) -> dict:
    """Queue length and recent throughput over every loaded base (for the admin's status line)."""
    parts = [loaded.scheduler.stats() for loaded in model_cache(settings).loaded() if loaded.scheduler is not None]
    return {"queued": sum(p["queued"] for p in parts), "active": sum(p["active"] for p in parts),
            "max_batch": settings.gen_max_batch, "tokens_per_s": round(sum(p["tokens_per_s"] for p in parts), 1)}


def status_line(settings: Settings) -> str:
    """One line for the admin: how busy generation is right now."""
    stats = queue_stats(settings)
    return (f"Generation: {stats['active']} answering together (at most {stats['max_batch']}), {stats['queued']} waiting, "
            f"{stats['tokens_per_s']} tokens/s over the last {THROUGHPUT_WINDOW_S:.0f} s.")
