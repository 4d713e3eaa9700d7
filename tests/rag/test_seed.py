"""Seed knowledge: added once to an empty knowledge base, never re-added after an admin empties it."""

from __future__ import annotations

import json

import pytest

from studio.rag.kb import knowledge_base
from studio.rag.seed import SEED_DIR, ensure_seeded, seed_files


def test_seed_folder_has_the_required_documents():
    files = seed_files()
    assert len(files) >= 8
    assert any(f.suffix == ".pdf" for f in files) and sum(f.suffix == ".md" for f in files) >= 8
    text = " ".join(f.read_text() for f in files if f.suffix == ".md").lower()
    for must in ("988", "988lifeline.org", "911", "dissociation", "integration", "prescriber", "alcohol", "drive"):
        assert must in text
    questions = [json.loads(line) for line in (SEED_DIR / "questions.jsonl").read_text().splitlines() if line.strip()]
    names = {f.name for f in files}
    assert len(questions) >= 20 and all(q["doc"] in names for q in questions)


def test_seeds_an_empty_store_once(settings, tmp_path):
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nRest after the session.\n")
    (folder / "notes.jsonl").write_text("{}\n")  # not a document type: skipped
    assert ensure_seeded(settings, folder) == ["a.md"]
    assert ensure_seeded(settings, folder) == []
    knowledge_base(settings).remove("a.md")
    fresh = settings.with_(upload_limit_mb=settings.upload_limit_mb)  # same store, and a new check in this process
    from studio.rag import seed

    seed._checked.clear()
    assert ensure_seeded(fresh, folder) == []  # the admin emptied it on purpose: do not re-add
    assert knowledge_base(settings).list_documents() == []


@pytest.mark.slow
def test_the_real_seed_documents_load_and_the_pdf_cites_pages(settings):
    added = ensure_seeded(settings)
    assert len(added) == len(seed_files())
    kb = knowledge_base(settings)
    pdf = next(d for d in kb.list_documents() if d.doc.endswith(".pdf"))
    assert pdf.pages == 4
    hit = kb.query("What does set and setting mean?", k=1)[0]
    assert (hit.doc, hit.page) == ("treatment-journey-workbook.pdf", 4)
