"""Leaving the process without an abort while threads are inside torch.

A daemon thread still inside a torch operation when the interpreter finalizes is ended by a forced unwind
through torch's C++ frames, which aborts the whole process ("terminate called without an active
exception") after everything else went well. So at exit, in this order:

1. ``EXITING`` is set (loops outside the scheduler, like the report card's ``generate``, stop on it);
2. each stopper registered with :func:`on_exit` runs (the scheduler ends its requests, the training
   manager stops its job after the current step);
3. the exit waits, up to ``NATIVE_WORK_WAIT_S``, until no other thread is inside torch or transformers
   (a request handler embedding a document or classifying a message finishes its call).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable

EXITING = threading.Event()
NATIVE_WORK_WAIT_S = 120.0
_stoppers: list[Callable[[], None]] = []


def on_exit(stop: Callable[[], None]) -> Callable[[], None]:
    """Run ``stop`` at exit, before the wait for native work (usable as a decorator)."""
    _stoppers.append(stop)
    return stop


def threads_in_native_work() -> list[threading.Thread]:
    """Other threads with a torch or transformers frame on their stack (one holds a forward pass)."""
    roots = tuple(os.path.dirname(sys.modules[name].__file__) + os.sep
                  for name in ("torch", "transformers") if getattr(sys.modules.get(name), "__file__", None))
    if not roots:
        return []
    frames = sys._current_frames()
    busy = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident) if thread is not threading.current_thread() else None
        while frame is not None and not frame.f_code.co_filename.startswith(roots):
            frame = frame.f_back
        if frame is not None:
            busy.append(thread)
    return busy


def wait_for_native_work(timeout: float) -> list[threading.Thread]:
    """Wait until no other thread is inside torch; returns those still there after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (busy := threads_in_native_work()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return busy


@atexit.register
def _leave_cleanly() -> None:
    EXITING.set()
    for stop in _stoppers:
        stop()
    for thread in wait_for_native_work(NATIVE_WORK_WAIT_S):
        sys.stderr.write(f"Exiting while thread {thread.name} is still inside torch; the process may abort.\n")
