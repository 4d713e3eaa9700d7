"""Journey 3: base vs a tuned run side by side in Compare, then a blind Arena battle, a vote, the statistics."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import RunningStudio, e2e_settings, open_accordion, open_tab, screenshot, set_slider
from tests.train.conftest import CONVERSATIONS, tiny_config, write_jsonl

PROMPT = "I feel nervous about my session tomorrow. What could help?"
MAX_NEW = 32  # short answers: generation runs at 10-25 tokens/s on two shared cores


@pytest.fixture
def tuned_studio(tmp_path):
    """A studio whose data dir already holds one finished (2-step, real) LoRA run of the embedded model."""
    from studio.train.manager import TrainingManager

    settings = e2e_settings(tmp_path)
    dataset = write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 2)
    run = TrainingManager(settings).start(tiny_config(dataset, max_steps=2, save_steps=2), background=False)
    assert run.status()["state"] == "succeeded", run.status().get("error")
    running = RunningStudio(settings)
    running.run_id = run.run_id
    yield running
    running.close()


def test_side_by_side_then_blind_battle_vote_and_stats(tuned_studio, page):
    run_id = tuned_studio.run_id
    page.goto(tuned_studio.url)

    # --- Compare: base (A) against the tuned run (B), same prompt, greedy, short answers.
    open_tab(page, "compare")
    compare = page.locator("#tab-compare")
    page.locator("#compare-model-b input").click()  # focusing refreshes the list of finished runs
    page.get_by_role("option", name=run_id).click()
    expect(page.locator("#compare-model-b input")).to_have_value(run_id)
    expect(page.locator("#compare-model-a input")).to_have_value("base")
    page.locator("#compare-prompt textarea").fill(PROMPT)
    open_accordion(compare, "System prompt and generation settings")
    set_slider(compare, "Temperature (0 = greedy)", 0)
    set_slider(compare, "Max new tokens", MAX_NEW)
    page.locator("#compare-run").click()
    info_a, info_b = page.locator("#compare-info-a"), page.locator("#compare-info-b")
    expect(info_a).to_contain_text("tokens/s", timeout=300_000)
    expect(info_b).to_contain_text("tokens/s", timeout=60_000)
    expect(info_a).to_contain_text("base")
    expect(info_b).to_contain_text(run_id)
    expect(page.locator("#compare-answer-a textarea")).not_to_have_value("")
    expect(page.locator("#compare-answer-b textarea")).not_to_have_value("")
    screenshot(page, "journey-compare", scroll_to="#compare-model-a")

    # --- Arena: an admin keeps answers short for this session (Arena settings), then a blind battle.
    open_tab(page, "arena")
    arena = page.locator("#tab-arena")
    open_accordion(arena, "Arena settings (admins)")
    settings_panel = page.locator("#arena-settings-panel")
    # Opening the panel loads the saved settings into it; wait for that before changing them.
    expect(page.locator("#arena-system textarea")).not_to_have_value("", timeout=30_000)
    set_slider(settings_panel, "Max new tokens", MAX_NEW)
    page.locator("#arena-settings-save").click()
    expect(settings_panel).to_contain_text(f"draws pairs from: base, {run_id}", timeout=60_000)

    page.locator("#arena-rater input, #arena-rater textarea").first.fill("dr-rivera")
    page.locator("#arena-prompt textarea").fill(PROMPT)
    page.locator("#arena-start").click()
    status = page.locator("#arena-status")
    expect(status).to_contain_text("Both answers are ready", timeout=300_000)
    # Blind: nothing on screen names a model before the vote.
    for hidden in (run_id, "base"):
        expect(page.locator("#arena-reveal")).not_to_contain_text(hidden)
    expect(page.locator("#arena-answer-a textarea")).not_to_have_value("")
    expect(page.locator("#arena-answer-b textarea")).not_to_have_value("")

    page.locator("#arena-vote").get_by_text("A is better").click()
    page.locator("#arena-submit").click()
    reveal = page.locator("#arena-reveal")
    expect(reveal).to_contain_text("Answer A was", timeout=60_000)
    expect(reveal).to_contain_text(run_id)
    expect(reveal).to_contain_text("base")
    expect(reveal).to_contain_text("Vote recorded for dr-rivera: A is better")
    expect(page.locator("#arena-submit")).to_be_disabled()

    # --- Statistics (admins): one battle, both models listed.
    open_accordion(arena, "Statistics (admins)")
    page.locator("#arena-stats-refresh").click()
    table = page.locator("#arena-stats-table")
    expect(table).to_contain_text("1 battles", timeout=60_000)
    expect(table).to_contain_text(run_id)
    expect(table).to_contain_text("dr-rivera")
    expect(page.locator("#arena-stats-plot svg")).to_be_visible()
    screenshot(page, "journey-arena-vote", scroll_to="#arena-answer-a")
