"""Chat tab: streaming replies from the base model or a tuned run, with cited knowledge-base passages.

Thin by design: widget values go to ``studio.rag.chat.chat_stream`` (crisis gate, retrieval,
generation, output guard) and its updates are formatted into Chatbot messages. UI-only bubbles (the
disclosure notice, the sources list) carry a metadata title, so they render as collapsible panels
and ``clean_history`` keeps them out of what the model sees.
"""

from __future__ import annotations

import gradio as gr

from studio.safety import DISCLOSURE, first_message_notice
from studio.safety.resources import REGIONS
from studio.ui.context import AppContext
from studio.ui.tabs import chat_feedback, crisis_replies

LOADING = "⏳ loading model… (first use only)"
DISCLOSURE_TITLE = f"ℹ️ {DISCLOSURE}"


def region_choices() -> list[tuple[str, str]]:
    """The regions with verified crisis lines (the safety package owns the list)."""
    return [(f"{region.name} ({code})", code) for code, region in REGIONS.items()]


def model_choices(settings) -> list[tuple[str, str]]:
    """(label, model ref): the studio's one list (studio.compare.models)."""
    from studio.compare.models import model_options

    return model_options(settings)


def sources_message(sources) -> dict:
    """One collapsible bubble: numbered citations in the title, the snippets inside."""
    from studio.rag.prompt import citations_line

    body = []
    for source in sources:
        heading = f" — {source.heading}" if source.heading else ""
        snippet = source.text if len(source.text) <= 700 else source.text[:700].rsplit(" ", 1)[0] + " …"
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in snippet.splitlines())
        body.append(f"**{source.label()}**{heading}\n\n{quoted}")
    return {"role": "assistant", "content": "\n\n".join(body), "metadata": {"title": f"📚 Sources: {citations_line(sources)}"}}


