"""Browser journeys: the real app in this process on a free port, driven by Debian's Chromium.

Playwright cannot download browsers here, so it launches /usr/bin/chromium (installed by `make test`).
Screenshots land in artifacts/e2e/ (git-ignored); a few are copied into docs/screenshots for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.settings import Settings
from tests.conftest import REPO, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "artifacts" / "e2e"

E2E_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/e2e as e2e (a ``pytestmark`` in a conftest does not reach test modules).

    tryfirst: the mark must be on the items before ``-m "not e2e"`` deselects them.
    """
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it with apt-get (package chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def e2e_settings(tmp_path: Path, **env_extra: str) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env.update({"STUDIO_DATA_DIR": str(tmp_path / "data"), **env_extra})
    return Settings.from_env(env)


class RunningStudio:
    def __init__(self, settings: Settings):
        from studio.ui.app import build_app, launch_kwargs

        self.settings = settings
        self.demo = build_app(settings)
        self.port = free_port()
        kwargs = launch_kwargs(settings, host="127.0.0.1", port=self.port)
        self.demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
        self.url = f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.demo.close()


@pytest.fixture
def studio(tmp_path) -> Iterator[RunningStudio]:
    running = RunningStudio(e2e_settings(tmp_path))
    yield running
    running.close()


def open_tab(page, tab_id: str) -> None:
    page.locator(f"#tabs button[role=tab]:has-text('{TAB_TITLES[tab_id]}')").first.click()


TAB_TITLES = {
    "chat": "Chat",
    "dataset": "Dataset",
    "train": "Train",
    "compare": "Compare",
    "arena": "Arena",
    "knowledge": "Knowledge",
}


def set_slider(scope, label: str, value: int | float) -> None:
    """Type a value into a gr.Slider's number box (found by its label) and wait until the slider took it."""
    from playwright.sync_api import expect

    box = scope.locator(f"input[aria-label='number input for {label}']")
    slider = scope.locator(f"input[aria-label='range slider for {label}']")
    # A slider rendered a moment ago (in an accordion just opened) sometimes misses the first edit and keeps its
    # initial value (seen in about 1 run in 4 on a loaded machine); type again until the value holds.
    for _ in range(3):
        box.fill(str(value))
        box.press("Tab")
        try:
            expect(slider).to_have_value(str(value), timeout=5_000)
            return
        except AssertionError:
            continue
    expect(slider).to_have_value(str(value))


def open_accordion(scope, title: str) -> None:
    """Open a closed gr.Accordion by its title (its contents are only rendered once open)."""
    scope.locator("button.label-wrap", has_text=title).first.click()


def click_row(table, text: str) -> None:
    """Click the first cell of the first row of a gr.Dataframe (a virtual grid) that contains ``text``."""
    table.get_by_role("row").filter(has_text=text).first.get_by_role("gridcell").first.click()


def screenshot(page, name: str, scroll_to: str | None = None) -> None:
    """An extra screenshot mid-journey (the ``page`` fixture saves the final one).

    With ``scroll_to`` (a selector), just the window scrolled to that element: a README-sized picture.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if scroll_to:
        page.locator(scroll_to).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=scroll_to is None)
