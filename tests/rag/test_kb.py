"""Knowledge base on the real embedder and a real local Chroma store."""

from __future__ import annotations

import pytest

from studio.rag.chunking import ChunkConfig
from studio.rag.kb import KnowledgeBase
from studio.rag.parsers import IngestError
from tests.rag.helpers import make_pdf

GUIDE = "# Aftercare\n\nRest after the session. Do not drive until the next day.\n\n# Crisis\n\nCall or text 988 in the US.\n"


@pytest.fixture
def kb(settings):
    return KnowledgeBase(settings)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_add_unchanged_replace_remove(kb, tmp_path):
    path = write(tmp_path, "guide.md", GUIDE)
    first = kb.add_files([path])
    assert first.to_json() == {"added": ["guide.md"], "unchanged": [], "replaced": [], "chunks": 2}
    assert kb.add_files([path]).to_json() == {"added": [], "unchanged": ["guide.md"], "replaced": [], "chunks": 0}
    old_ids = set(kb.store.metadata_for("guide.md"))

    write(tmp_path, "guide.md", GUIDE + "\n# Integration\n\nJournaling helps.\n")
    report = kb.add_files([path])
    assert report.replaced == ["guide.md"] and report.chunks == 3
    metas = kb.store.metadata_for("guide.md")
    assert len(metas) == 3 and not old_ids & set(metas)  # old chunks gone, only the new version left
    assert kb.query("journaling", k=1)[0].text.startswith("Integration")

    [doc] = kb.list_documents()
    assert doc.to_json().keys() == {"doc", "chunks", "pages", "added_at"}
    assert (doc.doc, doc.chunks, doc.pages) == ("guide.md", 3, None)
    assert kb.remove("guide.md") == 3
    assert kb.list_documents() == [] and kb.store.count() == 0
    assert kb.query("journaling", k=3) == []
    with pytest.raises(IngestError, match="No document named"):
        kb.remove("guide.md")


def test_interrupted_replace_is_cleaned_up(kb, tmp_path):
    """A crash between writing new chunks and deleting old ones leaves both; re-adding finishes the job."""
    path = write(tmp_path, "guide.md", GUIDE)
    kb.add_files([path])
    old = kb.store.metadata_for("guide.md")
    write(tmp_path, "guide.md", GUIDE + "\nMore.\n")
    kb._delete = lambda ids: None  # simulate the crash: deletes never happen
    kb.add_files([path])
    assert len(kb.store.metadata_for("guide.md")) == len(old) + 2
    del kb._delete
    assert kb.add_files([path]).unchanged == ["guide.md"]
    assert set(kb.store.metadata_for("guide.md")).isdisjoint(old)


def test_pdf_pages_are_cited(kb, tmp_path):
    path = make_pdf(tmp_path / "book.pdf", ["Preparing: arrange a ride home.", "Aftercare: rest and drink water.", "Glossary."])
    kb.add_files([path])
    hit = kb.query("drink water after the session", k=1)[0]
    assert (hit.doc, hit.page) == ("book.pdf", 2)
    assert hit.to_json().keys() == {"doc", "page", "heading", "score", "text"}
    [doc] = kb.list_documents()
    assert doc.pages == 3


def test_bad_files_store_nothing(kb, settings, tmp_path):
    good = write(tmp_path, "good.md", GUIDE)
    scan = make_pdf(tmp_path / "scan.pdf", [""])
    odd = write(tmp_path, "notes.xyz", "hello")
    with pytest.raises(IngestError) as err:
        kb.add_files([good, scan, odd])
    message = str(err.value)
    assert "scan.pdf: no extractable text" in message and "notes.xyz: unsupported" in message
    assert "Nothing was added" in message
    assert kb.store.count() == 0

    small = KnowledgeBase(settings.with_(upload_limit_mb=0))
    with pytest.raises(IngestError, match="over the upload limit"):
        small.add_files([good])
    with pytest.raises(IngestError, match="no such file"):
        kb.add_files([tmp_path / "missing.md"])


def test_document_filter(kb, tmp_path):
    kb.add_files([write(tmp_path, "a.md", GUIDE), write(tmp_path, "b.md", "# Other\n\nDriving rules for the clinic car park.\n")])
    assert {h.doc for h in kb.query("driving", k=5, doc="b.md")} == {"b.md"}
    assert {h.doc for h in kb.query("driving", k=5, doc="b.md", mode="bm25")} == {"b.md"}
    assert {h.doc for h in kb.query("driving", k=5)} == {"a.md", "b.md"}


def test_hybrid_beats_vector_only_on_a_keyword_query(settings, tmp_path):
    """Near-identical codes embed almost the same; BM25 matches the exact code."""
    codes = ["KX-4417", "KX-7144", "KX-1447", "KX-4741", "KX-4714", "KX-7414", "KX-4471", "KX-1744"]
    places = ["the pharmacy", "the lab", "the waiting room", "the parking garage", "the library", "the cafe",
              "the recovery suite", "the gym"]
    text = "# Cards\n\n" + "\n\n".join(f"The {c} card opens {p}." for c, p in zip(codes, places, strict=True))
    kb = KnowledgeBase(settings, chunking=ChunkConfig(max_tokens=20, overlap_tokens=0))
    kb.add_files([write(tmp_path, "cards.md", text)])
    query = "Which door does the KX-4471 card open?"

    def rank(mode):
        return [h.text for h in kb.query(query, k=8, mode=mode)].index("The KX-4471 card opens the recovery suite.")

    assert rank("bm25") == 0
    assert rank("hybrid") < rank("vector")
    assert rank("hybrid") <= 1 < rank("vector")


def test_bm25_follows_changes_made_by_another_instance(settings, tmp_path):
    reader, writer = KnowledgeBase(settings), KnowledgeBase(settings)
    writer.add_files([write(tmp_path, "a.md", GUIDE)])
    assert reader.query("988", k=1, mode="bm25")[0].doc == "a.md"
    writer.add_files([write(tmp_path, "b.md", "# Parking\n\nThe zebracode gate is behind the clinic.\n")])
    assert reader.query("zebracode", k=1, mode="bm25")[0].doc == "b.md"
    writer.remove("b.md")
    assert reader.query("zebracode", k=1, mode="bm25") == []


def test_non_latin_names_stay_distinct_and_direction_marks_are_dropped(kb, tmp_path):
    """Uploading 安全.md used to replace ケア.md: every non-ASCII character became '_'."""
    first = write(tmp_path, "安全.md", "# 安全\n\nSafety planning notes for the evening after a session.\n")
    second = write(tmp_path, "ケア.md", "# ケア\n\nAftercare: rest, water and a quiet evening.\n")
    spoof = write(tmp_path, "report\u202efdp.md", "# Report\n\nA short integration report.\n")
    report = kb.add_files([first, second, spoof])
    assert report.added == ["安全.md", "ケア.md", "reportfdp.md"] and report.replaced == []
    assert sorted(d.doc for d in kb.list_documents()) == sorted(["安全.md", "ケア.md", "reportfdp.md"])
