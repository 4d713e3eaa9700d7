"""Event handlers of the Dataset tab. Every handler checks for an admin first, then changes the
session's ``EditorState`` through ``studio.data.editor`` and returns the refreshed view.

Handlers take ``(state, query, tag, flags, max_length, ...inputs, request)`` and return a dict of
component updates, so a failure can update just the status line and leave everything else as is.
"""

from __future__ import annotations

import logging

import gradio as gr

from studio.ui.context import AppContext
from studio.ui.tabs import dataset_view as view
from studio.ui.tabs.dataset_io import DatasetIOHandlers

log = logging.getLogger(__name__)
CONVERSATIONS_TAB = "ds-tab-conversations"


class DatasetHandlers(DatasetIOHandlers):
    def __init__(self, ctx: AppContext, w):
        self.ctx, self.w, self.settings = ctx, w, ctx.settings
        self.outputs = [
            w.state, w.name, w.info, w.status, w.save_new, w.table, w.tag, w.title, w.tags, w.turns, w.turn_no,
            w.turn_role, w.turn_content, w.conv_issues, w.preview, w.preview_count, w.summary, w.hist, w.issues,
            w.subtabs, w.download, w.hub_token, w.versions, w.version_pick, w.diff_out,
        ]

    # ---- plumbing --------------------------------------------------------------------------
    def store(self):
        from studio.data.store import DatasetStore

        return DatasetStore(self.settings)

    def tokenizer(self):
        from studio.data.tokens import base_tokenizer

        try:
            return base_tokenizer(self.settings)
        except Exception as exc:  # no base model here: the tab still works without token counts
            log.warning("tokenizer unavailable: %s", exc)
            return None

    def _do(self, request, state, filters, action, revalidate: bool = True) -> dict:
        from studio.data.schema import DataError
        from studio.data.store import VersionConflict
        from studio.util.errors import public_message
        from studio.util.redact import redact

        self.ctx.require_admin(request)
        try:
            result = action(state) or {}
        except VersionConflict as exc:
            state.conflict = exc.latest
            return {self.w.state: state, self.w.status: f"⚠️ {exc}", self.w.save_new: gr.Button(visible=True),
                    self.w.info: view.version_info(state, exc.latest)}
        except (DataError, ValueError, OSError) as exc:
            return {self.w.status: f"❌ {public_message(redact(str(exc)), self.settings.data_dir)}"}
        state = result.pop("state", state)
        return self._view(state, filters, revalidate=revalidate, **result)

    def _view(self, state, filters, status: str = "", revalidate: bool = True, turn: int | None = None, extra: dict | None = None) -> dict:
        from studio.data import editor
        from studio.data.schema import tags_of

        query, tag, flags, max_length = filters
        w = self.w
        updates = {w.state: state, w.status: status, w.info: view.version_info(state)}
        if state is None:
            return updates
        tokenizer = self.tokenizer() if revalidate or turn is not None else None
        if revalidate:
            editor.revalidate(state, tokenizer, int(max_length or 0) or None, region=self.settings.region)
        tags = ["(all)", *editor.all_tags(state)]
        conv = state.current
        updates.update({
            w.save_new: gr.Button(visible=state.conflict is not None),
            w.table: view.table(state, query, tag if tag in tags else "(all)", flags or []),
            w.tag: gr.Dropdown(choices=tags, value=tag if tag in tags else "(all)"),
            w.title: view.conversation_title(state),
            w.tags: ", ".join(tags_of(conv)) if isinstance(conv, dict) else "",
            w.turns: view.turns(state),
            w.conv_issues: view.conversation_issues(state),
            w.summary: view.summary(state, live=len(state.convs) <= editor.LIVE_LIMIT),
            w.hist: view.histogram_plot(state, int(max_length or 0) or None),
            w.issues: view.issues(state),
        })
        if revalidate or turn is not None:
            updates[w.preview], updates[w.preview_count] = view.preview_parts(state, tokenizer or self.tokenizer(), self.settings.region)
        if turn is not None:
            updates.update(self._turn_fields(state, turn))
        if state.name:
            updates.update(self._store_fields(state))
        updates.update(extra or {})
        return updates

    def _turn_fields(self, state, turn: int) -> dict:
        rows = view.turns(state)
        turn = max(1, min(int(turn or 1), len(rows))) if rows else 1
        role, content = (rows[turn - 1][1], rows[turn - 1][2]) if rows else ("user", "")
        role = role if role in ("system", "user", "assistant") else "user"
        return {self.w.turn_no: turn, self.w.turn_role: role, self.w.turn_content: content}

    def _store_fields(self, state) -> dict:
        store = self.store()
        names = [d.name for d in store.list()]
        versions = store.versions(state.name) if store.exists(state.name) else []
        latest = versions[-1].version if versions else 0
        return {self.w.name: gr.Dropdown(choices=names, value=state.name if state.name in names else None),
                self.w.versions: view.versions_table(versions), self.w.info: view.version_info(state, latest)}

    @staticmethod
    def _armed(state, action: str) -> bool:
        """True when a destructive action may go ahead: no unsaved edits, or this is the confirming second click."""
        if state is None or not state.dirty or state.armed == action:
            return True
        state.armed = action
        return False

    # ---- opening, creating, saving ---------------------------------------------------------
    def on_tab_open(self, state, query, tag, flags, max_length, request: gr.Request):
        if state is not None:
            return self._do(request, state, (query, tag, flags, max_length), lambda s: None, revalidate=False)

        def first_open(_):
            from studio.data.editor import open_dataset
            from studio.data.store import STARTER_NAME

            store = self.store()
            store.seed_starter()  # first start: the starter dataset is there to begin with
            names = [d.name for d in store.list()]
            if not names:
                return {"state": None, "status": "No datasets yet: create one, then import or add conversations."}
            name = STARTER_NAME if STARTER_NAME in names else names[0]
            return {"state": open_dataset(store, name), "turn": 1}

        return self._do(request, state, (query, tag, flags, max_length), first_open)

    def open_dataset(self, state, query, tag, flags, max_length, name, request: gr.Request):
        def go(s):
            from studio.data.editor import open_dataset

            if not name:
                raise ValueError("Pick a dataset to open.")
            if not self._armed(s, f"open:{name}"):
                return {"status": f"⚠️ You have unsaved changes in '{s.name}'. Save them, or press Open again to discard them."}
            return {"state": open_dataset(self.store(), name), "turn": 1, "status": f"Opened '{name}'."}

        return self._do(request, state, (query, tag, flags, max_length), go)

    def create(self, state, query, tag, flags, max_length, new_name, request: gr.Request):
        def go(s):
            from studio.data.editor import new_dataset

            if not self._armed(s, f"create:{new_name}"):
                return {"status": f"⚠️ You have unsaved changes in '{s.name}'. Save them, or press Create again to discard them."}
            fresh = new_dataset(self.store(), new_name)
            return {"state": fresh, "turn": 1, "status": f"New dataset '{fresh.name}': add or import conversations, then Save."}

        return self._do(request, state, (query, tag, flags, max_length), go)

    def save(self, state, query, tag, flags, max_length, note, request: gr.Request):
        return self._save(request, state, (query, tag, flags, max_length), note, as_new=False)

    def save_as_new(self, state, query, tag, flags, max_length, note, request: gr.Request):
        return self._save(request, state, (query, tag, flags, max_length), note, as_new=True)

    def _save(self, request, state, filters, note, as_new: bool):
        def go(s):
            from studio.data import editor

            if s is None:
                raise ValueError("Open or create a dataset first.")
            who = self.ctx.caller(request).name
            version = editor.save(self.store(), s, note or "", who, as_new_version=as_new)
            errors = len(s.report.errors) if s.report else 0
            warn = f" It has {errors} validation error(s): training will refuse it until they are fixed." if errors else ""
            return {"status": f"✅ Saved '{s.name}' as version {version}.{warn}"}

        return self._do(request, state, filters, go, revalidate=False)

    def undo(self, state, query, tag, flags, max_length, request: gr.Request):
        def go(s):
            from studio.data import editor

            if s is None or not editor.undo(s):
                raise ValueError("Nothing to undo.")
            return {"status": "Undone.", "turn": 1}

        return self._do(request, state, (query, tag, flags, max_length), go)

    # ---- selection and filters -------------------------------------------------------------
    def select_row(self, state, query, tag, flags, max_length, evt: gr.SelectData, request: gr.Request):
        def go(s):
            number = int((evt.row_value or [0])[0] or 0)
            if s is None or not 1 <= number <= len(s.convs):
                raise ValueError("That row is not a conversation.")
            s.selected = number - 1
            return {"turn": 1}

        return self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)

    def select_turn(self, state, query, tag, flags, max_length, evt: gr.SelectData, request: gr.Request):
        self.ctx.require_admin(request)
        if state is None or not evt.row_value:
            return {}
        return self._turn_fields(state, int(evt.row_value[0]))

    def filter(self, state, query, tag, flags, max_length, request: gr.Request):
        return self._do(request, state, (query, tag, flags, max_length), lambda s: None, revalidate=False)

    def validate(self, state, query, tag, flags, max_length, request: gr.Request):
        def go(s):
            from studio.data import editor

            if s is None:
                raise ValueError("Open or create a dataset first.")
            editor.revalidate(s, self.tokenizer(), int(max_length or 0) or None, force=True, region=self.settings.region)
            return {"status": "Validated."}

        return self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)

    def jump_to_issue(self, state, query, tag, flags, max_length, evt: gr.SelectData, request: gr.Request):
        def go(s):
            number = int((evt.row_value or [0])[0] or 0)
            if s is None or not 1 <= number <= len(s.convs):
                return {"status": "That issue concerns the whole file, not one conversation."}
            s.selected = number - 1
            return {"turn": 1, "extra": {self.w.subtabs: gr.Tabs(selected=CONVERSATIONS_TAB)}}

        return self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)

    # ---- editing (each change is undoable and revalidated) ---------------------------------
    def _edit(self, request, state, filters, change, status: str = ""):
        def go(s):
            if s is None:
                raise ValueError("Open or create a dataset first.")
            turn = change(s)
            s.armed = ""
            return {"status": status, "turn": turn if isinstance(turn, int) else 1}

        return self._do(request, state, filters, go)

    def turn_save(self, state, query, tag, flags, max_length, turn_no, role, content, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length),
                          lambda s: editor.edit_turn(s, turn_no, role, content) or int(turn_no), "Turn updated.")

    def turn_add(self, state, query, tag, flags, max_length, turn_no, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), lambda s: editor.add_turn(s, turn_no), "Turn added.")

    def turn_delete(self, state, query, tag, flags, max_length, turn_no, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length),
                          lambda s: editor.delete_turn(s, turn_no) or max(1, int(turn_no) - 1), "Turn deleted.")

    def turn_up(self, state, query, tag, flags, max_length, turn_no, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), lambda s: editor.move_turn(s, turn_no, -1), "Turn moved up.")

    def turn_down(self, state, query, tag, flags, max_length, turn_no, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), lambda s: editor.move_turn(s, turn_no, 1), "Turn moved down.")

    def set_tags(self, state, query, tag, flags, max_length, tags, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), lambda s: editor.set_tags(s, tags), "Tags set.")

    def conv_add(self, state, query, tag, flags, max_length, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), editor.add_conversation,
                          "Conversation added: fill in its turns below.")

    def conv_duplicate(self, state, query, tag, flags, max_length, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), editor.duplicate_conversation, "Conversation duplicated.")

    def conv_delete(self, state, query, tag, flags, max_length, request: gr.Request):
        from studio.data import editor

        return self._edit(request, state, (query, tag, flags, max_length), editor.delete_conversation,
                          "Conversation deleted (Undo brings it back).")
