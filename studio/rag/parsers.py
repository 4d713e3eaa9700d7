"""Turn an uploaded file's bytes into text sections that remember their page and heading.

Every parser returns ``list[Section]``; a section never spans two pages or two headings, so the
chunker can keep that metadata exact. Failures raise ``IngestError`` with a message a person can
act on (what is wrong with which file, and what to do about it).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from studio.util.errors import UserError

SUPPORTED = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}


class IngestError(UserError, ValueError):
    """A document cannot be added; the message says why and what to do."""


@dataclass(frozen=True)
class Section:
    text: str
    page: int | None = None
    heading: str = ""


def kind_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        allowed = ", ".join(sorted(SUPPORTED))
        raise IngestError(f"{name}: unsupported file type '{suffix or '(none)'}'. Supported types: {allowed}.")
    return SUPPORTED[suffix]


def parse_document(name: str, data: bytes) -> list[Section]:
    """Parse ``data`` according to ``name``'s extension; at least one non-empty section or an error."""
    kind = kind_of(name)
    parser = {"pdf": parse_pdf, "markdown": parse_markdown, "text": parse_text, "docx": parse_docx, "html": parse_html}
    if kind in ("markdown", "text", "html"):
        sections = parser[kind](decode_text(name, data))
    else:
        sections = parser[kind](name, data)
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise IngestError(f"{name}: the file contains no text to add.")
    return sections


def decode_text(name: str, data: bytes) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is refused, not guessed."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise IngestError(
        f"{name}: the text could not be decoded as UTF-8. Save the file as UTF-8 text (most editors offer "
        "'Save with encoding') and upload it again."
    )


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_text(text: str) -> list[Section]:
    return [Section(_normalize(text))]


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def parse_markdown(text: str) -> list[Section]:
    """Split at ATX headings (outside code fences); the heading path ("A > B") is the section's heading."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = _normalize("\n".join(lines))
        if body:
            sections.append(Section(body, heading=" > ".join(title for _, title in path)))
        lines.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2).strip())]
            lines.append(match.group(2).strip())  # the heading words help keyword search too
        else:
            lines.append(line)
    flush()
    return sections


def parse_pdf(name: str, data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{name}: the PDF is password-protected. Remove the password and upload it again.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise IngestError(f"{name}: the PDF is encrypted and cannot be read. Save an unprotected copy.") from None
        raise IngestError(f"{name}: not a readable PDF ({exc}). Re-export it from the original program.") from None
    sections = [Section(_normalize(text), page=i) for i, text in enumerate(pages, start=1) if text.strip()]
    if not sections:
        raise IngestError(
            f"{name}: no extractable text (it looks like a scanned image or an empty PDF). Run it through OCR, or "
            "export it from the original document, then upload it again. Nothing was stored."
        )
    return sections


def parse_docx(name: str, data: bytes) -> list[Section]:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
        raise IngestError(f"{name}: not a readable Word (.docx) file ({str(exc)[:200]}). Older .doc files must be "
                          "saved as .docx.") from None
    sections: list[Section] = []
    heading, lines = "", []
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        if style.lower().startswith(("heading", "title")) and para.text.strip():
            sections.append(Section(_normalize("\n".join(lines)), heading=heading))
            heading, lines = para.text.strip(), [para.text.strip()]
        else:
            lines.append(para.text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    sections.append(Section(_normalize("\n".join(lines)), heading=heading))
    return sections


_BLOCK = {"p", "div", "br", "li", "tr", "section", "article", "blockquote", "pre", "ul", "ol", "table", "dd", "dt"}
_SKIP = {"script", "style", "noscript", "template", "head", "svg"}


class _HtmlSections(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.heading, self.parts, self.skip_depth = "", [], 0
        self.in_heading, self.heading_parts = False, []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip_depth += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.in_heading, self.heading_parts = True, []
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif re.fullmatch(r"h[1-6]", tag) and self.in_heading:
            self.in_heading = False
            self.flush()
            self.heading = _normalize(" ".join(self.heading_parts))
            self.parts = [self.heading, "\n"]
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip_depth:
            return
        (self.heading_parts if self.in_heading else self.parts).append(data)

    def flush(self) -> None:
        self.sections.append(Section(_normalize("".join(self.parts)), heading=self.heading))
        self.parts = []


def parse_html(text: str) -> list[Section]:
    parser = _HtmlSections()
    parser.feed(text)
    parser.close()
    parser.flush()
    return parser.sections
