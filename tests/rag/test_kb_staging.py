"""All-or-nothing adds (staged, then swapped), recovery on open, estimates, and the incremental BM25 index.

Real embedder, real local Chroma. Chunks are kept small and the embedding group is shrunk so that an
add spans several groups without embedding hundreds of chunks.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.rag import kb as kb_module
from studio.rag.chunking import ChunkConfig
from studio.rag.kb import KnowledgeBase
from studio.rag.staging import RATE_FLAG, IngestCancelled, estimate_for_bytes
from studio.rag.store import STAGED

SMALL = ChunkConfig(max_tokens=20, overlap_tokens=0)
OLD = "# Aftercare\n\nRest after the session. Do not drive until the next day.\n"


def long_text(topic: str, n: int = 12) -> str:
    return "\n\n".join(f"# Part {i}\n\nThe {topic} note number {i} says to breathe slowly and rest." for i in range(n))


@pytest.fixture
def kb(settings, monkeypatch):
    monkeypatch.setattr(kb_module, "EMBED_GROUP", 4)
    return KnowledgeBase(settings, chunking=SMALL)


def _live(kb: KnowledgeBase, name: str) -> dict:
    return kb.store.metadata_for(name)


def test_a_stopped_add_lists_nothing_of_the_document_and_keeps_the_old_version(kb):
    kb.add_documents([("guide.md", OLD.encode())])
    old = _live(kb, "guide.md")
    stop, seen = threading.Event(), []

    def progress(done, total, message):
        seen.append(message)
        if done >= 4:
            stop.set()  # stop after the first group, as a cancel click would

    with pytest.raises(IngestCancelled, match="guide.md"):
        kb.add_documents([("guide.md", long_text("journaling").encode())], progress=progress, stop=stop)
    assert _live(kb, "guide.md") == old
    assert kb.store.metadata_for(None, staged=True) == {}
    assert [(d.doc, d.chunks) for d in kb.list_documents()] == [("guide.md", len(old))]
    assert all("journaling" not in h.text for h in kb.query("journaling note", k=4))
    assert "chunks to embed" in seen[0]


def test_an_embedder_failing_midway_leaves_nothing_of_a_new_document(kb, monkeypatch):
    embedder, calls = kb.embedder, []
    real = embedder.embed

    def flaky(texts, *args, **kwargs):
        calls.append(len(texts))
        if len(calls) == 3:
            raise RuntimeError("embedder died")
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, "embed", flaky)
    with pytest.raises(RuntimeError, match="embedder died"):
        kb.add_documents([("a.md", long_text("first", 2).encode()), ("b.md", long_text("second").encode())])
    assert [d.doc for d in kb.list_documents()] == ["a.md"]  # a.md was complete and swapped in before the failure
    assert _live(kb, "b.md") == {} and kb.store.metadata_for(None, staged=True) == {}
    assert kb.store.count() == len(_live(kb, "a.md"))


def test_staged_chunks_left_by_a_dead_process_are_cleaned_up_on_open(kb, settings):
    kb.add_documents([("guide.md", OLD.encode())])
    old = _live(kb, "guide.md")
    kb._swap = lambda *args: (_ for _ in ()).throw(SystemExit)  # the process dies before the swap...
    kb._delete = lambda ids: None  # ...and its cleanup never runs
    with pytest.raises(SystemExit):
        kb.add_documents([("guide.md", long_text("journaling").encode()), ("new.md", OLD.encode() + b"x")])
    assert kb.store.metadata_for(None, staged=True)  # leftovers, invisible to reads
    assert [d.doc for d in kb.list_documents()] == ["guide.md"]
    reopened = KnowledgeBase(settings, chunking=SMALL)
    assert reopened.store.metadata_for(None, staged=True) == {}
    assert _live(reopened, "guide.md") == old and _live(reopened, "new.md") == {}


def test_a_swap_interrupted_halfway_is_finished_on_open(kb, settings):
    kb.add_documents([("guide.md", OLD.encode())])
    kb.add_documents([("guide.md", long_text("journaling").encode())])
    new = _live(kb, "guide.md")
    half = sorted(new)[: len(new) // 2]  # as if the process died between two batches of the swap
    kb.store.update_metadata(half, [{**new[cid], STAGED: True} for cid in half])
    reopened = KnowledgeBase(settings, chunking=SMALL)
    assert _live(reopened, "guide.md").keys() == new.keys()
    assert reopened.store.metadata_for(None, staged=True) == {}


def test_progress_and_estimates_come_from_measured_speed(kb, tmp_path):
    assert "no speed measured yet" in estimate_for_bytes(70_000, kb.store)
    (tmp_path / "big.txt").write_bytes(b"x" * 70_000)
    assert kb.estimate_files([tmp_path / "big.txt"]).startswith("about 100 chunks")
    messages = []
    kb.add_documents([("long.md", long_text("breathing", 40).encode())], progress=lambda d, t, m: messages.append((d, t, m)))
    assert messages[0][0] == 0 and messages[-1][0] == messages[-1][1]
    assert any("left)" in m for _, _, m in messages[1:-1])
    assert float(kb.store.flag(RATE_FLAG)) > 0
    assert "chunks/s (measured" in estimate_for_bytes(70_000, kb.store)


def test_incremental_bm25_equals_a_full_rebuild(kb, settings):
    queries = ["journaling note", "breathe slowly", "drive next day", "rest after the session", "second part 3"]
    kb.add_documents([("a.md", long_text("journaling", 4).encode()), ("b.md", OLD.encode())])
    kb.query("warm up", k=2)  # builds the index once
    kb.add_documents([("c.md", long_text("second", 5).encode())])
    kb.remove("a.md")
    kb.add_documents([("b.md", (OLD + "\nDrink water.\n").encode())])
    incremental = kb._keyword_index()
    full = KnowledgeBase(settings, chunking=SMALL)._keyword_index()  # a fresh instance reads everything
    assert incremental.ids == full.ids
    for query in queries:
        got, want = incremental.top(query, 10), full.top(query, 10)
        assert [c for c, _ in got] == [c for c, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want])


def test_bm25_ranks_as_bm25s_does():
    """The in-place index keeps bm25s's Lucene scoring (scores equal to float32 precision)."""
    import bm25s

    from studio.rag.bm25 import BM25Index, tokenize

    texts = [long_text(topic, 3) + f" extra {i}" for i, topic in enumerate(["rest", "drive", "nausea rest", "journal"] * 5)]
    ids = [f"c{i:03d}" for i in range(len(texts))]
    reference = bm25s.BM25()
    reference.index([tokenize(t) for t in texts], show_progress=False)
    index = BM25Index(ids, texts, ["d"] * len(texts))
    for query in ["rest after nausea", "drive", "journal note number 2", "extra 7"]:
        terms = [t for t in tokenize(query) if t in reference.vocab_dict]
        scores = reference.get_scores(terms)
        got = index.top(query, 5)
        assert np.allclose([s for _, s in got], sorted(scores, reverse=True)[: len(got)], rtol=1e-5)
        assert all(np.isclose(scores[ids.index(cid)], s, rtol=1e-5) for cid, s in got)
