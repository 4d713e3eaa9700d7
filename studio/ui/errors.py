"""Every failure of a UI event goes through one place: a user's mistake becomes a message, a crash is logged.

Gradio prints a traceback for every ``gr.Error`` unless it is raised with ``print_exception=False``, and
for its own input checks ("Value -5 is less than minimum value 16"); a sweep found 63 of 81 tracebacks
in the app log were such ordinary messages, which hid the real crashes. ``guard_app`` wraps the app's
``process_api`` (the one call that preprocesses the inputs, runs the handler, or the next step of a
streaming one, and postprocesses the outputs), so every event, API call and tab, now and future, gets:

- a user error (``studio.util.errors.is_user_error``: ``gr.Error``, ``UserError`` and the named core
  classes) -> ``gr.Error`` with the same text, minus server paths, and no traceback;
- a value a component cannot read (text in a number field) -> Gradio's description of it, as a message;
- anything else -> logged once with its traceback under ``studio.ui.errors``, and the caller gets a
  plain "something went wrong" message instead of Gradio's generic one.

Tabs can keep raising ``gr.Error`` or simply let a core user error propagate; ``user_error`` builds the
``gr.Error`` for a handler that wants to return early with one.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import gradio as gr

from studio.util.errors import is_user_error, public_message

log = logging.getLogger(__name__)
MAX_INPUT_ERROR = 1000  # characters of a refused input's description (it quotes the value sent)
CRASH_MESSAGE = "Something went wrong on the server (not something you did). The studio's log has the details."


def user_error(exc: BaseException | str, data_dir: Path | None = None) -> gr.Error:
    """The ``gr.Error`` a person reads for ``exc``: its text without server paths, and no traceback logged."""
    if isinstance(exc, gr.Error):
        text, title, duration, visible = str(exc.message), exc.title, exc.duration, exc.visible
    else:
        text, title, duration, visible = str(exc) or type(exc).__name__, "Error", 10, True
    return gr.Error(public_message(text, data_dir), duration=duration, visible=visible, title=title,
                    print_exception=False)


def classify(exc: Exception, where: str, data_dir: Path | None) -> gr.Error:
    """The error to raise instead of ``exc``: a message for a user error; a logged crash otherwise."""
    if is_user_error(exc):
        return user_error(exc, data_dir)
    log.error("%s failed", where, exc_info=exc)
    return gr.Error(CRASH_MESSAGE, print_exception=False)


def guard_app(demo: gr.Blocks, data_dir: Path | None) -> gr.Blocks:
    """Route every event's failure of ``demo`` through ``classify`` (see the module docstring)."""
    process_api = demo.process_api

    @functools.wraps(process_api)
    async def guarded(block_fn, *args, **kwargs):
        try:
            return await process_api(block_fn, *args, **kwargs)
        except Exception as exc:
            raise classify(exc, _event_name(demo, block_fn), data_dir) from exc

    demo.process_api = guarded
    _guard_inputs(demo, data_dir)
    return demo


def _guard_inputs(demo: gr.Blocks, data_dir: Path | None) -> None:
    """A value the caller sent that a component cannot read (text in a number field, a history that is not
    a list) is the caller's mistake: Gradio's own description of it, as a message (sweep A7)."""
    preprocess = demo.preprocess_data

    @functools.wraps(preprocess)
    async def checked(*args, **kwargs):
        try:
            return await preprocess(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            text = str(exc) if len(str(exc)) <= MAX_INPUT_ERROR else str(exc)[:MAX_INPUT_ERROR] + "…"
            raise gr.Error(public_message(text, data_dir), print_exception=False) from exc

    demo.preprocess_data = checked


def _event_name(demo: gr.Blocks, block_fn) -> str:
    fn = demo.fns.get(block_fn) if isinstance(block_fn, int) else block_fn
    api_name = getattr(fn, "api_name", None)
    return f"/{api_name}" if api_name else getattr(fn, "name", None) or "an event"
