"""Dataset tab (admins): browse, edit, validate, preview, import/export, split, push and version datasets.

Each browser session edits its own working copy (``EditorState`` in ``gr.State``); Save writes a
new store version, and a stale base is refused with a clear message and a "save as new version"
button. All logic lives in ``studio.data``; this module is widgets, wiring and formatting.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from studio.data.export import DEFAULT_SPLIT_SEED
from studio.data.store import STARTER_NAME
from studio.ui.context import AppContext
from studio.ui.tabs import dataset_view as view
from studio.ui.tabs import feedback_inbox
from studio.ui.tabs.dataset_handlers import DatasetHandlers

FORMATS = ["auto", "native", "openai", "sharegpt", "alpaca", "csv", "hf"]
FLAGS = ["has errors", "has warnings"]
PRIVATE = {"api_visibility": "private"}


def _names(ctx: AppContext) -> list[str]:
    from studio.data.store import DatasetStore

    store = DatasetStore(ctx.settings)
    try:
        store.seed_starter()  # first start: an empty store gets the starter dataset
    except (OSError, ValueError) as exc:  # never block the app on it; the tab says what is missing
        import logging

        logging.getLogger(__name__).warning("starter dataset not seeded: %s", exc)
    return [d.name for d in store.list()]


def build(ctx: AppContext) -> DatasetHandlers:
    w = SimpleNamespace()
    w.state = gr.State(None)
    names = _names(ctx)
    with gr.Row(equal_height=True):
        default = STARTER_NAME if STARTER_NAME in names else (names[0] if names else None)
        w.name = gr.Dropdown(names, value=default, label="Dataset", elem_id="ds-name", scale=2,
                             allow_custom_value=True)
        w.open = gr.Button("Open", elem_id="ds-open", scale=0)
        w.new_name = gr.Textbox(label="New dataset name", placeholder="e.g. clinic-tone-v2", elem_id="ds-new-name", scale=2)
        w.create = gr.Button("Create", elem_id="ds-create", scale=0)
    w.info = gr.Markdown(view.version_info(None), elem_id="ds-version-info")
    with gr.Row(equal_height=True):
        w.note = gr.Textbox("", label="Save note (optional)", elem_id="ds-save-note", scale=3)
        w.save = gr.Button("Save as new version", variant="primary", elem_id="ds-save", scale=1)
        w.save_new = gr.Button("Save my edits as a new version anyway", variant="stop", visible=False, elem_id="ds-save-new", scale=1)
        w.undo = gr.Button("Undo", elem_id="ds-undo", scale=0)
    w.status = gr.Markdown(elem_id="ds-status")

    with gr.Tabs(elem_id="ds-subtabs") as w.subtabs:
        with gr.Tab("Conversations", id="ds-tab-conversations"):
            _conversations_panel(w)
        with gr.Tab("Validation", id="ds-tab-validation"):
            _validation_panel(w)
        with gr.Tab("Import / export", id="ds-tab-io"):
            _io_panel(w)
        with gr.Tab("Versions", id="ds-tab-versions"):
            _versions_panel(w)
        with gr.Tab("Feedback inbox", id="ds-tab-inbox"):
            feedback_inbox.build(ctx)

    h = DatasetHandlers(ctx, w)
    _wire(ctx, w, h)
    return h


def _conversations_panel(w: SimpleNamespace) -> None:
    with gr.Row(equal_height=True):
        w.search = gr.Textbox("", label="Search text or tags", elem_id="ds-search", scale=3)
        w.tag = gr.Dropdown(["(all)"], value="(all)", label="Tag", elem_id="ds-tag", scale=1)
        w.flags = gr.CheckboxGroup(FLAGS, value=[], label="Only", elem_id="ds-filter", scale=1)
    w.table = gr.Dataframe(headers=view.TABLE_HEADERS, datatype=["number", "str", "number", "str", "str", "number", "number"],
                           interactive=False, wrap=True, max_height=360, elem_id="ds-table",
                           column_widths=["6%", "20%", "7%", "47%", "8%", "6%", "6%"], label="Conversations (click a row to edit)")
    with gr.Row():
        w.conv_add = gr.Button("Add conversation", elem_id="ds-conv-add", size="sm")
        w.conv_dup = gr.Button("Duplicate", elem_id="ds-conv-dup", size="sm")
        w.conv_del = gr.Button("Delete conversation", elem_id="ds-conv-del", size="sm", variant="stop")
    with gr.Row():
        with gr.Column(scale=3):
            w.title = gr.Markdown(view.conversation_title(None), elem_id="ds-conv-title")
            with gr.Row(equal_height=True):
                w.tags = gr.Textbox(label="Tags (comma-separated)", elem_id="ds-tags", scale=4)
                w.tags_apply = gr.Button("Set tags", elem_id="ds-tags-apply", scale=1)
            w.turns = gr.Dataframe(headers=view.TURN_HEADERS, datatype=["number", "str", "str"], interactive=False, wrap=True,
                                   column_widths=["8%", "14%", "78%"],
                                   max_height=420, elem_id="ds-turns", label="Turns (click one to edit it below)")
            with gr.Row(equal_height=True):
                w.turn_no = gr.Number(1, label="Turn", precision=0, minimum=1, elem_id="ds-turn-no", scale=1)
                w.turn_role = gr.Dropdown(["system", "user", "assistant"], value="user", label="Role", elem_id="ds-turn-role", scale=1)
            w.turn_content = gr.Textbox(label="Content", lines=5, max_lines=20, elem_id="ds-turn-content")
            with gr.Row():
                w.turn_save = gr.Button("Update turn", variant="primary", elem_id="ds-turn-save", size="sm")
                w.turn_add = gr.Button("Add turn below", elem_id="ds-turn-add", size="sm")
                w.turn_up = gr.Button("Move up", elem_id="ds-turn-up", size="sm")
                w.turn_down = gr.Button("Move down", elem_id="ds-turn-down", size="sm")
                w.turn_del = gr.Button("Delete turn", elem_id="ds-turn-del", size="sm", variant="stop")
            w.conv_issues = gr.Markdown(elem_id="ds-conv-issues")
        with gr.Column(scale=2):
            gr.Markdown("#### Template preview\nThe conversation as the base model's chat template renders it.")
            w.preview_count = gr.Markdown(elem_id="ds-preview-count")
            w.preview = gr.HTML(elem_id="ds-preview")


def _validation_panel(w: SimpleNamespace) -> None:
    with gr.Row(equal_height=True):
        w.max_length = gr.Number(1024, label="max_length (tokens)", precision=0, minimum=16, elem_id="ds-max-length", scale=1)
        w.validate = gr.Button("Validate now", elem_id="ds-validate", scale=0)
    w.summary = gr.Markdown(view.summary(None), elem_id="ds-summary")
    w.hist = gr.BarPlot(view.histogram_frame(None, None), x="bin", y="count", color="side", title="Token length per conversation",
                        x_title="tokens", y_title="conversations", sort=None, elem_id="ds-hist",
                        color_map={"within max_length": "#4c9f70", "over max_length": "#d1495b"})
    w.issues = gr.Dataframe(headers=view.ISSUE_HEADERS, datatype=["number", "str", "str", "str"], interactive=False, wrap=True,
                            max_height=420, elem_id="ds-issues", label="Issues (click one to jump to its conversation)")


def _io_panel(w: SimpleNamespace) -> None:
    gr.Markdown("#### Import into the editor (then review and Save)")
    with gr.Row():
        w.upload = gr.File(label="File (JSONL, JSON, CSV)", file_types=[".jsonl", ".json", ".csv", ".tsv", ".txt"],
                           elem_id="ds-upload", scale=2)
        with gr.Column(scale=1):
            w.format = gr.Dropdown(FORMATS, value="auto", label="Format", elem_id="ds-format")
            w.mode = gr.Radio(["replace", "append"], value="replace", label="Into the editor", elem_id="ds-import-mode")
            w.real = gr.Checkbox(False, label="Real conversations: remove names, numbers and other details first",
                                 elem_id="ds-import-real")
            w.import_file = gr.Button("Import file", elem_id="ds-import")
    with gr.Row(equal_height=True):
        w.hf_source = gr.Textbox(label="…or a Hugging Face dataset (folder saved with save_to_disk, or hub id when online)",
                                 elem_id="ds-hf-source", scale=3)
        w.import_hf = gr.Button("Import dataset", elem_id="ds-import-hf", scale=1)
    gr.Markdown("#### Export, split, push")
    with gr.Row():
        w.with_text = gr.Checkbox(False, label="Add a rendered 'text' column (base model's chat template)", elem_id="ds-with-text")
        w.export = gr.Button("Export JSONL", elem_id="ds-export")
    with gr.Row():
        w.eval_fraction = gr.Slider(0, 0.5, value=0.1, step=0.05, label="Eval fraction", elem_id="ds-eval-frac")
        w.seed = gr.Number(DEFAULT_SPLIT_SEED, label="Seed", precision=0, elem_id="ds-seed")
        w.split = gr.Button("Split train/eval", elem_id="ds-split")
    w.download = gr.File(label="Download", file_count="multiple", interactive=False, elem_id="ds-download")
    with gr.Row(equal_height=True):
        w.hub_repo = gr.Textbox(label="Hub dataset repo", placeholder="your-name/companion-data", elem_id="ds-hub-repo")
        w.hub_token = gr.Textbox(label="HF token (write; used once, never stored; blank = HF_TOKEN)", type="password",
                                 elem_id="ds-hub-token")
        w.hub_private = gr.Checkbox(True, label="Private repo", elem_id="ds-hub-private")
        w.push = gr.Button("Push to Hub", elem_id="ds-push")


def _versions_panel(w: SimpleNamespace) -> None:
    w.versions = gr.Dataframe(headers=view.VERSION_HEADERS, datatype=["number", "number", "str", "str", "str"], interactive=False,
                              elem_id="ds-versions", label="Versions (newest first; click one to pick it)")
    with gr.Row(equal_height=True):
        w.version_pick = gr.Number(None, label="Version", precision=0, minimum=1, elem_id="ds-version-pick")
        w.diff = gr.Button("Diff with the editor's base", elem_id="ds-diff")
        w.view_version = gr.Button("Open in editor", elem_id="ds-view-version")
        w.restore = gr.Button("Restore as newest", elem_id="ds-restore", variant="stop")
    w.diff_out = gr.Markdown(elem_id="ds-diff-out")


def _wire(ctx: AppContext, w: SimpleNamespace, h: DatasetHandlers) -> None:
    base = [w.state, w.search, w.tag, w.flags, w.max_length]
    out = h.outputs

    def on(trigger, fn, extra=(), **kwargs):
        trigger(fn, [*base, *extra], out, **({"api_visibility": "private"} | kwargs))

    on(w.open.click, h.open_dataset, [w.name], api_name="dataset_open", api_visibility="public")
    on(w.create.click, h.create, [w.new_name])
    on(w.save.click, h.save, [w.note], api_name="dataset_save", api_visibility="public")
    on(w.save_new.click, h.save_as_new, [w.note])
    on(w.undo.click, h.undo)
    on(w.table.select, h.select_row)
    on(w.turns.select, h.select_turn)
    for trigger in (w.search.submit, w.tag.change, w.flags.change):
        on(trigger, h.filter)
    on(w.turn_save.click, h.turn_save, [w.turn_no, w.turn_role, w.turn_content])
    on(w.turn_add.click, h.turn_add, [w.turn_no])
    on(w.turn_del.click, h.turn_delete, [w.turn_no])
    on(w.turn_up.click, h.turn_up, [w.turn_no])
    on(w.turn_down.click, h.turn_down, [w.turn_no])
    on(w.tags_apply.click, h.set_tags, [w.tags])
    on(w.conv_add.click, h.conv_add)
    on(w.conv_dup.click, h.conv_duplicate)
    on(w.conv_del.click, h.conv_delete)
    on(w.validate.click, h.validate)
    on(w.max_length.submit, h.validate)
    on(w.issues.select, h.jump_to_issue)
    on(w.import_file.click, h.import_upload, [w.upload, w.format, w.mode, w.real], api_name="dataset_import",
       api_visibility="public")
    on(w.import_hf.click, h.import_hf, [w.hf_source, w.mode, w.real])
    on(w.export.click, h.export, [w.with_text], api_name="dataset_export", api_visibility="public")
    on(w.split.click, h.split, [w.eval_fraction, w.seed, w.with_text])
    on(w.push.click, h.push, [w.hub_repo, w.hub_token, w.hub_private, w.eval_fraction, w.seed])
    on(w.versions.select, h.pick_version)
    on(w.diff.click, h.diff, [w.version_pick])
    on(w.view_version.click, h.view_version, [w.version_pick])
    on(w.restore.click, h.restore, [w.version_pick])

    def wire_tab_select() -> None:
        for tab in getattr(ctx.tabs, "children", []):
            if getattr(tab, "id", None) == "dataset":
                tab.select(h.on_tab_open, base, out, api_visibility="private")

    ctx.after_build(wire_tab_select)
