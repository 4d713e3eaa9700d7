"""Reading data files people upload: size limit, binary sniffing and UTF-8, with messages that say where.

Everything that reads a user file goes through :func:`read_text`, so the same problems get the
same clear answers in the CLI and the browser.
"""

from __future__ import annotations

from pathlib import Path

from studio.data.schema import DataError

DEFAULT_LIMIT_BYTES = 50 * 1024 * 1024
_SNIFF = 8192


class FileReadError(DataError):
    """The file cannot be read as text at all (CLI exit code 2)."""


def read_text(path: Path | str, limit_bytes: int | None = DEFAULT_LIMIT_BYTES) -> str:
    path = Path(path)
    name = path.name or str(path)
    if not path.exists():
        raise FileReadError(f"{name}: file not found ({path}).")
    if path.is_dir():
        raise FileReadError(f"{name}: is a folder, not a file.")
    size = path.stat().st_size
    if limit_bytes and size > limit_bytes:
        raise FileReadError(
            f"{name}: the file is {_mb(size)}, over the {_mb(limit_bytes)} limit "
            "(set STUDIO_UPLOAD_LIMIT_MB to raise it, or split the file)."
        )
    data = path.read_bytes()
    return decode_bytes(data, name)


def decode_bytes(data: bytes, name: str = "file") -> str:
    if not data.strip():
        raise FileReadError(f"{name}: the file is empty (no conversations in it).")
    if _looks_binary(data[:_SNIFF]):
        raise FileReadError(f"{name}: looks like a binary file, not text (expected JSONL, JSON or CSV).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise FileReadError(
            f"{name}: not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col} "
            "(save the file as UTF-8 and try again)."
        ) from None
    return text.removeprefix("\ufeff")


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    # Many control bytes (besides tab/newline/CR/form feed) mean it is not a text format we read.
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return len(head) > 0 and controls / len(head) > 0.05


def _position(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return line, col


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def physical_lines(text: str) -> list[str]:
    """Split on ``\\n`` only (not ``str.splitlines``: U+2028 inside a JSON string is not a line break)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
