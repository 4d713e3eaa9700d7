"""The launched app streams a chat reply from the real embedded model through gradio_client."""


import pytest

from studio.safety import DISCLOSURE
from studio.ui.app import build_app
from tests.conftest import free_port


@pytest.fixture
def running_app(settings):
    demo = build_app(settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_building_the_app_loads_no_model(settings):
    build_app(settings)
    from studio.models.loader import model_cache

    assert not model_cache(settings).is_loaded("embedded")


def test_header_shows_disclosure(running_app):
    import httpx

    page = httpx.get(running_app, timeout=30).text
    assert DISCLOSURE in page or "AI companion, not a therapist" in page


@pytest.mark.slow
def test_chat_streams_a_reply(running_app):
    from gradio_client import Client

    client = Client(running_app, verbose=False)
    job = client.submit("How can I get ready for tomorrow's session?", [], api_name="/chat")
    updates = list(job)
    final = job.result()
    history = final[0]
    assert len(updates) >= 2, "expected several streamed updates"
    assert history[0]["role"] == "user"
    reply = history[-1]
    assert reply["role"] == "assistant"
    text = reply["content"] if isinstance(reply["content"], str) else "".join(p.get("text", "") for p in reply["content"])
    assert text.strip() and "loading model" not in text


def test_an_oversized_message_is_refused_before_any_model_work(running_app, settings):
    """A 1 MB message once held the model lock for minutes while everyone else waited."""
    from gradio_client import Client

    from studio.models.loader import model_cache

    client = Client(running_app, verbose=False)
    with pytest.raises(Exception, match="1,000,000 characters; the limit is 8,000") as refused:
        client.predict("x" * 1_000_000, [], api_name="/chat")
    assert type(refused.value).__name__ == "AppError"  # a message for the person, not a crash
    assert not model_cache(settings).is_loaded("embedded")


def test_history_is_cut_to_its_budget_newest_first(settings):
    from studio.models.generate import build_messages

    history = [{"role": "user", "content": f"turn {i} " + "y" * 990} for i in range(40)]
    messages = build_messages("and now?", "system", history, settings.with_(max_history_chars=5000))
    kept = [m["content"][:7] for m in messages[1:-1]]
    assert kept == ["turn 35", "turn 36", "turn 37", "turn 38", "turn 39"]
