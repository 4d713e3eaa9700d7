"""The Arena tab's "Remote models" panel (admins): register, list and remove ``remote:<name>`` models.

Thin: the core is ``studio.models.remote``; the CLI twin is ``python -m studio remote ...``. The panel
asks for the NAME of the environment variable holding the key (a Space secret), never the key itself.
Handlers are module functions that check the admin role themselves (a hidden panel is not a lock).
"""

from __future__ import annotations

import gradio as gr

from studio.ui.context import AppContext

HEADER = "| model | model id | base URL | key variable |\n|---|---|---|---|\n"


def table(ctx: AppContext, request: gr.Request | None = None) -> str:
    ctx.require_admin(request)
    from studio.models.remote import list_remotes

    rows = [m.to_dict() for m in list_remotes(ctx.settings)]
    if not rows:
        return "No remote models yet."
    return HEADER + "".join(
        f"| `{r['ref']}` | {r['model_id']} | {r['base_url']} | "
        f"{(r['key_env'] + (' (set)' if r['key_set'] else ' (**not set**)')) if r['key_env'] else '—'} |\n" for r in rows)


def add(ctx: AppContext, name: str, base_url: str, model_id: str, key_env: str,
        request: gr.Request | None = None) -> tuple[str, str]:
    ctx.require_admin(request)
    from studio.models.remote import RemoteError, add_remote

    try:
        model = add_remote(ctx.settings, name, base_url, model_id, key_env)
    except RemoteError as exc:
        raise gr.Error(str(exc)) from None
    return f"Registered `{model.ref}`: it is now a choice in Chat, Compare, the arena and the report card.", table(ctx, request)


def remove(ctx: AppContext, name: str, request: gr.Request | None = None) -> tuple[str, str]:
    ctx.require_admin(request)
    from studio.models.remote import RemoteError, remove_remote

    try:
        model = remove_remote(ctx.settings, name)
    except RemoteError as exc:
        raise gr.Error(str(exc)) from None
    return f"Removed `{model.ref}`.", table(ctx, request)


def build(ctx: AppContext) -> gr.Accordion:
    """The panel, hidden until an admin opens the page."""
    with gr.Accordion("Remote models (admins)", open=False, visible=False, elem_id="remote-panel") as panel:
        gr.Markdown("A hosted OpenAI-compatible model (Inference Providers, an Inference Endpoint, TGI, vLLM or another "
                    "studio's `/v1`) becomes the choice `remote:<name>`. Give the **name** of the environment variable "
                    "(a Space secret) that holds its key; the key is never stored.")
        with gr.Row():
            name = gr.Textbox(label="Name", max_lines=1, elem_id="remote-name")
            base_url = gr.Textbox(label="Base URL", max_lines=1, placeholder="https://router.huggingface.co/v1",
                                  elem_id="remote-base-url")
            model_id = gr.Textbox(label="Model id", max_lines=1, elem_id="remote-model-id")
            key_env = gr.Textbox(label="Key variable", max_lines=1, placeholder="HF_TOKEN", elem_id="remote-key-env")
        with gr.Row():
            add_button = gr.Button("Register", size="sm", elem_id="remote-add")
            remove_button = gr.Button("Remove (by name)", size="sm", elem_id="remote-remove")
        note = gr.Markdown(elem_id="remote-note")
        listing = gr.Markdown(elem_id="remote-table")

    def on_add(n: str, url: str, mid: str, env: str, request: gr.Request):
        return add(ctx, n, url, mid, env, request)

    def on_remove(n: str, request: gr.Request):
        return remove(ctx, n, request)

    def on_refresh(request: gr.Request):
        return table(ctx, request)

    def show(request: gr.Request):
        return gr.Accordion(visible=ctx.caller(request).is_admin)

    add_button.click(on_add, [name, base_url, model_id, key_env], [note, listing], api_name="remote_add")
    remove_button.click(on_remove, name, [note, listing], api_name="remote_remove")
    panel.expand(on_refresh, None, listing, queue=False, api_visibility="private")
    gr.on(None, show, None, panel, queue=False, api_visibility="private")
    return panel
