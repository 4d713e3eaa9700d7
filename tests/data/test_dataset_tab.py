"""The Dataset tab's handlers, called directly (as Gradio would) on a real store and the real tokenizer."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from studio.data.store import DatasetStore
from studio.ui.context import AppContext

FILTERS = ("", "(all)", [], 1024)


@pytest.fixture
def tab(settings):
    settings.ensure_data_dir()
    with gr.Blocks():
        from studio.ui.tabs.dataset import build

        handlers = build(AppContext(settings))
    return handlers


def value(updates, widget):
    got = updates[widget]
    return getattr(got, "constructor_args", got)


def select(row):
    return gr.SelectData(None, {"index": [0, 0], "value": row[0], "row_value": row, "selected": True})


def opened(tab):
    updates = tab.on_tab_open(None, *FILTERS, request=None)
    return updates[tab.w.state], updates


def test_first_open_seeds_the_starter_and_shows_everything(tab, settings):
    state, up = opened(tab)
    assert state.name == "companion-starter" and len(state.convs) >= 120
    assert len(value(up, tab.w.table)["value"]) == len(state.convs)
    assert up[tab.w.summary].startswith("✅") and "0** errors" in up[tab.w.summary]
    assert "trained tokens" in up[tab.w.preview_count] and "ds-trained" in up[tab.w.preview]
    assert value(up, tab.w.hist)["value"]["count"].sum() == len(state.convs)
    assert value(up, tab.w.turn_role) == "system" and up[tab.w.turn_no] == 1
    assert [r[0] for r in up[tab.w.versions]] == [1]


def test_edit_turns_undo_and_conversations(tab):
    state, _ = opened(tab)
    up = tab.select_row(state, *FILTERS, select([3, "", 3, "", 0, 0, 0]), request=None)
    assert state.selected == 2 and "Conversation 3 of" in up[tab.w.title]
    original = json.dumps(state.convs[2])
    up = tab.turn_save(state, *FILTERS, 2, "user", "A new question about journaling?", request=None)
    assert state.convs[2]["messages"][1]["content"] == "A new question about journaling?" and state.dirty
    tab.turn_up(state, *FILTERS, 2, request=None)
    assert state.convs[2]["messages"][0]["role"] == "user"  # system moved down: an error now
    up = tab.undo(state, *FILTERS, request=None)
    tab.undo(state, *FILTERS, request=None)
    assert json.dumps(state.convs[2]) == original

    n = len(state.convs)
    up = tab.conv_add(state, *FILTERS, request=None)
    assert len(state.convs) == n + 1 and state.selected == 3
    assert up[tab.w.summary].startswith("❌")
    bad = [r for r in up[tab.w.issues] if r[0] == 4]
    assert {r[2] for r in bad} == {"empty_content"}
    only_errors = tab.filter(state, "", "(all)", ["has errors"], 1024, request=None)
    assert [r[0] for r in value(only_errors, tab.w.table)["value"]] == [4]
    assert "1 of" in value(only_errors, tab.w.table)["label"]
    tab.turn_save(state, *FILTERS, 2, "user", "Is it normal to feel calm?", request=None)
    up = tab.turn_save(state, *FILTERS, 3, "assistant", "Many people feel calm afterwards. Tell your care team how it went.", request=None)
    assert up[tab.w.summary].startswith("✅")
    up = tab.turn_add(state, *FILTERS, 3, request=None)
    assert len(state.convs[3]["messages"]) == 4 and up[tab.w.turn_no] == 4 and value(up, tab.w.turn_role) == "user"
    tab.turn_delete(state, *FILTERS, 4, request=None)
    tab.set_tags(state, *FILTERS, "aftercare, new", request=None)
    assert state.convs[3]["tags"] == ["aftercare", "new"]
    tab.conv_duplicate(state, *FILTERS, request=None)
    assert len(state.convs) == n + 2
    up = tab.conv_delete(state, *FILTERS, request=None)
    assert len(state.convs) == n + 1
    assert "new" in value(up, tab.w.tag)["choices"]


def test_issue_click_jumps_to_conversation_and_tab(tab):
    state, _ = opened(tab)
    tab.conv_add(state, *FILTERS, request=None)
    tab.select_row(state, *FILTERS, select([1, "", 3, "", 0, 0, 0]), request=None)
    up = tab.jump_to_issue(state, *FILTERS, select([2, "error", "empty_content", "..."]), request=None)
    assert state.selected == 1 and value(up, tab.w.subtabs)["selected"] == "ds-tab-conversations"


def test_save_versions_and_conflict_between_two_editors(tab, settings):
    a, _ = opened(tab)
    b, _ = opened(tab)
    tab.conv_delete(a, *FILTERS, request=None)
    up = tab.save(a, *FILTERS, "removed one", request=None)
    assert "Saved 'companion-starter' as version 2" in up[tab.w.status] and not a.dirty
    tab.conv_duplicate(b, *FILTERS, request=None)
    up = tab.save(b, *FILTERS, "", request=None)
    assert "now at version 2, but you started from version 1" in up[tab.w.status]
    assert value(up, tab.w.save_new)["visible"] is True and b.dirty
    store = DatasetStore(settings)
    assert store.latest("companion-starter") == 2
    up = tab.save_as_new(b, *FILTERS, "", request=None)
    assert "version 3" in up[tab.w.status] and value(up, tab.w.save_new)["visible"] is False
    assert [v.version for v in store.versions("companion-starter")] == [1, 2, 3]
    n1, n2, n3 = (len(store.load("companion-starter", v)) for v in (1, 2, 3))
    assert (n2, n3) == (n1 - 1, n1 + 1)

    up = tab.diff(b, *FILTERS, 1, request=None)
    assert "v1 → v3" in up[tab.w.diff_out] and "+1** added" in up[tab.w.diff_out]
    up = tab.view_version(b, *FILTERS, 2, request=None)
    assert len(up[tab.w.state].convs) == n2 and "viewing old version v2" in up[tab.w.info]
    c = up[tab.w.state]
    up = tab.restore(c, *FILTERS, 1, request=None)
    assert "Restored v1 as v4" in up[tab.w.status] and len(store.load("companion-starter")) == n1


def test_open_with_unsaved_edits_needs_a_second_click(tab):
    state, _ = opened(tab)
    tab.conv_delete(state, *FILTERS, request=None)
    up = tab.open_dataset(state, *FILTERS, "companion-starter", request=None)
    assert "unsaved changes" in up[tab.w.status]
    up = tab.open_dataset(state, *FILTERS, "companion-starter", request=None)
    assert not up[tab.w.state].dirty


@pytest.mark.parametrize(
    "name,content,needle",
    [
        ("latin.jsonl", b'{"messages": "caf\xe9"}\n', "latin.jsonl: not UTF-8 text: byte 0xe9 at line 1"),
        ("pic.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "pic.jsonl: looks like a binary file"),
        ("empty.jsonl", b"", "empty.jsonl: the file is empty"),
        ("cols.csv", b"question,answer\nhi,hello\n", "cols.csv: line 1 (header) is missing the column(s) user, assistant"),
        ("sg.jsonl", b'{"conversations": [{"from": "human", "value": "x"}, {"from": "robot", "value": "y"}]}\n',
         "line 1: turn 2 has unknown speaker 'robot'"),
    ],
)
def test_bad_uploads_say_what_and_where_and_change_nothing(tab, settings, tmp_path, name, content, needle):
    state, _ = opened(tab)
    before = json.dumps(state.convs)
    path = tmp_path / name
    path.write_bytes(content)
    up = tab.import_upload(state, *FILTERS, str(path), "auto", "replace", request=None)
    assert up[tab.w.status].startswith("❌") and needle in up[tab.w.status]
    assert json.dumps(state.convs) == before and not state.dirty
    assert DatasetStore(settings).latest("companion-starter") == 1


def test_upload_over_the_limit(tab, settings, tmp_path):
    tab.settings = settings.with_(upload_limit_mb=1)
    state, _ = opened(tab)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b" " * (1024 * 1024 + 10))
    up = tab.import_upload(state, *FILTERS, str(path), "auto", "replace", request=None)
    assert "big.jsonl: the file is 1.0 MB, over the 1.0 MB limit" in up[tab.w.status]


def test_import_append_export_split(tab, tmp_path):
    state, _ = opened(tab)
    n = len(state.convs)
    csv = tmp_path / "more.csv"
    csv.write_text("user,assistant,system\nHow do I rest?,Plan a quiet evening and check in with your care team.,Be kind.\n")
    up = tab.import_upload(state, *FILTERS, str(csv), "auto", "append", request=None)
    assert "Imported 1 conversations from more.csv (read as csv, append)" in up[tab.w.status]
    assert len(state.convs) == n + 1 and state.dirty

    up = tab.export(state, *FILTERS, True, request=None)
    [path] = up[tab.w.download]
    rows = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").split("\n") if x]
    assert len(rows) == n + 1 and rows[0]["text"].startswith("<|im_start|>system") and path.endswith("-v1-edited.jsonl")

    up = tab.split(state, *FILTERS, 0.2, 7, False, request=None)
    train, evals = up[tab.w.download]
    assert "train" in train and "eval" in evals and "Split" in up[tab.w.status]


def test_push_needs_saved_data_and_a_token_and_clears_the_box(tab, monkeypatch):
    state, _ = opened(tab)
    up = tab.push(state, *FILTERS, "me/data", "", True, 0.1, 0, request=None)
    assert "No Hugging Face token" in up[tab.w.status] and up[tab.w.hub_token] == ""
    tab.conv_delete(state, *FILTERS, request=None)
    up = tab.push(state, *FILTERS, "me/data", "hf_abcdefghijklmnopq", True, 0.1, 0, request=None)
    assert "Save first" in up[tab.w.status] and up[tab.w.hub_token] == ""


def test_raters_are_refused(settings):
    locked = settings.with_(admin_password="pw", rater_password="rp")
    locked.ensure_data_dir()
    with gr.Blocks():
        from studio.ui.tabs.dataset import build

        tab = build(AppContext(locked))
    rater = SimpleNamespace(username="dr-lee")
    for call in (lambda: tab.on_tab_open(None, *FILTERS, request=rater),
                 lambda: tab.save(None, *FILTERS, "", request=rater),
                 lambda: tab.import_upload(None, *FILTERS, "x.jsonl", "auto", "replace", request=rater)):
        with pytest.raises(gr.Error, match="admin"):
            call()
    assert [(d.name, d.version) for d in DatasetStore(locked).list()] == [("companion-starter", 1)]  # seeded at start, untouched
