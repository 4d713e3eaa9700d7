"""Shared fixtures. Tests never reach a hub: the embedded model is the only base model."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from studio.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Fresh data dir per test; the shared cache dir keeps the materialized model between tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env["STUDIO_DATA_DIR"] = str(tmp_path / "data")
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def embedded_model_dir() -> Path:
    from studio.models.embedded import materialize

    return materialize(Settings.from_env({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test during which a documented user error was printed as a traceback (see tests/tracebacks.py).

    Checked around each test's body in every test file, so the suite catches a regression wherever it is
    exercised; a test may opt out with ``@pytest.mark.user_error_tracebacks_ok`` (none does today)."""
    from tests.tracebacks import user_error_tracebacks

    if item.get_closest_marker("user_error_tracebacks_ok"):
        return (yield)
    with user_error_tracebacks() as found:
        result = yield
    if found:
        raise AssertionError("A user error was logged with a traceback (show it as a message instead):\n"
                             + "\n".join(found[:5]))
    return result


def pytest_unconfigure(config):
    """Name the threads still alive as the run ends, with where each one is: a thread inside torch when the
    interpreter exits aborts it ("terminate called without an active exception"), and this says whose."""
    import sys
    import threading
    import traceback

    frames = sys._current_frames()
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.ident not in frames:
            continue
        where = traceback.extract_stack(frames[thread.ident])[-3:]
        place = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(where))
        sys.stderr.write(f"alive at exit: {thread.name} (daemon={thread.daemon}): {place}\n")
