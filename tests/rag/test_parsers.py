from __future__ import annotations

import pytest

from studio.rag.parsers import IngestError, parse_document
from tests.rag.helpers import make_docx, make_pdf


def test_markdown_splits_by_heading_and_keeps_the_heading_path():
    text = "Intro line.\n\n# Aftercare\n\nRest today.\n\n## Driving\n\nNo driving today.\n\n```\n# not a heading\n```\n\n# Crisis\n\nCall 988."
    sections = parse_document("guide.md", text.encode())
    assert [s.heading for s in sections] == ["", "Aftercare", "Aftercare > Driving", "Crisis"]
    assert "# not a heading" in sections[2].text
    assert all(s.page is None for s in sections)


def test_text_utf8_bom_and_utf16():
    assert parse_document("a.txt", "\ufeffCafé notes.".encode())[0].text == "Café notes."
    assert parse_document("b.txt", "Hello there.".encode("utf-16"))[0].text == "Hello there."


def test_undecodable_text_is_refused_with_a_clear_message():
    with pytest.raises(IngestError, match="UTF-8"):
        parse_document("latin.txt", "caf\xe9 \xff\xfe".encode("latin-1")[:-2] + b"\xff\x80")


def test_unsupported_type():
    with pytest.raises(IngestError, match="unsupported file type '.exe'"):
        parse_document("tool.exe", b"MZ")


def test_pdf_keeps_page_numbers(tmp_path):
    path = make_pdf(tmp_path / "g.pdf", ["First page about preparing.", "Second page about aftercare.", "Third page."])
    sections = parse_document("g.pdf", path.read_bytes())
    assert [(s.page, s.text) for s in sections] == [
        (1, "First page about preparing."), (2, "Second page about aftercare."), (3, "Third page."),
    ]


def test_scanned_pdf_without_text_is_refused(tmp_path):
    path = make_pdf(tmp_path / "scan.pdf", ["", ""])
    with pytest.raises(IngestError, match="no extractable text"):
        parse_document("scan.pdf", path.read_bytes())


def test_encrypted_pdf_is_refused(tmp_path):
    path = make_pdf(tmp_path / "locked.pdf", ["Secret text."], encrypt="hunter2")
    with pytest.raises(IngestError, match="password-protected"):
        parse_document("locked.pdf", path.read_bytes())


def test_broken_pdf_is_refused():
    with pytest.raises(IngestError, match="not a readable PDF"):
        parse_document("broken.pdf", b"%PDF-1.4 this is not really a pdf")


def test_docx_headings_paragraphs_and_tables(tmp_path):
    path = make_docx(
        tmp_path / "d.docx",
        [("p", "Welcome."), ("h1", "Preparing"), ("p", "Arrange a ride home."), ("h2", "Fasting"), ("p", "Follow the clinic.")],
        table=[["Day", "What"], ["Monday", "Session"]],
    )
    sections = parse_document("d.docx", path.read_bytes())
    assert [s.heading for s in sections] == ["", "Preparing", "Fasting"]
    assert "Arrange a ride home." in sections[1].text
    assert "Monday | Session" in sections[2].text


def test_docx_that_is_not_a_docx():
    with pytest.raises(IngestError, match="Word"):
        parse_document("fake.docx", b"plain text pretending")


def test_html_drops_scripts_and_splits_at_headings():
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><script>alert('x')</script>"
        "<p>Intro &amp; welcome.</p><h1>Aftercare</h1><p>Rest.</p><ul><li>Water</li><li>Sleep</li></ul>"
        "<h2>Crisis</h2><p>Call 988.</p></body></html>"
    )
    sections = parse_document("page.html", html.encode())
    assert [s.heading for s in sections] == ["", "Aftercare", "Crisis"]
    assert sections[0].text == "Intro & welcome."
    assert "alert" not in " ".join(s.text for s in sections)
    assert [line for line in sections[1].text.splitlines() if line] == ["Aftercare", "Rest.", "Water", "Sleep"]


def test_empty_file_is_refused():
    with pytest.raises(IngestError, match="no text"):
        parse_document("empty.md", b"   \n\n")


def test_owner_password_pdf_opens_and_user_password_pdf_is_named(tmp_path):
    """AES-encrypted PDFs need `cryptography`: an owner-only password must not block reading the text."""
    import io

    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", ["Rest and drink water after a session."])
    for user, expected in (("", "open"), ("secret", "refused")):
        writer = PdfWriter(clone_from=PdfReader(plain))
        writer.encrypt(user_password=user, owner_password="clinic-owner", algorithm="AES-256")
        data = io.BytesIO()
        writer.write(data)
        if expected == "open":
            [section] = parse_document("handout.pdf", data.getvalue())
            assert "drink water" in section.text and section.page == 1
        else:
            with pytest.raises(IngestError, match="handout.pdf: the PDF is password-protected"):
                parse_document("handout.pdf", data.getvalue())


def test_a_docx_with_broken_xml_is_a_clear_error():
    """Issue 22: malformed XML inside a .docx used to surface as an lxml traceback."""
    import io
    import zipfile

    import docx

    from studio.rag.parsers import IngestError, parse_docx

    good = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Plan a ride home after your session.")
    document.save(good)
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good.getvalue())) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data[: len(data) // 2] if item.filename == "word/document.xml" else data)
    with pytest.raises(IngestError, match="broken.docx: not a readable Word"):
        parse_docx("broken.docx", broken.getvalue())
