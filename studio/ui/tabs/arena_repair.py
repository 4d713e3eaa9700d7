"""Arena › "What would you have said?": after voting, a rater writes a better answer or edits the winner.

The repair is stored with the battle and the vote (``studio.compare.feedback``) and reaches the admins'
feedback inbox in the Dataset tab.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from studio.ui.context import AppContext


def build(ctx: AppContext, battle_id: gr.Textbox, rater: gr.Textbox, rater_id: Callable) -> tuple[gr.Accordion, Callable]:
    """The repair box; returns the accordion and ``prefill(battle_id)`` for the vote event to chain."""
    settings = ctx.settings
    with gr.Accordion("What would you have said? (optional)", open=False, visible=False,
                      elem_id="arena-repair-panel") as panel:
        gr.Markdown("Edit the answer you chose, or write the one you would have given. Clinicians review it "
                    "before it is used for training, and names or numbers are removed first.")
        box = gr.Textbox(label="A better answer", lines=6, max_lines=30, elem_id="arena-repair")
        save = gr.Button("Save better answer", elem_id="arena-repair-save")
        note = gr.Markdown(elem_id="arena-repair-note")

    def prefill(bid: str):
        from studio.compare.feedback import winning_answer

        return gr.Accordion(visible=bool(bid), open=False), winning_answer(settings, bid), ""

    def save_repair(bid: str, text: str, typed_name: str, request: gr.Request):
        from studio.compare.feedback import FeedbackError, add_repair

        name = rater_id(typed_name, request)
        try:
            add_repair(settings, bid, text, name)
        except FeedbackError as exc:
            raise gr.Error(str(exc)) from None
        return "Saved. Thank you: an admin will review it."

    save.click(save_repair, [battle_id, box, rater], note, api_name="arena_repair")
    return panel, lambda: (prefill, [battle_id], [panel, box, note])
