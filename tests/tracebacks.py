"""Watch for tracebacks printed for documented user errors, in this process, while a test runs.

A traceback reaches the log two ways here: a ``studio`` logger record with ``exc_info`` (our own
``log.exception``/``log.error(exc_info=...)``), and Gradio's ``traceback.print_exc()`` for a failed
event (printed unless the error is a ``gr.Error`` raised with ``print_exception=False``). Both are
watched; each one whose exception ``studio.util.errors.is_user_error`` calls a user error is kept.
tests/conftest.py fails the test that caused one, so a new handler or endpoint that logs a person's
mistake as a crash turns the suite red, whichever test exercises it.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from studio.util.errors import is_user_error


class _Records(logging.Handler):
    def __init__(self, found: list[str]):
        super().__init__(logging.ERROR)
        self.found = found

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if is_user_error(exc):
            self.found.append(f"logger {record.name}: {type(exc).__name__}: {exc}")


@contextmanager
def user_error_tracebacks() -> Iterator[list[str]]:
    """Yields the list that fills with one line per traceback printed for a user error."""
    found: list[str] = []
    lock = threading.Lock()
    handler = _Records(found)
    studio_log = logging.getLogger("studio")
    original_print_exc = traceback.print_exc

    def print_exc(*args, **kwargs):
        exc = sys.exc_info()[1]
        if is_user_error(exc):
            with lock:
                found.append(f"traceback.print_exc: {type(exc).__name__}: {exc}")
        return original_print_exc(*args, **kwargs)

    studio_log.addHandler(handler)
    traceback.print_exc = print_exc
    try:
        yield found
    finally:
        traceback.print_exc = original_print_exc
        studio_log.removeHandler(handler)
