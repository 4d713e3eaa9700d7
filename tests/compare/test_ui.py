"""The Arena and Compare tabs driven through gradio_client against the launched app."""

from __future__ import annotations

import json

import pytest

from studio.compare import arena
from studio.ui.app import build_app
from tests.compare.conftest import RUN_ID
from tests.conftest import free_port

pytestmark = pytest.mark.slow
RATER_PW = "rater-secret-1"


@pytest.fixture
def app_url(tuned_settings):
    arena.ArenaConfig(models=["base", RUN_ID], max_new_tokens=8, temperature=0.0).save(tuned_settings)
    demo = build_app(tuned_settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def _client(url, auth=None):
    from gradio_client import Client

    return Client(url, verbose=False, auth=auth)


def test_arena_flow_blind_vote_reveal(app_url, tuned_settings):
    from gradio_client.exceptions import AppError

    client = _client(app_url)
    job = client.submit("Can you give me one journaling prompt?", None, "Dr Rivera", api_name="/arena_battle")
    updates = list(job)
    battle_id, answer_a, answer_b, status, *_controls, reveal = job.result()
    assert battle_id and answer_a and answer_b and "vote" in status
    assert len(updates) >= 2  # the answers streamed
    for output in updates:  # names stay hidden until the vote
        assert RUN_ID not in json.dumps(output)

    result = client.predict(battle_id, "both_bad", "too vague", "Dr Rivera", api_name="/arena_vote")
    reveal, note = result[0], result[-1]  # (buttons carry no value over the API)
    assert RUN_ID in reveal and "`base`" in reveal and "Both are bad" in reveal and "Thank you" in note
    reveal_again, *_rest, note_again = client.predict(battle_id, "a", "", "Dr Rivera", api_name="/arena_vote")
    assert "Both are bad" in reveal_again and "already" in note_again
    with pytest.raises(AppError, match="already voted"):
        client.predict(battle_id, api_name="/arena_regenerate")

    stored = [v for v in arena.store(tuned_settings).votes() if v["rater"] == "Dr Rivera"]
    assert len(stored) == 1 and stored[0]["winner"] == "both_bad" and stored[0]["comment"] == "too vague"
    assert {stored[0]["model_a"], stored[0]["model_b"]} == {"base", RUN_ID}
    assert (stored[0]["response_a"], stored[0]["response_b"]) == (answer_a, answer_b)

    plot, table = client.predict(api_name="/arena_stats")  # local mode: the caller is the admin
    assert "<svg" in plot and RUN_ID in table and "both bad" in table.lower()


def test_arena_crisis_prompt_shows_template_without_a_battle(app_url):
    client = _client(app_url)
    battle_id, answer_a, answer_b, status, *_rest = client.predict(
        "I want to end my life tonight.", None, "Dr Rivera", api_name="/arena_battle")
    assert battle_id == "" and answer_a == answer_b and "988" in answer_a and "no model was called" in status


def test_compare_streams_both_answers_with_flags_and_speed(app_url):
    client = _client(app_url)
    job = client.submit("base", RUN_ID, "How do I explain this therapy to my parents?", "You are careful.",
                        0.0, 0.9, 16, 0, api_name="/compare")
    updates = list(job)
    answer_a, answer_b, info_a, info_b = job.result()
    assert len(updates) >= 3 and answer_a and answer_b
    assert "tokens/s" in info_a and f"**{RUN_ID}**" in info_b
    assert all(("no safety flags" in info) or ("output guard:" in info) or ("crisis gate:" in info) for info in (info_a, info_b))


def test_raters_can_vote_but_not_compare(tuned_settings):
    from gradio_client.exceptions import AppError

    secured = tuned_settings.with_(admin_password="admin-secret-1", rater_password=RATER_PW)
    arena.ArenaConfig(models=["base", RUN_ID], max_new_tokens=4, temperature=0.0).save(secured)
    demo = build_app(secured)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                auth=lambda user, pw: pw == (secured.admin_password if user == "admin" else RATER_PW))
    try:
        client = _client(f"http://127.0.0.1:{port}/", auth=("nurse-sam", RATER_PW))
        with pytest.raises(AppError, match="admin"):
            client.predict("base", RUN_ID, "hello", "", 0.0, 0.9, 16, 0, api_name="/compare")
        with pytest.raises(AppError, match="admin"):
            client.predict(api_name="/arena_stats")
        battle_id, *_ = client.predict("How do I ground myself?", None, "Sam", api_name="/arena_battle")
        _reveal, *_rest, note = client.predict(battle_id, "a", "", "Sam", api_name="/arena_vote")
        assert "Thank you" in note
    finally:
        demo.close()
