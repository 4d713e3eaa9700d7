"""Chat tab: streaming replies from the base model or a tuned run."""

from __future__ import annotations

import gradio as gr

from studio.ui.context import AppContext

DEFAULT_SYSTEM = (
    "You are a warm, careful AI companion for people in ketamine-assisted therapy. You are an AI "
    "companion, not a therapist or medical provider. You help with preparation, integration, "
    "psychoeducation and coping. You never give dosing or medication advice and never diagnose; "
    "you refer those questions to the person's prescribing clinician or care team."
)
LOADING = "⏳ loading model… (first use only)"


def build(ctx: AppContext) -> None:
    settings = ctx.settings
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(elem_id="chat-bot", height=460, label="Conversation")
            with gr.Row():
                prompt = gr.Textbox(elem_id="chat-input", placeholder="Type a message and press Enter", scale=5, show_label=False)
                send = gr.Button("Send", elem_id="chat-send", variant="primary", scale=1)
            clear = gr.Button("Clear", elem_id="chat-clear", size="sm")
        with gr.Column(scale=1):
            model = gr.Dropdown(["base"], value="base", label="Model", elem_id="chat-model", allow_custom_value=True)
            system = gr.Textbox(DEFAULT_SYSTEM, label="System prompt", lines=6, elem_id="chat-system")
            with gr.Accordion("Generation settings", open=False):
                temperature = gr.Slider(0, 1.5, value=0.7, step=0.05, label="Temperature (0 = greedy)")
                top_p = gr.Slider(0.1, 1, value=0.9, step=0.05, label="Top-p")
                max_new = gr.Slider(16, 1024, value=256, step=16, label="Max new tokens")
                seed = gr.Number(0, label="Seed", precision=0)

    def respond(message, history, model_ref, system_prompt, temp, top, max_tokens, seed_value):
        from studio.models.generate import GenerationError, GenerationSettings, build_messages, stream_chat
        from studio.models.loader import ModelLoadError, model_cache, resolve

        history = list(history or [])
        try:
            messages = build_messages(message, system_prompt, history)
            gen = GenerationSettings(max_new_tokens=int(max_tokens), temperature=float(temp), top_p=float(top), seed=int(seed_value or 0))
            ref = resolve(model_ref or "base", settings)
        except (GenerationError, ModelLoadError) as exc:
            raise gr.Error(str(exc)) from None
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        if not model_cache(settings).is_loaded(ref.base):
            history[-1]["content"] = LOADING
            yield history, ""
        try:
            for text in stream_chat(model_ref or "base", messages, gen, settings):
                history[-1]["content"] = text
                yield history, ""
        except (GenerationError, ModelLoadError) as exc:
            raise gr.Error(str(exc)) from None
        yield history, ""

    inputs = [prompt, chatbot, model, system, temperature, top_p, max_new, seed]
    gr.on([prompt.submit, send.click], respond, inputs, [chatbot, prompt], api_name="chat", concurrency_id="model")
    clear.click(lambda: ([], ""), None, [chatbot, prompt], queue=False, api_visibility="private")
