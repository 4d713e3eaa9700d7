"""Dataset tab handlers for import, export, split, Hub push and versions (a mixin of DatasetHandlers).

Same conventions as ``dataset_handlers``: admin check first (inside ``_do``), a dict of updates back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr


class DatasetIOHandlers:
    # ---- import, export, split, push -------------------------------------------------------
    def import_upload(self, state, query, tag, flags, max_length, upload, fmt, mode, real=False, request: gr.Request = None):
        if not upload:
            return self._do(request, state, (query, tag, flags, max_length), lambda s: {"status": "❌ Choose a file to import first."}, False)
        return self._import(request, state, (query, tag, flags, max_length), str(upload), fmt or "auto", mode, bool(real))

    def import_hf(self, state, query, tag, flags, max_length, source, mode, real=False, request: gr.Request = None):
        if not (source or "").strip():
            return self._do(request, state, (query, tag, flags, max_length), lambda s: {"status": "❌ Give a dataset folder or hub id."}, False)
        return self._import(request, state, (query, tag, flags, max_length), source.strip(), "hf", mode, bool(real))

    def _import(self, request, state, filters, source: str, fmt: str, mode: str, real: bool = False):
        def go(s):
            from studio.data import editor
            from studio.data.formats import load_conversations

            if s is None:
                raise ValueError("Open or create a dataset first, then import into it.")
            result = load_conversations(source, fmt, self.settings.upload_limit_bytes)  # raises before touching anything
            conversations, notes = result.conversations, list(result.notes)
            if real:  # real conversations: names, numbers and other details are replaced before anyone edits them
                from studio.data.deid import deidentify_rows

                conversations, report = deidentify_rows(conversations)
                notes.append(f"de-identified {report['replaced']} detail(s)")
            editor.import_conversations(s, conversations, append=mode == "append")
            notes = f" Notes: {'; '.join(notes)}." if notes else ""
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
        from studio.data.placeholders import render_rows

        return render_rows(s.convs, self.settings.region).rows  # what leaves the studio has real resources in it

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