def build(ctx: AppContext) -> None:
    from studio.models.system_prompt import DEFAULT_SYSTEM, load_system_prompt

    settings = ctx.settings
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(elem_id="chat-bot", height=460, label="Conversation")
            with gr.Row():
                prompt = gr.Textbox(elem_id="chat-input", placeholder="Type a message and press Enter", scale=5, show_label=False)
                send = gr.Button("Send", elem_id="chat-send", variant="primary", scale=1)
            clear = gr.Button("Clear", elem_id="chat-clear", size="sm")
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown(model_choices(settings), value="base", label="Model", elem_id="chat-model", allow_custom_value=True, scale=4)
                refresh = gr.Button("↻", elem_id="chat-model-refresh", size="sm", scale=1, min_width=40)
            use_kb = gr.Checkbox(True, label="Use knowledge base (cite clinic documents)", elem_id="chat-rag")
            region = gr.Dropdown(region_choices(), value=settings.region, label="Crisis resources for", elem_id="chat-region", allow_custom_value=True)
            system = gr.Textbox(load_system_prompt(settings), label="System prompt (admins can edit)", lines=6, elem_id="chat-system")
            with gr.Row(visible=False) as system_actions:
                save_system = gr.Button("Save system prompt", size="sm", elem_id="chat-system-save")
                reset_system = gr.Button("Reset to default", size="sm", elem_id="chat-system-reset")
            with gr.Accordion("Generation settings", open=False):
                temperature = gr.Slider(0, 1.5, value=0.7, step=0.05, label="Temperature (0 = greedy)")
                top_p = gr.Slider(0.1, 1, value=0.9, step=0.05, label="Top-p")
                max_new = gr.Slider(16, 1024, value=256, step=16, label="Max new tokens")
                seed = gr.Number(0, label="Seed", precision=0)
    chat_feedback.build(ctx, chatbot, model)
    crisis_panel = crisis_replies.build(ctx, region_choices())

    def respond(message, history, model_ref, rag, region_code, system_prompt, temp, top, max_tokens, seed_value, request: gr.Request):
        from studio.models.generate import GenerationError, GenerationSettings
        from studio.models.loader import ModelLoadError, finished_run_or_base
        from studio.rag.chat import chat_stream
        from studio.rag.embedder import EmbedderError
        from studio.rag.store import StoreError

        if not settings.anonymous_chat:  # STUDIO_ANONYMOUS_CHAT=0: visitors must sign in (or use an invite) to chat
            from studio.ui.auth import CHAT_NEEDS_SIGN_IN

            ctx.require_signed_in(request, CHAT_NEEDS_SIGN_IN)
        # Only an admin's edits to the system prompt take effect; everyone else gets the saved one.
        is_admin = ctx.caller(request).is_admin
        custom = system_prompt if is_admin else None
        history = list(history or [])
        try:
            if not is_admin:  # an admin may try any local folder or Hub id; a rater picks from the list
                model_ref = finished_run_or_base(model_ref, settings)
            gen = GenerationSettings(max_new_tokens=int(max_tokens), temperature=float(temp), top_p=float(top), seed=int(seed_value or 0))
            updates = chat_stream(message, history, model_ref or "base", settings, system=custom, rag=bool(rag), gen=gen, region=region_code or None)
            first = not any(turn.get("role") == "user" for turn in history)
            history.append({"role": "user", "content": message})
            if first:  # the companion's first reply opens with the disclosure (a titled, UI-only bubble)
                notice = first_message_notice(region_code or settings.region, settings.clinic_phone)
                history.append({"role": "assistant", "content": notice, "metadata": {"title": DISCLOSURE_TITLE}})
            history.append({"role": "assistant", "content": ""})
            for update in updates:
                history[-1]["content"] = LOADING if update.status == "loading" else update.text
                if update.status == "done":
                    if update.notice:
                        gr.Warning(update.notice)
                    if update.sources:
                        history.append(sources_message(update.sources))
                yield history, ""
        except (GenerationError, ModelLoadError, EmbedderError, StoreError) as exc:
            raise gr.Error(str(exc)) from None

    def save(text, request: gr.Request):
        from studio.models.system_prompt import save_system_prompt

        ctx.require_admin(request)
        try:
            saved = save_system_prompt(settings, text)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        gr.Info("System prompt saved; it applies to every chat from now on.")
        return saved

    def reset(request: gr.Request):
        from studio.models.system_prompt import save_system_prompt

        ctx.require_admin(request)
        return save_system_prompt(settings, DEFAULT_SYSTEM)

    def on_open(request: gr.Request):
        """Per visitor: fresh model list, saved system prompt, editing only for admins."""
        is_admin = ctx.caller(request).is_admin
        return (
            gr.Dropdown(choices=model_choices(settings)),
            gr.Textbox(value=load_system_prompt(settings), interactive=is_admin),
            gr.Row(visible=is_admin),
            gr.Accordion(visible=is_admin),
        )

    inputs = [prompt, chatbot, model, use_kb, region, system, temperature, top_p, max_new, seed]
    gr.on([prompt.submit, send.click], respond, inputs, [chatbot, prompt], api_name="chat", **ctx.generation)
    clear.click(lambda: ([], ""), None, [chatbot, prompt], queue=False, api_visibility="private")
    save_system.click(save, [system], [system], api_name="chat_system_save", api_visibility="private")
    reset_system.click(reset, None, [system], api_name="chat_system_reset", api_visibility="private")
    opened = [model, system, system_actions, crisis_panel]
    refresh.click(on_open, None, opened, queue=False, api_visibility="private")

    def wire_tab_events() -> None:
        from gradio.context import Context

        for tab in getattr(ctx.tabs, "children", []):
            if getattr(tab, "id", None) == "chat":
                tab.select(on_open, None, opened, queue=False, api_visibility="private")
        # Chat is the first tab on screen, so also fill it for each visitor when the page loads.
        if Context.root_block is not None:
            Context.root_block.load(on_open, None, opened, queue=False, api_visibility="private")

    ctx.after_build(wire_tab_events)
