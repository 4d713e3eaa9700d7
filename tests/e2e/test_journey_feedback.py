"""Journey 7: a rater votes in the arena and writes what they would have said; an admin finds it in
Dataset › Feedback inbox, de-identified (the name and phone number replaced, the crisis line kept), and
accepts it into a dataset. Two browser contexts: the rater's and the admin's (password login).

Kept short: a 2-step LoRA made in-process (tests.compare.helpers.make_run) and 8-token greedy answers.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import RunningStudio, click_row, e2e_settings, open_tab, screenshot
from tests.e2e.test_journey_rater import login

ADMIN, RATER = ("admin", "admin-pass-7"), ("dr-rivera", "rater-pass-7")
PROMPT = "I feel shaky after today's session. Is that normal?"
REPAIR = ("That can happen. Rest, drink water, and tell Dana Whitfield at 415-555-0142 how you feel. "
          "If you are in crisis, call or text 988.")


@pytest.fixture
def feedback_studio(tmp_path):
    from studio.compare.arena import ArenaConfig
    from tests.compare.helpers import make_run

    settings = e2e_settings(tmp_path, STUDIO_ADMIN_PASSWORD=ADMIN[1], STUDIO_RATER_PASSWORD=RATER[1])
    settings.ensure_data_dir()
    make_run(settings, "run-journey", steps=2)
    ArenaConfig(models=["base", "run-journey"], max_new_tokens=8, temperature=0.0).save(settings)
    running = RunningStudio(settings)
    yield running
    running.close()


def test_rater_repair_reaches_the_inbox_deidentified_and_is_accepted(feedback_studio, browser, page):
    rater_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    rater = rater_context.new_page()
    rater.set_default_timeout(60_000)
    try:
        login(rater, feedback_studio.url, *RATER)
        open_tab(rater, "arena")
        rater.locator("#arena-prompt textarea").fill(PROMPT)
        rater.locator("#arena-start").click()
        expect(rater.locator("#arena-status")).to_contain_text("Both answers are ready", timeout=300_000)
        rater.locator("#arena-vote").get_by_text("Both are bad").click()
        rater.locator("#arena-submit").click()
        expect(rater.locator("#arena-reveal")).to_contain_text("Vote recorded for dr-rivera", timeout=60_000)
        rater.locator("#arena-repair-panel button.label-wrap").first.click()
        rater.locator("#arena-repair textarea").fill(REPAIR)
        rater.locator("#arena-repair-save").click()
        expect(rater.locator("#arena-repair-note")).to_contain_text("Saved", timeout=60_000)
    finally:
        rater_context.close()

    login(page, feedback_studio.url, *ADMIN)
    open_tab(page, "dataset")
    page.locator("#tab-dataset button[role=tab]", has_text="Feedback inbox").first.click()
    page.locator("#inbox-refresh").click()
    table = page.locator("#inbox-table")
    expect(table).to_contain_text("dr-rivera", timeout=60_000)
    click_row(table, "dr-rivera")
    preview = page.locator("#inbox-preview")
    expect(preview).to_contain_text("Better answer", timeout=120_000)  # de-identification runs here
    expect(preview).to_contain_text("988")
    for detail in ("Dana Whitfield", "415-555-0142"):
        expect(preview).not_to_contain_text(detail)
    expect(preview.locator("mark").first).to_be_visible()
    page.locator("#inbox-target input, #inbox-target textarea").first.fill("clinic-repairs")
    page.locator("#inbox-accept-sft").click()
    expect(page.locator("#inbox-result")).to_contain_text("dataset clinic-repairs v1", timeout=60_000)
    screenshot(page, "journey-feedback-inbox", scroll_to="#inbox-table")

    from studio.data.store import DatasetStore

    row = DatasetStore(feedback_studio.settings).load("clinic-repairs")[0]
    stored = row["messages"][-1]["content"]
    assert "Dana Whitfield" not in stored and "415-555-0142" not in stored and "988" in stored
    assert row["provenance"]["rater"] == "dr-rivera"
