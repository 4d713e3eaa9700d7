"""Knowledge-base adds that are all-or-nothing per document, with a time estimate and progress.

A document's chunks are written with the ``staged`` mark (``studio.rag.store.STAGED``), which every
read leaves out, and are swapped in (the mark removed) only once all of them are stored. An add
that is stopped, fails or dies leaves staged chunks at most: they are deleted at once, or when the
knowledge base is next opened (``recover_staged``). Embedding speed is measured on every add and
kept on the collection, so the next add can say up front how long it will take.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from studio.rag.parsers import IngestError
from studio.rag.store import ChromaStore

log = logging.getLogger(__name__)

RATE_FLAG = "chunks_per_s"  # collection flag: embedding + storing speed measured by the last long add
MIN_MEASURED = 32  # chunks: fewer say more about start-up costs than about speed
BYTES_PER_CHUNK = 700  # plain text: about 160 new tokens per chunk (200 with 40 overlap), ~4.4 bytes a token


class IngestCancelled(IngestError):
    """The add was stopped before it finished; nothing of the unfinished documents is listed."""


def stopped_message(done: list[str], undone: list[str]) -> str:
    kept = f" {', '.join(done)} {'was' if len(done) == 1 else 'were'} added." if done else ""
    return (f"The add was stopped.{kept} Nothing of {', '.join(undone)} was stored; any previous version is unchanged.")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def measured_rate(store: ChromaStore) -> float | None:
    try:
        rate = float(store.flag(RATE_FLAG) or 0)
    except (TypeError, ValueError):
        return None
    return rate if rate > 0 else None


def estimate_text(chunks: int, rate: float | None) -> str:
    if rate is None:
        return "no speed measured yet on this machine; the estimate follows after the first batch"
    return f"about {duration(chunks / rate)} at {rate:.0f} chunks/s (measured on the last add)"


def estimate_for_bytes(total_bytes: int, store: ChromaStore) -> str:
    """A rough estimate before anything is parsed, from the size (PDF and DOCX hold less text per byte)."""
    chunks = max(1, total_bytes // BYTES_PER_CHUNK)
    return f"about {chunks} chunks: {estimate_text(chunks, measured_rate(store))}"


class Pace:
    """Progress with the time left: from the measured speed at first, then from this add's own speed."""

    def __init__(self, store: ChromaStore, total: int, progress: Callable[[int, int, str], None] | None):
        self.store, self.total, self.progress = store, total, progress
        self.started = time.monotonic()
        if progress and total:
            progress(0, total, f"{total} chunks to embed: {estimate_text(total, measured_rate(store))}")

    def step(self, done: int, name: str) -> None:
        if not self.progress:
            return
        elapsed = time.monotonic() - self.started
        left = (self.total - done) * elapsed / done if done and done < self.total else 0
        self.progress(done, self.total, f"embedding {name}" + (f" (about {duration(left)} left)" if left else ""))

    def finish(self) -> None:
        elapsed = time.monotonic() - self.started
        if self.total >= MIN_MEASURED and elapsed > 0:
            self.store.set_flag(**{RATE_FLAG: round(self.total / elapsed, 2)})


def recover_staged(store: ChromaStore) -> int:
    """Finish or undo adds that a dead process left staged; returns the chunks deleted.

    Staged chunks are swapped in only after all of them are stored, so a document some of whose
    chunks are already live died during the swap: it is complete and the swap is finished. Any
    other staged chunks belong to an add that never completed and are deleted.
    """
    staged = store.metadata_for(None, staged=True)
    if not staged:
        return 0
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cid, meta in staged.items():
        groups[(str(meta.get("doc", "")), str(meta.get("hash", "")))].append(cid)
    doomed: list[str] = []
    for (doc, digest), ids in groups.items():
        live = store.metadata_for(doc)
        mine = [cid for cid, meta in live.items() if meta.get("hash") == digest]
        expected = int(staged[ids[0]].get("n_chunks", -1))
        if mine and len(mine) + len(ids) == expected:
            store.update_metadata(ids, [{**staged[cid], "staged": None} for cid in ids])
            doomed += [cid for cid, meta in live.items() if meta.get("hash") != digest]
        else:
            doomed += ids
    if doomed:
        store.delete(doomed)
    store.bump_generation()
    log.info("knowledge base: recovered %d staged chunk(s), deleted %d", len(staged), len(doomed))
    return len(doomed)
