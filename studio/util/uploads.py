"""Uploaded files: size limit, type allow-list per use, sanitized names, stored under the data dir.

Gradio hands handlers a temp path; `accept_upload` checks it and copies it under
``settings.uploads_dir/<use>/`` so nothing outside the data dir is ever read again.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

from studio.settings import Settings
from studio.util.errors import UserError

ALLOWED = {
    "dataset": {".jsonl", ".json", ".csv", ".txt"},
    "knowledge": {".pdf", ".md", ".markdown", ".txt", ".docx", ".html", ".htm"},
    "votes": {".jsonl"},
    "prompts": {".jsonl"},
}


class UploadError(UserError, ValueError):
    pass


def safe_filename(name: str) -> str:
    """The last path component only: no traversal, no hidden files, no control or direction marks.

    Letters and digits of every script are kept (NFC), so "安全.md" and "ケア.md" stay two documents;
    control and format characters are dropped (U+202E reverses the text and can spoof the extension).
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    base = "".join(ch if ch.isalnum() or ch in "._ -" or unicodedata.category(ch).startswith("M") else "_" for ch in base)
    base = base.strip(" .")
    base = re.sub(r"\.{2,}", ".", base)
    return base[:120] or "upload"


def check_upload(path: Path | str, settings: Settings, use: str, original_name: str | None = None) -> str:
    """Validate an uploaded file and return its sanitized name; raise UploadError with the reason."""
    path = Path(path)
    name = safe_filename(original_name or path.name)
    allowed = ALLOWED[use]
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise UploadError(f"{name}: files of type '{suffix or 'none'}' are not accepted here. Allowed: {', '.join(sorted(allowed))}.")
    if not path.is_file():
        raise UploadError(f"{name}: the upload did not arrive (no file).")
    size = path.stat().st_size
    if size == 0:
        raise UploadError(f"{name} is empty.")
    if size > settings.upload_limit_bytes:
        raise UploadError(
            f"{name} is {size / 1_048_576:.1f} MB, over the {settings.upload_limit_mb} MB limit "
            "(STUDIO_UPLOAD_LIMIT_MB)."
        )
    return name


def accept_upload(path: Path | str, settings: Settings, use: str, original_name: str | None = None) -> Path:
    """Check the upload and copy it under the data dir; returns the stored path."""
    name = check_upload(path, settings, use, original_name)
    folder = (settings.uploads_dir / use).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / name).resolve()
    if folder not in target.parents:
        raise UploadError(f"{name}: refused, the name points outside the upload folder.")
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(path, tmp)
    tmp.replace(target)
    return target
