"""Side by side when one side (or both) is a hosted model (``remote:<name>``).

Each side runs at once in its own thread: a local model as in Compare (its own ``generate`` on the
shared, cached weights), a remote one over HTTP (``studio.models.remote``). Both feed one queue, so
the two answers stream together. A remote failure (timeout, 429, 5xx, refused connection) ends that
side only: its answer carries the provider's message in ``error`` and the other side finishes.
The crisis gate has already run (``stream_pair``); the output guard checks every answer here.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator

from studio.models.generate import GenerationSettings
from studio.models.remote import RemoteError, is_remote, stream_remote
from studio.safety import CrisisCheck, answer_safety
from studio.settings import Settings

ERROR_MARK = "⚠️ "


class _RemoteJob:
    """One remote answer streamed in a worker thread, with the same queue protocol as a local job."""

    def __init__(self, ref: str, messages: list[dict], gen: GenerationSettings, settings: Settings, sink: queue.Queue,
                 stop: threading.Event, row: int):
        self.ref, self.messages, self.gen, self.settings = ref, messages, gen, settings
        self.sink, self.stop, self.row_offset = sink, stop, row
        self.text, self.error, self.stats = "", "", {}
        self.failure: BaseException | None = None  # a local job's field; a remote failure is an ``error`` instead
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _work(self) -> None:
        stream = stream_remote(self.ref, self.messages, self.gen, self.settings, self.stats)
        try:
            for self.text in stream:
                self.sink.put(("text", self.row_offset, self.text))
                if self.stop.is_set():
                    break  # the viewer went away: stop reading (the connection is closed below)
        except RemoteError as exc:
            self.error = str(exc)
        except Exception as exc:  # never leave the other side waiting on a crashed thread
            self.error = f"{self.ref} failed: {type(exc).__name__}"
        finally:
            stream.close()
            self.sink.put(("end", self.row_offset, None))

    def answer(self, label: str, gate: CrisisCheck):
        from studio.compare.side_by_side import Answer

        text = self.text.strip()
        return Answer(model=label, text=text, safety=answer_safety(text, gate), new_tokens=int(self.stats.get("new_tokens", 0)),
                      seconds=float(self.stats.get("seconds", 0.0)), error=self.error)


def stream_mixed(models: tuple[str, str], messages: list[dict], gen: GenerationSettings, settings: Settings,
                 gate: CrisisCheck, seeds: list[int]) -> Iterator:
    """``stream_pair``'s updates for a pair with at least one remote model."""
    from studio.compare.side_by_side import PARALLEL, PairUpdate, _Job, relay, resolve_ref
    from studio.models.loader import model_cache

    sink: queue.Queue = queue.Queue()
    stop = threading.Event()
    cache = model_cache(settings)
    jobs: list = []
    for side, model in enumerate(models):
        if is_remote(model):
            jobs.append(_RemoteJob(model, messages, dataclasses.replace(gen, seed=seeds[side]), settings, sink, stop, side))
            continue
        ref = resolve_ref(model, settings)
        if not cache.is_loaded(ref.base):
            yield PairUpdate(("", ""), "loading", PARALLEL)
        jobs.append(_Job(cache.get(ref), [ref], messages, gen, seeds, sink, stop, side, float(settings.max_generation_s)))
    texts = yield from relay(jobs, PARALLEL, sink, stop)
    answers = tuple(_answer(job, models[side], gate) for side, job in enumerate(jobs))
    for side, answer in enumerate(answers):
        texts[side] = ERROR_MARK + answer.error if answer.error else answer.text
    yield PairUpdate((texts[0], texts[1]), "done", PARALLEL, answers)


def _answer(job, label: str, gate: CrisisCheck):
    if isinstance(job, _RemoteJob):
        return job.answer(label, gate)
    from studio.compare.side_by_side import Answer

    text = job.streamer.text(0).strip()
    return Answer(model=label, text=text, safety=answer_safety(text, gate), new_tokens=len(job.streamer.tokens[0]),
                  seconds=job.streamer.seconds(0))
