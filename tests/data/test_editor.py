"""The editing model behind the Dataset tab: undoable changes, clear refusals, filters, big datasets."""

from __future__ import annotations

import pytest

from studio.data import editor
from studio.data.editor import EditError, EditorState

from .conftest import conv


def state(n=3) -> EditorState:
    return EditorState(name="d", version=1, convs=[conv(("system", "S"), ("user", f"u{i}"), ("assistant", f"a{i}"), tags=[f"t{i}"]) for i in range(n)])


def test_every_change_undoes_exactly():
    s = state()
    snapshots = [repr(s.convs)]
    s.selected = 1
    for change in (lambda: editor.edit_turn(s, 2, "user", "changed"), lambda: editor.move_turn(s, 3, -1),
                   lambda: editor.add_turn(s, 1), lambda: editor.delete_turn(s, 1), lambda: editor.set_tags(s, "x, y, x"),
                   lambda: editor.duplicate_conversation(s), lambda: editor.delete_conversation(s),
                   lambda: editor.add_conversation(s), lambda: editor.import_conversations(s, [conv(("user", "n"), ("assistant", "m"))], False)):
        change()
        snapshots.append(repr(s.convs))
    assert s.dirty and len(s.undo) == len(snapshots) - 1
    for expected in reversed(snapshots[:-1]):
        assert editor.undo(s)
        assert repr(s.convs) == expected
    assert not editor.undo(s)


def test_new_turn_alternates_roles_and_new_conversation_keeps_system_prompt():
    s = state()
    assert editor.add_turn(s) == 4 and s.convs[0]["messages"][3]["role"] == "user"
    assert editor.add_turn(s) == 5 and s.convs[0]["messages"][4]["role"] == "assistant"
    editor.add_conversation(s)
    assert s.selected == 1 and s.convs[1]["messages"][0] == {"role": "system", "content": "S"} and s.convs[1]["tags"] == ["t0"]


def test_refusals_are_clear():
    s = state()
    with pytest.raises(EditError, match="Turn 9 does not exist"):
        editor.edit_turn(s, 9, "user", "x")
    with pytest.raises(EditError, match="cannot move further"):
        editor.move_turn(s, 1, -1)
    with pytest.raises(EditError, match="Role must be"):
        editor.edit_turn(s, 1, "bot", "x")
    with pytest.raises(EditError, match="Select a conversation"):
        editor.edit_turn(EditorState(name="e"), 1, "user", "x")


def test_broken_rows_can_still_be_edited_into_shape():
    s = EditorState(name="d", convs=[{"messages": "oops"}, ["not", "an", "object"]])
    editor.add_turn(s, role="user")
    assert s.convs[0]["messages"] == [{"role": "user", "content": ""}]
    s.selected = 1
    editor.add_turn(s, role="user")
    assert s.convs[1] == {"messages": [{"role": "user", "content": ""}]}


def test_filters_and_big_datasets():
    s = state(5)
    editor.revalidate(s)
    assert [r[0] for r in editor.table_rows(s, query="u3")] == [4]
    assert [r[0] for r in editor.table_rows(s, tag="t1")] == [2]
    assert editor.table_rows(s, flags=["has errors"]) == []
    big = state(editor.LIVE_LIMIT + 1)
    assert editor.revalidate(big) is None  # too big to validate after every edit
    assert editor.revalidate(big, force=True).examples == editor.LIVE_LIMIT + 1
