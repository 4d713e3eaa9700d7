"""Journey 2: a short real LoRA training of the embedded model from the Train tab, then "Compare with base"."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import open_accordion, open_tab, screenshot

STEPS = 4


def fill_number(page, elem_id: str, value: int | float) -> None:
    box = page.locator(f"#{elem_id} input")
    box.fill(str(value))
    box.press("Tab")
    expect(box).to_have_value(str(value))


def test_short_training_then_compare(studio, page):
    page.goto(studio.url)
    # The Dataset tab stores the starter dataset on first visit; train on it.
    open_tab(page, "dataset")
    expect(page.locator("#ds-version-info")).to_contain_text("companion-starter", timeout=180_000)

    open_tab(page, "train")
    dataset = page.locator("#train-dataset input")
    dataset.click()  # focusing the dropdown lists the stored datasets
    page.get_by_role("option", name="companion-starter").click()
    expect(page.locator("#train-dataset-summary")).to_contain_text("329 conversations, no errors", timeout=120_000)

    # A handful of steps at batch 1 with short sequences: seconds per step on two shared CPU cores.
    fill_number(page, "train-max-steps", STEPS)
    fill_number(page, "train-batch", 1)
    fill_number(page, "train-max-length", 256)  # short sequences for speed; longer conversations are truncated
    open_accordion(page, "Advanced")
    fill_number(page, "train-accum", 1)
    expect(page.locator("#train-preset-info")).to_contain_text("CPU", timeout=60_000)

    page.locator("#train-start").click()
    message = page.locator("#train-message")
    expect(message).to_contain_text("Started", timeout=60_000)
    run_id = message.locator("strong").inner_text()
    assert run_id

    progress, summary = page.locator("#train-progress"), page.locator("#train-summary")
    expect(summary).to_contain_text(run_id, timeout=30_000)
    # While it trains, Stop is offered; the timer keeps the progress and the plot up to date.
    expect(page.locator("#train-stop")).to_be_enabled(timeout=60_000)
    expect(summary).to_contain_text("running", timeout=120_000)
    expect(progress).to_contain_text(re.compile(rf"step [0-{STEPS - 1}]/"), timeout=120_000)
    expect(progress).to_contain_text(f"step {STEPS}/{STEPS} · 100%", timeout=600_000)
    expect(summary).to_contain_text("succeeded", timeout=120_000)
    expect(summary).to_contain_text("final loss")
    expect(page.locator("#train-log textarea")).to_have_value(
        re.compile(rf"step {STEPS}, loss [0-9.]+.*Succeeded", re.S)
    )
    expect(page.locator("#train-history")).to_contain_text("succeeded")
    expect(page.locator("#train-stop")).to_be_disabled()

    compare = page.locator("#train-compare")
    expect(compare).to_be_visible(timeout=30_000)
    # The loss plot draws one line through every logged step, on numeric axes (loss is a number, not a category).
    plot = page.locator("#train-loss-plot")
    line = plot.locator("[aria-roledescription='line mark']")
    expect(line).to_have_count(1)
    expect(line).to_have_attribute("stroke", re.compile(r"^#"))  # drawn in a colour, not left invisible
    expect(plot.locator("[aria-roledescription=axis]").first).to_have_attribute(
        "aria-label", re.compile(rf"X-axis titled 'step' .*\b{STEPS}\b")
    )
    expect(plot.locator("[aria-roledescription=axis]").nth(1)).to_have_attribute(
        "aria-label", re.compile(r"Y-axis titled 'loss' for a linear scale")
    )
    screenshot(page, "journey-train-progress", scroll_to="#train-message")

    compare.click()
    expect(page.locator("#tab-compare-button")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#compare-model-b input")).to_have_value(run_id)
    expect(page.locator("#compare-model-a input")).to_have_value("base")
