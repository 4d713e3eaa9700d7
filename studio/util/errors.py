"""Telling a user's mistake from a crash, and keeping server paths out of what callers read.

A *user error* is a documented mistake the person can fix (a bad file, a too-long message, an unknown
model, a rater on an admin action, a config value out of range). It gets a message and no traceback in
the log. Anything else is a crash: it keeps its traceback, so the few real ones stand out.

The error classes the core raises on purpose derive from :class:`UserError` (next to their usual
``ValueError``/``RuntimeError`` base, so every existing ``except`` still matches). ``gr.Error`` comes
from code the core must not import; it is named in ``USER_ERROR_NAMES``.

``public_message`` is applied to every error text that leaves the server (the Gradio API, ``/v1``
responses, the CLI's ``--json`` error): a path under the data dir becomes its name relative to it, any
other absolute path on this machine becomes its file name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath


class UserError(Exception):
    """Marker base: a documented user mistake, shown as a message, never logged as a traceback."""


# A class that is a user error but cannot derive from UserError: gr.Error is the UI's own
# "say this to the person" (the core never imports gradio).
USER_ERROR_NAMES = frozenset({"gradio.exceptions.Error"})


def is_user_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` is a documented user mistake (by its class or any base class)."""
    if exc is None:
        return False
    if isinstance(exc, UserError):
        return True
    return any(f"{cls.__module__}.{cls.__qualname__}" in USER_ERROR_NAMES for cls in type(exc).__mro__)


# An absolute POSIX path: starts with "/" not preceded by a word, dot, colon or slash (so URLs such as
# https://988lifeline.org/chat and relative names such as runs/x are left alone); stops at whitespace,
# quotes and brackets, which paths in our messages never contain unquoted.
_PATH_START = r"(?<![\w.~:/-])"
_ABS_PATH = re.compile(_PATH_START + r"/[^\s'\"`<>|*?,;()\[\]{}]+")
_TRAILING = ".:"


def _server_roots(data_dir: Path | None) -> list[str]:
    if data_dir is None:
        return []
    roots = {str(data_dir).rstrip("/")}
    try:
        roots.add(str(data_dir.resolve()).rstrip("/"))
    except OSError:
        pass
    return sorted((r for r in roots if r and r != "/"), key=len, reverse=True)  # longest first: no partial match


def _on_this_machine(path: str) -> bool:
    """A URL path such as /v1/models is not a server path; a path whose top folder exists here is."""
    top = path.strip("/").split("/", 1)[0]
    return bool(top) and os.path.isdir("/" + top)


def _shorten(match: re.Match) -> str:
    path = match.group(0)
    tail = ""
    while path and path[-1] in _TRAILING:
        path, tail = path[:-1], path[-1] + tail
    if not path or not _on_this_machine(path):
        return match.group(0)
    return (PurePosixPath(path).name or path) + tail


def public_message(text: str, data_dir: Path | str | None = None) -> str:
    """``text`` with no absolute server paths: names relative to the data dir, else file names."""
    if not text:
        return text
    for root in _server_roots(Path(data_dir) if data_dir else None):
        # Only where a path starts: on a Space the data dir is /data, which a URL may also contain.
        text = re.sub(_PATH_START + re.escape(root) + "/", "", text)
        text = re.sub(_PATH_START + re.escape(root) + r"(?![\w.-])", "the data folder", text)
    return _ABS_PATH.sub(_shorten, text)
