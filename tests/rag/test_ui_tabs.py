"""The Knowledge and Chat tabs through the launched app (gradio_client), as a local admin and as a rater."""

from __future__ import annotations

import pytest

from studio.ui.app import build_app, launch_kwargs
from tests.conftest import free_port

GUIDE = "# Aftercare\n\nAfter a ketamine session, do not drive until the next day after a full night's sleep.\n"


def launch(settings):
    demo = build_app(settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(settings, host="127.0.0.1", port=port))
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture
def app(settings):
    demo, url = launch(settings)
    yield url
    demo.close()


def text_of(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def test_knowledge_tab_add_query_remove(app, tmp_path):
    from gradio_client import Client, handle_file

    path = tmp_path / "aftercare.md"
    path.write_text(GUIDE)
    client = Client(app, verbose=False)
    status, table, *_ = client.predict([handle_file(str(path))], api_name="/kb_add")
    assert "aftercare.md" in status and "Added" in status
    assert table["data"][0][:2] == ["aftercare.md", 1]
    again, *_ = client.predict([handle_file(str(path))], api_name="/kb_add")
    assert "Unchanged" in again
    found = client.predict("can I drive?", 2, "hybrid", "", api_name="/kb_query")
    assert "[1] aftercare.md" in found and "Aftercare" in found
    # A script's fresh session never saw the dropdowns filled: the names are still accepted (issue 22).
    fresh = Client(app, verbose=False)
    assert "[1] aftercare.md" in fresh.predict("can I drive?", 2, "hybrid", "aftercare.md", api_name="/kb_query")
    removed, table, *_ = fresh.predict("aftercare.md", api_name="/kb_remove")
    assert "Removed" in removed and table["data"] in ([], [[]], [["", "", "", ""]])


def test_bad_upload_is_a_clear_error(app, tmp_path):
    from gradio_client import Client, handle_file

    bad = tmp_path / "notes.txt"
    bad.write_bytes("café in Latin-1 ".encode("latin-1") * 3)
    with pytest.raises(Exception, match="UTF-8"):
        Client(app, verbose=False).predict([handle_file(str(bad))], api_name="/kb_add")


def test_a_rater_cannot_add_documents(settings, tmp_path):
    from gradio_client import Client, handle_file

    locked = settings.with_(admin_password="admin-pw-1", rater_password="rater-pw-2")
    demo, url = launch(locked)
    try:
        path = tmp_path / "aftercare.md"
        path.write_text(GUIDE)
        rater = Client(url, auth=("dr-lee", "rater-pw-2"), verbose=False)
        with pytest.raises(Exception, match="admin"):
            rater.predict([handle_file(str(path))], api_name="/kb_add")
        assert not (locked.kb_dir / "chroma").exists()
    finally:
        demo.close()


def test_crisis_message_in_chat_gets_the_template_first_with_the_disclosure(app):
    from gradio_client import Client

    client = Client(app, verbose=False)
    history, _ = client.predict("I have the pills ready and I am going to end my life tonight", [], api_name="/chat")
    assert history[0]["role"] == "user"
    assert "not a therapist" in (history[1].get("metadata") or {}).get("title", "")
    assert "988" in text_of(history[-1]) and len(history) == 3


@pytest.mark.slow
def test_chat_answer_shows_numbered_citations(app, tmp_path, embedded_model_dir):
    from gradio_client import Client, handle_file

    path = tmp_path / "aftercare.md"
    path.write_text(GUIDE)
    client = Client(app, verbose=False)
    client.predict([handle_file(str(path))], api_name="/kb_add")
    job = client.submit("Can I drive after my ketamine session?", [], "base", True, "US", "", 0.0, 0.9, 16, 0, api_name="/chat")
    history, _ = job.result()
    answer, sources = history[-2], history[-1]
    assert answer["role"] == "assistant" and text_of(answer).strip() and "loading model" not in text_of(answer)
    assert sources["metadata"]["title"].startswith("📚 Sources: [1] aftercare.md")
    assert "do not drive until the next day" in text_of(sources)


def test_model_list_offers_base_and_succeeded_runs_only(settings):
    import json

    from studio.ui.tabs.chat import model_choices

    for run_id, state in (("run-ok", "succeeded"), ("run-busy", "running"), ("run-bad", "failed")):
        run = settings.runs_dir / run_id
        (run / "adapter").mkdir(parents=True)
        (run / "adapter" / "adapter_config.json").write_text("{}")
        (run / "status.json").write_text(json.dumps({"state": state}))
    (settings.runs_dir / "run-empty" / "adapter").mkdir(parents=True)  # succeeded, but no adapter to load
    (settings.runs_dir / "run-empty" / "status.json").write_text(json.dumps({"state": "succeeded"}))
    assert [value for _, value in model_choices(settings)] == ["base", "run-ok"]
