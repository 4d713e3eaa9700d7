"""Event handlers of the Dataset tab. Every handler checks for an admin first, then changes the
session's ``EditorState`` through ``studio.data.editor`` and returns the refreshed view.

Handlers take ``(state, query, tag, flags, max_length, ...inputs, request)`` and return a dict of
component updates, so a failure can update just the status line and leave everything else as is.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr

from studio.ui.context import AppContext
from studio.ui.tabs import dataset_view as view

log = logging.getLogger(__name__)
CONVERSATIONS_TAB = "ds-tab-conversations"


class DatasetHandlers:
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
        from studio.util.redact import redact

        self.ctx.require_admin(request)
        try:
            result = action(state) or {}
        except VersionConflict as exc:
            state.conflict = exc.latest
            return {self.w.state: state, self.w.status: f"⚠️ {exc}", self.w.save_new: gr.Button(visible=True),
                    self.w.info: view.version_info(state, exc.latest)}
        except (DataError, ValueError, OSError) as exc:
            return {self.w.status: f"❌ {redact(str(exc))}"}
        state = result.pop("state", state)
        return self._view(state, filters, revalidate=revalidate, **result)

    def _view(self, state, filters, status: str = "", revalidate: bool = True, turn: int | None = None, extra: dict | None = None) -> dict:
        from studio.data import editor

        query, tag, flags, max_length = filters
        w = self.w
        updates = {w.state: state, w.status: status, w.info: view.version_info(state)}
        if state is None:
            return updates
        tokenizer = self.tokenizer() if revalidate or turn is not None else None
        if revalidate:
            editor.revalidate(state, tokenizer, int(max_length or 0) or None)
        tags = ["(all)", *editor.all_tags(state)]
        conv = state.current
        updates.update({
            w.save_new: gr.Button(visible=state.conflict is not None),
            w.table: view.table(state, query, tag if tag in tags else "(all)", flags or []),
            w.tag: gr.Dropdown(choices=tags, value=tag if tag in tags else "(all)"),
            w.title: view.conversation_title(state),
            w.tags: ", ".join(t for t in (conv or {}).get("tags", []) if isinstance(t, str)) if isinstance(conv, dict) else "",
            w.turns: view.turns(state),
            w.conv_issues: view.conversation_issues(state),
            w.summary: view.summary(state, live=len(state.convs) <= editor.LIVE_LIMIT),
            w.hist: view.histogram_plot(state, int(max_length or 0) or None),
            w.issues: view.issues(state),
        })
        if revalidate or turn is not None:
            updates[w.preview], updates[w.preview_count] = view.preview_parts(state, tokenizer or self.tokenizer())
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
            editor.revalidate(s, self.tokenizer(), int(max_length or 0) or None, force=True)
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

    # ---- import, export, split, push -------------------------------------------------------
    def import_upload(self, state, query, tag, flags, max_length, upload, fmt, mode, request: gr.Request):
        if not upload:
            return self._do(request, state, (query, tag, flags, max_length), lambda s: {"status": "❌ Choose a file to import first."}, False)
        return self._import(request, state, (query, tag, flags, max_length), str(upload), fmt or "auto", mode)

    def import_hf(self, state, query, tag, flags, max_length, source, mode, request: gr.Request):
        if not (source or "").strip():
            return self._do(request, state, (query, tag, flags, max_length), lambda s: {"status": "❌ Give a dataset folder or hub id."}, False)
        return self._import(request, state, (query, tag, flags, max_length), source.strip(), "hf", mode)

    def _import(self, request, state, filters, source: str, fmt: str, mode: str):
        def go(s):
            from studio.data import editor
            from studio.data.formats import load_conversations

            if s is None:
                raise ValueError("Open or create a dataset first, then import into it.")
            result = load_conversations(source, fmt, self.settings.upload_limit_bytes)  # raises before touching anything
            editor.import_conversations(s, result.conversations, append=mode == "append")
            notes = f" Notes: {'; '.join(result.notes)}." if result.notes else ""
            return {"turn": 1, "status": f"Imported {len(result.conversations)} conversations from {Path(source).name} "
                    f"(read as {result.format}, {mode}). Review the validation, then Save.{notes}"}

        return self._do(request, state, filters, go)

    def export(self, state, query, tag, flags, max_length, with_text, request: gr.Request):
        def go(s):
            from studio.data.export import with_text as add_text
            from studio.data.export import write_jsonl

            rows = self._rows(s)
            rows = add_text(rows, self._need_tokenizer()) if with_text else rows
            suffix = "-edited" if s.dirty else ""
            path = write_jsonl(Path(tempfile.mkdtemp(prefix="ds-export-")) / f"{s.name}-v{s.version}{suffix}.jsonl", rows)
            return {"status": f"Exported {len(rows)} conversations" + (" (including unsaved edits)." if s.dirty else "."),
                    "extra": {self.w.download: [str(path)]}}

        return self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)

    def split(self, state, query, tag, flags, max_length, fraction, seed, with_text, request: gr.Request):
        def go(s):
            from studio.data.export import write_split

            rows = self._rows(s)
            out = Path(tempfile.mkdtemp(prefix=f"ds-split-{s.name}-"))
            files = write_split(rows, out, float(fraction), int(seed or 0), self._need_tokenizer() if with_text else None)
            counts = {k: p.read_text(encoding="utf-8").count("\n") for k, p in files.items()}
            return {"status": f"Split {len(rows)} conversations: {counts['train']} train, {counts['eval']} eval (seed {int(seed or 0)}).",
                    "extra": {self.w.download: [str(files["train"]), str(files["eval"])]}}

        return self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)

    def push(self, state, query, tag, flags, max_length, repo, token, private, fraction, seed, request: gr.Request):
        def go(s):
            from studio.data.hub import push_to_hub

            rows = self._rows(s)
            if s.dirty:
                raise ValueError("Save first, so that what is pushed is a stored version.")
            result = push_to_hub(rows, repo, (token or "").strip() or self.settings.hf_token, private=bool(private),
                                 eval_fraction=float(fraction), seed=int(seed or 0), source=f"{s.name} v{s.version}")
            return {"status": f"✅ Pushed {len(rows)} conversations to {result.url} ({'private' if result.private else 'public'}).",
                    "extra": {self.w.hub_token: ""}}

        updates = self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)
        updates[self.w.hub_token] = ""  # the token is used once and never kept, success or not
        return updates

    def _rows(self, s) -> list[dict]:
        if s is None or not s.name:
            raise ValueError("Open or create a dataset first.")
        if not s.convs:
            raise ValueError("The dataset is empty.")
        return s.convs

    def _need_tokenizer(self):
        tokenizer = self.tokenizer()
        if tokenizer is None:
            raise ValueError("The base model's tokenizer could not be loaded, so the 'text' column cannot be rendered.")
        return tokenizer

    # ---- versions --------------------------------------------------------------------------
    def pick_version(self, state, query, tag, flags, max_length, evt: gr.SelectData, request: gr.Request):
        self.ctx.require_admin(request)
        return {self.w.version_pick: int((evt.row_value or [0])[0] or 0) or None}

    def diff(self, state, query, tag, flags, max_length, version, request: gr.Request):
        def go(s):
            base = self._version_arg(s, version)
            d = self.store().diff(s.name, base, s.version)
            text = (f"**v{d['from']} → v{d['to']}**: {d['from_examples']} → {d['to_examples']} conversations · "
                    f"**+{d['added']}** added · **−{d['removed']}** removed · {d['unchanged']} unchanged")
            return {"extra": {self.w.diff_out: text}}

        return self._do(request, state, (query, tag, flags, max_length), go, revalidate=False)

    def view_version(self, state, query, tag, flags, max_length, version, request: gr.Request):
        def go(s):
            from studio.data.editor import open_dataset

            number = self._version_arg(s, version)
            if not self._armed(s, f"view:{number}"):
                return {"status": "⚠️ You have unsaved changes. Save them, or press Open in editor again to discard them."}
            return {"state": open_dataset(self.store(), s.name, number), "turn": 1, "status": f"Viewing v{number}."}

        return self._do(request, state, (query, tag, flags, max_length), go)

    def restore(self, state, query, tag, flags, max_length, version, request: gr.Request):
        def go(s):
            from studio.data.editor import open_dataset

            number = self._version_arg(s, version)
            if s.dirty:
                raise ValueError("You have unsaved changes: save or undo them before restoring a version.")
            store = self.store()
            new = store.restore(s.name, number, expected_version=s.version, author=self.ctx.caller(request).name)
            return {"state": open_dataset(store, s.name), "turn": 1, "status": f"✅ Restored v{number} as v{new}."}

        return self._do(request, state, (query, tag, flags, max_length), go)

    @staticmethod
    def _version_arg(s, version) -> int:
        if s is None or not s.name or not s.version:
            raise ValueError("Open a saved dataset first.")
        if not version:
            raise ValueError("Pick a version (click a row in the versions table).")
        return int(version)
