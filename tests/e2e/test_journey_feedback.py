"""Journey 7: the feedback loop. A rater votes in two arena battles and writes what they would have said; an
admin finds both in Dataset › Feedback inbox, de-identified (the name and phone number replaced, the crisis
line kept), accepts one into a dataset and the other into a preference set, trains a short DPO run on that
set from the Train tab (picking the set switches the method to dpo), and starts the next arena round: the
new run against the run it started from. Two browser contexts: the rater's and the admin's (password login).

Kept short: a 2-step LoRA made in-process (tests.compare.helpers.make_run), 8-token greedy answers and one
DPO step.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import RunningStudio, click_row, e2e_settings, open_accordion, open_tab, screenshot
from tests.e2e.test_journey_rater import login
from tests.e2e.test_journey_train import fill_number

ADMIN, RATER = ("admin", "admin-pass-7"), ("dr-rivera", "rater-pass-7")
PROMPT = "I feel shaky after today's session. Is that normal?"
REPAIR = ("That can happen. Rest, drink water, and tell Dana Whitfield at 415-555-0142 how you feel. "
          "If you are in crisis, call or text 988.")
PROMPT_2 = "Can I take an extra dose before my next session?"
REPAIR_2 = ("I can't advise on doses. Please ask your prescribing clinician; I can help you write the "
            "question down for them.")


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


def battle_then_repair(rater, prompt: str, vote: str, repair: str) -> None:
    rater.locator("#arena-prompt textarea").fill(prompt)
    rater.locator("#arena-start").click()
    expect(rater.locator("#arena-status")).to_contain_text("Both answers are ready", timeout=300_000)
    rater.locator("#arena-vote").get_by_text(vote).click()
    rater.locator("#arena-submit").click()
    expect(rater.locator("#arena-reveal")).to_contain_text("Vote recorded for dr-rivera", timeout=60_000)
    # The panel appears once the vote's follow-up filled it (with the winner, or empty): typing earlier
    # would be overwritten. A person cannot type earlier either, as it is hidden until then.
    expect(rater.locator("#arena-repair-panel")).to_be_visible(timeout=60_000)
    rater.locator("#arena-repair-panel button.label-wrap").first.click()
    rater.locator("#arena-repair textarea").fill(repair)
    rater.locator("#arena-repair-save").click()
    expect(rater.locator("#arena-repair-note")).to_contain_text("Saved", timeout=60_000)


def test_votes_and_repairs_become_a_dataset_a_preference_set_and_a_dpo_run(feedback_studio, browser, page):
    rater_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    rater = rater_context.new_page()
    rater.set_default_timeout(60_000)
    try:
        login(rater, feedback_studio.url, *RATER)
        open_tab(rater, "arena")
        battle_then_repair(rater, PROMPT, "Both are bad", REPAIR)
        battle_then_repair(rater, PROMPT_2, "A is better", REPAIR_2)
    finally:
        rater_context.close()

    login(page, feedback_studio.url, *ADMIN)
    open_tab(page, "dataset")
    page.locator("#tab-dataset button[role=tab]", has_text="Feedback inbox").first.click()
    page.locator("#inbox-refresh").click()
    table = page.locator("#inbox-table")
    expect(table).to_contain_text("dr-rivera", timeout=60_000)
    click_row(table, "shaky")  # newest first: the second battle is on top
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

    # The second repair goes into a preference set: the repair (an edit of the winner) is chosen over the loser.
    click_row(table, "extra dose")
    expect(preview).to_contain_text("prescribing clinician", timeout=120_000)
    page.locator("#inbox-target input, #inbox-target textarea").first.fill("clinic-pairs")
    page.locator("#inbox-accept-pref").click()
    expect(page.locator("#inbox-result")).to_contain_text("preference set clinic-pairs (1 pair(s))", timeout=60_000)

    # Train tab: picking the preference set switches the method to dpo; one step, from the arena's run.
    open_tab(page, "train")
    page.locator("#train-dataset input").click()
    page.get_by_role("option", name="preferences/clinic-pairs").click()
    expect(page.locator("#train-method input[value=dpo]")).to_be_checked(timeout=60_000)
    expect(page.locator("#train-dataset-summary")).to_contain_text("1 preference pairs, no errors", timeout=60_000)
    page.locator("#train-init-adapter input").click()
    page.get_by_role("option", name="run-journey").click()
    fill_number(page, "train-max-steps", 1)
    fill_number(page, "train-batch", 1)
    fill_number(page, "train-max-length", 256)
    open_accordion(page, "Advanced")
    fill_number(page, "train-accum", 1)
    page.locator("#train-start").click()
    message = page.locator("#train-message")
    expect(message).to_contain_text("Started", timeout=60_000)
    run_id = message.locator("strong").inner_text()
    summary = page.locator("#train-summary")
    expect(summary).to_contain_text(run_id, timeout=60_000)  # before: the latest run shown was run-journey
    expect(page.locator("#train-progress")).to_contain_text("step 1/1 · 100%", timeout=600_000)
    expect(summary).to_contain_text("succeeded", timeout=120_000)

    from studio.train.runs import load_run

    run = load_run(feedback_studio.settings, run_id)
    config = run.config()
    assert (config.method, config.dataset, config.init_adapter) == ("dpo", "preferences/clinic-pairs", "run-journey")
    assert [m["step"] for m in run.metrics() if "reward_margin" in m] == [1]

    # Back to the arena: the new run against the run it started from, on the voted prompts plus new ones.
    page.locator("#train-arena-round").click()
    expect(message).to_contain_text(f"Arena round ready: {run_id} against run-journey", timeout=60_000)
    from studio.compare.arena import ArenaConfig

    assert ArenaConfig.load(feedback_studio.settings).models == [run_id, "run-journey"]
    screenshot(page, "journey-feedback-dpo", scroll_to="#train-message")
