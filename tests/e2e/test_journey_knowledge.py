"""Journey 4: upload a PDF to the knowledge base, ask in Chat, get an answer citing the PDF's page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import open_accordion, open_tab, set_slider

PDF_NAME = "harbor-lane-handbook.pdf"
# A fact nobody else has, so retrieval can only find it on page 2 of this PDF.
FACT = (
    "The Harbor Lane integration circle meets every Thursday at 6 pm in the Cedar Room. "
    "Bring a journal; the circle is led by a peer facilitator, not a clinician."
)
QUESTION = "When does the Harbor Lane integration circle meet?"


def make_pdf(path: Path) -> Path:
    """Two pages: a general first page, and the distinctive fact alone on page 2."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=letter)
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 720, "Harbor Lane Clinic handbook")
    pdf.drawString(72, 700, "This handbook describes the clinic's rooms and opening hours.")
    pdf.showPage()
    pdf.setFont("Helvetica", 12)
    for i, sentence in enumerate(FACT.split(". ")):
        pdf.drawString(72, 720 - 20 * i, sentence.rstrip(".") + ".")
    pdf.showPage()
    pdf.save()
    return path


def test_pdf_upload_then_cited_chat_answer(studio, page, tmp_path):
    pdf = make_pdf(tmp_path / PDF_NAME)
    page.goto(studio.url)
    open_tab(page, "knowledge")
    # Opening the tab seeds an empty knowledge base with the example documents: let that finish first.
    docs = page.locator("#kb-docs")
    expect(docs).to_contain_text("treatment-journey-workbook.pdf", timeout=240_000)

    page.locator("#kb-files input[type=file]").set_input_files(str(pdf))
    page.locator("#kb-add").click()
    expect(page.locator("#kb-status")).to_contain_text(f"Added: {PDF_NAME}", timeout=180_000)
    expect(docs.get_by_role("row").filter(has_text=PDF_NAME)).to_contain_text("2")  # chunks and pages

    # The Knowledge tab's own search finds the fact on page 2.
    page.locator("#kb-query textarea").fill(QUESTION)
    page.locator("#kb-search").click()
    expect(page.locator("#kb-results")).to_contain_text(f"{PDF_NAME}, p. 2", timeout=120_000)
    expect(page.locator("#kb-results")).to_contain_text("Cedar Room")  # the passage itself

    open_tab(page, "chat")
    chat = page.locator("#tab-chat")
    expect(chat.locator("#chat-rag input[type=checkbox]")).to_be_checked()
    open_accordion(chat, "Generation settings")
    set_slider(chat, "Temperature (0 = greedy)", 0)
    set_slider(chat, "Max new tokens", 48)
    page.locator("#chat-input textarea").fill(QUESTION)
    page.locator("#chat-send").click()

    bot = page.locator("#chat-bot")
    # The sources bubble comes after the answer is complete; its title carries the numbered citations.
    expect(bot).to_contain_text(f"Sources: [1] {PDF_NAME}, p. 2", timeout=300_000)
    expect(bot).to_contain_text("AI companion, not a therapist")  # the first-message disclosure
