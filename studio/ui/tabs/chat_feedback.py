"""Chat › thumbs up or down on a reply, with an optional better answer, for signed-in users.

Each rating is stored at once (``studio.compare.feedback``); the better answer, if the person writes
one, is added to that rating. Both reach the admins' feedback inbox in the Dataset tab.
"""

from __future__ import annotations

import gradio as gr

from studio.ui.context import AppContext


def _turn_pair(history: list[dict], index) -> tuple[str, str]:
    """(the person's message, the rated reply) for the chatbot message at ``index``.

    The chatbot groups consecutive assistant messages into one bubble and reports the group's first
    message, which for a first reply is the disclosure: the reply is the first untitled assistant message
    from there, before the next user turn.
    """
    from studio.models.generate import message_text

    i = index[0] if isinstance(index, list | tuple) else index
    if not isinstance(i, int) or not 0 <= i < len(history):
        return "", ""
    reply = next((t for t in history[i:] if t.get("role") != "assistant" or not (t.get("metadata") or {}).get("title")), None)
    if reply is None or reply.get("role") != "assistant":
        return "", ""  # the disclosure and the sources are not the model's words
    prompt = next((message_text(t.get("content")) for t in reversed(history[:i]) if t.get("role") == "user"), "")
    return prompt, message_text(reply.get("content"))


def build(ctx: AppContext, chatbot: gr.Chatbot, model: gr.Dropdown) -> None:
    settings = ctx.settings
    item = gr.State(None)
    with gr.Accordion("Your rating", open=True, visible=False, elem_id="chat-feedback-panel") as panel:
        note = gr.Markdown(elem_id="chat-feedback-note")
        box = gr.Textbox(label="A better answer (optional): what should the companion have said?", lines=4,
                         elem_id="chat-feedback-repair")
        save = gr.Button("Save better answer", size="sm", elem_id="chat-feedback-save")

    def on_like(history, model_ref, data: gr.LikeData, request: gr.Request):
        from studio.compare.feedback import FeedbackError, add_chat_feedback

        who = ctx.caller(request)
        if not who.signed_in:
            raise gr.Error("Sign in (or open your invite link) to rate replies.")
        prompt, answer = _turn_pair(list(history or []), data.index)
        if not answer:
            raise gr.Error("Only the companion's replies can be rated.")
        if data.liked not in (True, False):  # the same thumb clicked again: the rating is withdrawn
            from studio.compare.feedback import retract_chat_rating

            retract_chat_rating(settings, who.name, prompt, answer)
            return None, gr.Accordion(visible=False), "", ""
        vote = "up" if data.liked is True else "down"
        try:
            row = add_chat_feedback(settings, model_ref or "base", prompt, answer, vote, who.name)
        except FeedbackError as exc:
            raise gr.Error(str(exc)) from None
        thanks = "Thanks: noted as helpful." if vote == "up" else "Thanks: noted as not helpful."
        return row["id"], gr.Accordion(visible=True), thanks + " You can add a better answer below.", ""

    def save_repair(item_id, text, request: gr.Request):
        from studio.compare.feedback import FeedbackError, set_chat_repair

        who = ctx.caller(request)
        if item_id is None:
            raise gr.Error("Rate a reply first (thumbs up or down).")
        try:
            set_chat_repair(settings, item_id, text, who.name)
        except FeedbackError as exc:
            raise gr.Error(str(exc)) from None
        return "Saved. An admin will review it before anything is used for training."

    chatbot.like(on_like, [chatbot, model], [item, panel, note, box], api_visibility="private")
    save.click(save_repair, [item, box], note, api_visibility="private")
