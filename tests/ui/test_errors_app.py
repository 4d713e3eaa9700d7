"""The launched app (password login) answers user mistakes with messages: no traceback in its log, no
server path in what the caller reads; a real crash is still logged with its traceback (studio.ui.errors).

One app serves every test here (module scope); each call goes through gradio_client, as a caller would.
The suite-wide watcher in tests/conftest.py also fails any of these if a user error prints a traceback.
"""

from __future__ import annotations

import logging
import os

import pytest

from studio.ui.app import build_app, launch_kwargs
from tests.conftest import free_port

ADMIN, RATER = ("admin", "admin-pw-errors"), ("rita", "rater-pw-errors")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from studio.settings import Settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env.update(STUDIO_DATA_DIR=str(tmp_path_factory.mktemp("errors") / "data"),
               STUDIO_ADMIN_PASSWORD=ADMIN[1], STUDIO_RATER_PASSWORD=RATER[1])
    settings = Settings.from_env(env)
    demo = build_app(settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(settings, host="127.0.0.1", port=port))
    yield settings, f"http://127.0.0.1:{port}/"
    demo.close()


def _client(url: str, auth):
    from gradio_client import Client

    return Client(url, auth=auth, verbose=False)


def _refusal(client, *args, api_name: str) -> str:
    with pytest.raises(Exception) as info:
        client.predict(*args, api_name=api_name)
    assert type(info.value).__name__ == "AppError", info.value  # a message for the person, not a crash
    return str(info.value)


def _no_server_path(text: str, settings) -> None:
    for path in (str(settings.data_dir), str(settings.data_dir.resolve()), os.path.expanduser("~"), "/tmp/"):
        assert path not in text, text


def test_user_mistakes_are_messages_without_tracebacks_or_paths(app, capfd, tmp_path):
    from gradio_client import handle_file

    settings, url = app
    admin, rater = _client(url, ADMIN), _client(url, RATER)
    capfd.readouterr()
    assert "admin" in _refusal(rater, "run-x", api_name="/export_merge")  # wrong role
    # An unknown run: the message used to name the absolute runs folder (sweep A40).
    merge = _refusal(admin, "run-does-not-exist", api_name="/export_merge")
    assert "run-does-not-exist" in merge and "runs" in merge
    _no_server_path(merge, settings)
    # A PNG renamed .jsonl: the message used to carry the absolute upload path (sweep A39).
    png = tmp_path / "image.jsonl"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    imported = _refusal(admin, handle_file(str(png)), api_name="/arena_import")
    assert "image.jsonl" in imported
    _no_server_path(imported, settings)
    # Gradio's own input checks are user errors too (sweep A2).
    assert "minimum value" in _refusal(rater, "hello", [], "base", False, "US", "", 0.0, 0.9, -5, 0, api_name="/chat")
    # A value of the wrong type is the caller's mistake too, described rather than a generic error (sweep A7).
    wrong = _refusal(rater, "hello", [], "base", False, "US", "", 0.0, 0.9, "abc", 0, api_name="/chat")
    assert "abc" in wrong and "upstream" not in wrong
    assert "Traceback" not in capfd.readouterr().err


def test_a_real_crash_is_logged_with_its_traceback(app, caplog, monkeypatch):
    import studio.train.export

    def explode(settings, run_id, *args, **kwargs):
        raise KeyError(f"{settings.data_dir}/runs/{run_id}/adapter")  # not a user error: a bug

    settings, url = app
    monkeypatch.setattr(studio.train.export, "export_run", explode)
    with caplog.at_level(logging.ERROR, logger="studio.ui.errors"):
        message = _refusal(_client(url, ADMIN), "run-any", api_name="/export_merge")
    assert "Something went wrong on the server" in message
    _no_server_path(message, settings)
    crashes = [r for r in caplog.records if r.name == "studio.ui.errors" and r.exc_info]
    assert crashes and isinstance(crashes[0].exc_info[1], KeyError)
    assert "/export_merge" in crashes[0].getMessage()
