"""Journey 5: a rater logs in, sees only the arena and chat, and cannot reach training."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import RunningStudio, e2e_settings


@pytest.fixture
def locked_studio(tmp_path):
    running = RunningStudio(
        e2e_settings(tmp_path, STUDIO_ADMIN_PASSWORD="admin-pass-1", STUDIO_RATER_PASSWORD="rater-pass-1")
    )
    yield running
    running.close()


def login(page, url, user, password):
    page.goto(url)
    page.locator("input[type=text], input:not([type])").first.fill(user)
    page.locator("input[type=password]").fill(password)
    page.locator("button:has-text('Login')").click()


def test_rater_sees_only_arena_and_chat(locked_studio, page):
    login(page, locked_studio.url, "dr-rivera", "rater-pass-1")
    tabs = page.locator("#tabs button[role=tab]")
    expect(tabs.filter(has_text="Chat")).to_be_visible()
    expect(tabs.filter(has_text="Arena")).to_be_visible()
    # Hidden may mean removed or display:none; either way a rater cannot see or click it.
    for hidden in ("Train", "Dataset", "Knowledge", "Compare"):
        expect(tabs.filter(has_text=hidden).filter(visible=True)).to_have_count(0)

    from gradio_client import Client

    client = Client(locked_studio.url, auth=("dr-rivera", "rater-pass-1"), verbose=False)
    with pytest.raises(Exception, match="admin"):
        # The Train form's fields are named parameters; a rater is refused before any is read.
        client.predict(dataset="companion-starter", max_steps=2, api_name="/start_training")
    runs = locked_studio.settings.runs_dir
    assert not runs.exists() or not any(runs.iterdir())


def test_wrong_password_is_refused(locked_studio, page):
    login(page, locked_studio.url, "admin", "wrong")
    expect(page.locator("body")).to_contain_text("Incorrect")
