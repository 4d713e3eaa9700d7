"""Browser journey in Chromium: open the Dataset tab, edit a turn, see validation react, jump from an issue, save."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.data.store import DatasetStore
from tests.conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture
def app_url(settings):
    from studio.ui.app import build_app, launch_kwargs

    demo = build_app(settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, **launch_kwargs(settings, port=port))
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def _text(page, selector: str) -> str:
    return page.inner_text(selector)


def test_edit_validate_jump_and_save(app_url, settings):
    from playwright.sync_api import expect, sync_playwright

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(app_url)
        page.click("button[role=tab][data-tab-id=dataset]")
        expect(page.locator("#ds-version-info")).to_contain_text("companion-starter", timeout=120_000)
        expect(page.locator("#ds-preview-count")).to_contain_text("trained tokens", timeout=60_000)

        page.click("#ds-table [data-testid='cell-2-3']")  # third conversation
        expect(page.locator("#ds-conv-title")).to_contain_text("Conversation 3 of")
        page.click("#ds-turns [data-testid='cell-2-2']")  # its assistant turn
        expect(page.locator("#ds-turn-role input")).to_have_value("assistant")
        page.fill("#ds-turn-content textarea", "   ")
        page.click("#ds-turn-save")
        expect(page.locator("#ds-conv-issues")).to_contain_text("empty_content", timeout=60_000)
        expect(page.locator("#ds-version-info")).to_contain_text("unsaved changes")

        page.click("button[role=tab][data-tab-id=ds-tab-validation]")
        expect(page.locator("#ds-summary")).to_contain_text("1 errors")
        page.click("#ds-issues [data-testid='cell-0-3']")  # the issue row -> jumps back to the conversation
        expect(page.locator("#ds-conv-title")).to_contain_text("Conversation 3 of", timeout=30_000)

        page.click("#ds-undo")
        expect(page.locator("#ds-conv-issues")).to_contain_text("No issues", timeout=60_000)
        page.fill("#ds-save-note textarea", "browser journey")
        page.click("#ds-save")
        expect(page.locator("#ds-status")).to_contain_text("as version 2", timeout=30_000)
        browser.close()
    store = DatasetStore(settings)
    assert store.latest("companion-starter") == 2 and store.versions("companion-starter")[-1].note == "browser journey"
