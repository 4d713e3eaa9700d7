"""Admin panel in the Chat tab: edit the fixed crisis replies, one per kind, with a live preview.

Handlers are module functions (tests call them directly); ``build`` lays out the widgets. The
core (``studio.safety.responses``) validates every edit, so a saved reply always keeps the
region's emergency number and crisis lines.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from studio.safety.responses import (
    KIND_LABELS,
    KINDS,
    TemplateError,
    load_crisis_template,
    render_template,
    reset_crisis_template,
    save_crisis_template,
)
from studio.ui.context import AppContext


def kind_choices() -> list[tuple[str, str]]:
    return [(KIND_LABELS[k], k) for k in KINDS]


def show(ctx: AppContext, kind: str, region: str) -> tuple[str, str]:
    """The stored template of a kind and its rendering for a region."""
    template = load_crisis_template(ctx.settings, kind)
    return template, render_template(template, region, ctx.settings.clinic_phone, kind)


def preview(ctx: AppContext, kind: str, region: str, text: str) -> str:
    try:
        return render_template(text, region, ctx.settings.clinic_phone, kind)
    except TemplateError as exc:
        return f"⚠️ {exc}"


def save(ctx: AppContext, kind: str, region: str, text: str, request: gr.Request | None = None) -> tuple[str, str]:
    ctx.require_admin(request)
    try:
        save_crisis_template(ctx.settings, text, kind)
    except TemplateError as exc:
        raise gr.Error(str(exc)) from None
    gr.Info(f"Saved the '{KIND_LABELS[kind]}' crisis reply; it applies to every chat from now on.")
    return show(ctx, kind, region)


def reset(ctx: AppContext, kind: str, region: str, request: gr.Request | None = None) -> tuple[str, str]:
    ctx.require_admin(request)
    reset_crisis_template(ctx.settings, kind)
    return show(ctx, kind, region)


def build(ctx: AppContext, region_choices: list[tuple[str, str]]) -> gr.Accordion:
    """The panel (hidden until an admin opens the page); returns the accordion to toggle."""
    with gr.Accordion("Crisis replies (admins)", open=False, visible=False, elem_id="crisis-replies") as panel:
        gr.Markdown("Urgent messages never reach the model: the person gets one of these fixed replies. "
                    "Keep `{emergency}` and `{resources}`; `{clinic}` and `{disclosure}` are optional.")
        w = SimpleNamespace(
            kind=gr.Dropdown(kind_choices(), value="suicide", label="Kind of crisis", elem_id="crisis-kind"),
            region=gr.Dropdown(region_choices, value=ctx.settings.region, label="Preview for region", elem_id="crisis-region",
                               allow_custom_value=True),
            text=gr.Textbox(lines=10, label="Template", elem_id="crisis-template"),
            preview=gr.Markdown(elem_id="crisis-preview"),
        )
        with gr.Row():
            save_button = gr.Button("Save crisis reply", size="sm", elem_id="crisis-save")
            reset_button = gr.Button("Reset to default", size="sm", elem_id="crisis-reset")
    hidden = {"api_visibility": "private"}
    gr.on([w.kind.change, w.region.change], lambda k, r: show(ctx, k, r), [w.kind, w.region], [w.text, w.preview], queue=False, **hidden)
    w.text.change(lambda k, r, t: preview(ctx, k, r, t), [w.kind, w.region, w.text], [w.preview], queue=False, **hidden)

    def on_save(kind: str, region: str, text: str, request: gr.Request):
        return save(ctx, kind, region, text, request)

    def on_reset(kind: str, region: str, request: gr.Request):
        return reset(ctx, kind, region, request)

    save_button.click(on_save, [w.kind, w.region, w.text], [w.text, w.preview], api_name="crisis_reply_save", **hidden)
    reset_button.click(on_reset, [w.kind, w.region], [w.text, w.preview], api_name="crisis_reply_reset", **hidden)
    ctx.after_build(lambda: _fill_on_load(ctx, w))
    return panel


def _fill_on_load(ctx: AppContext, w: SimpleNamespace) -> None:
    from gradio.context import Context

    if Context.root_block is not None:
        Context.root_block.load(lambda: show(ctx, "suicide", ctx.settings.region), None, [w.text, w.preview], queue=False,
                                api_visibility="private")
