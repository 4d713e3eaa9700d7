"""User error or crash, and no server paths in messages (studio.util.errors), plus the suite's watcher."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest

from studio.util.errors import UserError, is_user_error, public_message
from tests.tracebacks import user_error_tracebacks


def test_documented_error_classes_are_user_errors_and_crashes_are_not():
    from studio.cli import CommandError
    from studio.data.schema import DataError
    from studio.models.loader import ModelLoadError
    from studio.train.config import ConfigError
    from studio.train.runs import RunNotFound

    for exc in (CommandError("x"), DataError("x"), ModelLoadError("x"), ConfigError("x"), RunNotFound("x")):
        assert is_user_error(exc), type(exc)
    # They keep their old bases, so every existing `except ValueError/RuntimeError` still matches.
    assert isinstance(DataError("x"), ValueError) and isinstance(ModelLoadError("x"), RuntimeError)
    for exc in (RuntimeError("x"), KeyError("x"), RecursionError(), None):
        assert not is_user_error(exc)


def test_gradio_and_generation_errors_are_named_user_errors():
    import gradio as gr

    assert is_user_error(gr.Error("Choose a run first."))
    from studio.models.generate import GenerationError

    assert is_user_error(GenerationError("The message is 9,000 characters; the limit is 8,000."))


def test_public_message_strips_server_paths(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    msg = f"No run named run-x in {data}/runs (see `python -m studio runs list`)."
    assert public_message(msg, data) == "No run named run-x in runs (see `python -m studio runs list`)."
    assert public_message(f"Cannot read '{data}/uploads/votes/image.jsonl': bad", data) == \
        "Cannot read 'uploads/votes/image.jsonl': bad"
    assert public_message(f"STUDIO_DATA_DIR {data} is not writable.", data) == \
        "STUDIO_DATA_DIR the data folder is not writable."
    home = Path.home() / ".cache" / "companion-studio" / "models" / "smollm2"
    assert public_message(f"Model {home} could not be loaded.", data) == "Model smollm2 could not be loaded."
    assert public_message("Model '/tmp' could not be loaded", None) == "Model 'tmp' could not be loaded"
    # URLs, API routes and relative names are not server paths.
    kept = (f"Chat at https://988lifeline.org/chat; use /v1/chat/completions or runs/run-x; 1/2 and/or; "
            f"see https://example.org{data}/guide.")
    assert public_message(kept, data) == kept


@pytest.mark.user_error_tracebacks_ok  # drives the watcher on purpose
def test_watcher_sees_user_error_tracebacks_and_lets_crashes_through():
    import gradio as gr

    log = logging.getLogger("studio.test")
    with user_error_tracebacks() as found:
        try:
            raise UserError("a bad file")
        except UserError:
            log.exception("handler failed")
        try:
            raise gr.Error("Choose a run first.")
        except gr.Error:
            traceback.print_exc()
        try:
            raise KeyError("real crash")
        except KeyError:
            log.exception("handler crashed")  # a crash keeps its traceback, and is not reported
            traceback.print_exc()
        log.error("no exception here")
    assert len(found) == 2, found
    assert "UserError: a bad file" in found[0] and "Choose a run first." in found[1]
