"""Journey 1: import a JSONL into a new dataset, fix a turn and watch validation update, save versions, restore one."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import click_row, open_tab, screenshot

SYSTEM = "You are a careful AI companion, not a therapist."
# Conversation 1 has an empty assistant turn: one validation error, fixed in the editor below.
CONVERSATIONS = [
    [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "I keep forgetting what came up in my last session."},
        {"role": "assistant", "content": ""},
    ],
    [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "How can I get ready for tomorrow's session?"},
        {
            "role": "assistant",
            "content": "A quiet morning, a light meal as your clinic advised, and one intention written down can help.",
        },
    ],
    [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Can you change my medication?"},
        {
            "role": "assistant",
            "content": "I can't: medication questions belong with your prescribing clinician. I can help you list your questions.",
        },
    ],
]
FIX = "Writing a few words in a journal right after each session makes it easier to remember and to bring up with your care team."


def write_jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps({"messages": c}) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    return path


def subtab(page, title: str) -> None:
    page.locator("#ds-subtabs button[role=tab]", has_text=title).click()


def test_import_edit_validate_save_restore(studio, page, tmp_path):
    upload = write_jsonl(tmp_path / "session-notes.jsonl")
    page.goto(studio.url)
    open_tab(page, "dataset")
    info, status = page.locator("#ds-version-info"), page.locator("#ds-status")
    # First visit opens the starter dataset; wait for it so the next action starts from a settled editor.
    expect(info).to_contain_text("companion-starter", timeout=180_000)

    page.locator("#ds-new-name textarea, #ds-new-name input").first.fill("session-notes")
    page.locator("#ds-create").click()
    expect(status).to_contain_text("New dataset 'session-notes'", timeout=60_000)

    subtab(page, "Import / export")
    page.locator("#ds-upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#ds-upload")).to_contain_text("session-notes.jsonl")
    page.locator("#ds-import").click()
    expect(status).to_contain_text("Imported 3 conversations from session-notes.jsonl", timeout=120_000)

    subtab(page, "Validation")
    summary = page.locator("#ds-summary")
    expect(summary).to_contain_text("3 conversations · 1 errors", timeout=60_000)
    expect(page.locator("#ds-issues")).to_contain_text("empty_content")

    # Save the imported data as v1 (errors and all: the status says training will refuse it).
    page.locator("#ds-save-note textarea, #ds-save-note input").first.fill("imported")
    page.locator("#ds-save").click()
    expect(status).to_contain_text("Saved 'session-notes' as version 1", timeout=60_000)
    expect(status).to_contain_text("1 validation error")

    # Fix the empty assistant turn of conversation 1: pick turn 3 in the turns table, then edit it.
    subtab(page, "Conversations")
    expect(page.locator("#ds-conv-issues")).to_contain_text("empty_content")
    click_row(page.locator("#ds-turns"), "assistant")
    expect(page.locator("#ds-turn-no input")).to_have_value("3")
    page.locator("#ds-turn-content textarea").fill(FIX)
    page.locator("#ds-turn-save").click()
    expect(status).to_contain_text("Turn updated", timeout=60_000)
    expect(page.locator("#ds-conv-issues")).to_contain_text("No issues in this conversation")
    expect(page.locator("#ds-turns")).to_contain_text("journal right after each session")
    expect(info).to_contain_text("unsaved changes")
    screenshot(page, "journey-dataset-editor", scroll_to="#ds-version-info")

    subtab(page, "Validation")
    expect(summary).to_contain_text("✅")
    expect(summary).to_contain_text("3 conversations · 0 errors")

    page.locator("#ds-save-note textarea, #ds-save-note input").first.fill("fixed the empty answer")
    page.locator("#ds-save").click()
    expect(status).to_contain_text("Saved 'session-notes' as version 2", timeout=60_000)

    # Restore v1 (the imported data) as the newest version: the error comes back with it.
    subtab(page, "Versions")
    versions = page.locator("#ds-versions")
    expect(versions).to_contain_text("fixed the empty answer")
    click_row(versions, "imported")
    expect(page.locator("#ds-version-pick input")).to_have_value("1")
    page.locator("#ds-restore").click()
    expect(status).to_contain_text("Restored v1 as v3", timeout=60_000)
    expect(info).to_contain_text("based on v3")
    subtab(page, "Validation")
    expect(summary).to_contain_text("1 errors")
