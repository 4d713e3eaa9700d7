"""The seed knowledge documents state the facts a clinical review found missing or wrong.

The chat cites these documents, so a fact that drifts here drifts in every grounded answer.
"""

from __future__ import annotations

import re

from pypdf import PdfReader

from studio.rag.seed import SEED_DIR

DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted(SEED_DIR.glob("*.md"))}
ALL = "\n".join(DOCS.values())


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_regulatory_status_is_stated():
    text = _flat(DOCS["what-is-ketamine-assisted-therapy.md"])
    assert re.search(r"approved .{0,60}as an anaesthetic", text) and "off-label" in text
    assert "October 2023 the FDA warned" in text and "compounded" in text
    assert re.search(r"Esketamine \(Spravato\).{0,80}treatment-resistant depression", text)
    assert "acute suicidal thoughts" in text and "REMS" in text and "at least 2 hours" in text


def test_the_nasal_spray_is_never_sent_home():
    text = _flat(DOCS["what-is-ketamine-assisted-therapy.md"])
    assert re.search(r"nasal spray .{0,120}never taken home", text)


def test_sedation_and_slowed_breathing_with_other_sedatives():
    for name in ("everyday-safety.md", "aftercare-first-24-hours.md"):
        text = _flat(DOCS[name]).lower()
        assert "slowed breathing" in text and "benzodiazepines" in text and "opioids" in text and "alcohol" in text, name


def test_suicide_triage_gives_988_in_both_tiers_and_poison_control_is_named():
    text = _flat(DOCS["when-to-contact-your-care-team.md"])
    same_day = text.split("Contact the clinic the same day", 1)[1].split("## If medicine", 1)[0]
    assert "988" in same_day and "after hours" in same_day
    emergency = text.split("Contact the clinic the same day", 1)[0]
    assert "988" in emergency
    assert "1-800-222-1222" in ALL and "Poison" in ALL


def test_claims_the_review_asked_to_remove_are_gone():
    lowered = _flat(ALL).lower()
    assert "much of the benefit comes from integration" not in lowered
    assert "does not invent phone numbers" not in lowered


def test_every_document_lists_its_sources():
    for name, text in DOCS.items():
        assert "## Sources" in text, name


def test_the_workbook_pdf_agrees():
    pdf = _flat(" ".join(page.extract_text() for page in PdfReader(SEED_DIR / "treatment-journey-workbook.pdf").pages))
    assert "off-label" in pdf and "988" in pdf and "Poison" in pdf
