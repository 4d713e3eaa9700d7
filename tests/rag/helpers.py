"""Builders for test documents (real PDFs and DOCX files, made on the spot)."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str], encrypt: str | None = None) -> Path:
    """One text page per entry (an empty string makes a page with only a drawing: no text layer)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=letter, encrypt=encrypt, invariant=1)
    for text in pages:
        if text:
            y = 720
            for line in text.split("\n"):
                pdf.drawString(72, y, line)
                y -= 16
        else:
            pdf.rect(72, 400, 300, 200, fill=1)  # a "scanned" page: shapes, no text
        pdf.showPage()
    pdf.save()
    return path


def make_docx(path: Path, blocks: list[tuple[str, str]], table: list[list[str]] | None = None) -> Path:
    """blocks: ("h1"|"h2"|"p", text)."""
    import docx

    document = docx.Document()
    for kind, text in blocks:
        if kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        else:
            document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.save(str(path))
    return path
