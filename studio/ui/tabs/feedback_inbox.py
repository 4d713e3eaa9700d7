"""Dataset › Feedback inbox (admins): therapists' repairs and ratings, de-identified, into training data.

Thin: ``studio.compare.feedback`` lists and stores items; ``studio.data.inbox`` de-identifies them and
writes the rows. What was replaced is highlighted in the preview.
"""

from __future__ import annotations

import re
from html import escape

import gradio as gr

from studio.ui.context import AppContext

HEADERS = ["id", "source", "vote", "models", "rater", "flagged", "repair", "prompt"]
VOTES = ["(any)", "a", "b", "tie", "both_bad", "up", "down"]
_PLACEHOLDER = re.compile(r"&lt;[A-Z]+(?:_\d+)?&gt;")


class InboxHandlers:
    def __init__(self, ctx: AppContext):
        self.ctx, self.settings = ctx, ctx.settings

    def refresh(self, status: str, model: str, rater: str, vote: str, flagged_only: bool, request: gr.Request = None):
        self.ctx.require_admin(request)
        from studio.compare.feedback import list_items

        items = list_items(self.settings, status=status or None, model=(model or "").strip() or None,
                           rater=(rater or "").strip() or None, vote=None if vote in (None, "", "(any)") else vote,
                           flagged=True if flagged_only else None)
        return [[i["id"], i["source"], i["vote"], " vs ".join(m for m in (i["model_a"], i["model_b"]) if m), i["rater"],
                 "⚠️" if i["flagged"] else "", "✍️" if i["repair"] else "", _short(i["prompt"])] for i in items]

    def show(self, item_id, request: gr.Request = None) -> str:
        self.ctx.require_admin(request)
        from studio.compare.feedback import FeedbackError
        from studio.data.inbox import preview

        if item_id in (None, ""):
            return "Pick an item (click a row or type its id)."
        try:
            shown = preview(self.settings, int(item_id))
        except (FeedbackError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        item = shown["item"]
        labels = ["Message", "Answer A" if item["source"] == "arena" else "Reply"]
        labels += (["Answer B"] if item["response_b"] else []) + (["Better answer"] if item["repair"] else [])
        parts = [f"**Item {item['id']}** · {item['source']} · vote **{item['vote']}** · {escape(item['rater'])} · {item['ts']}"
                 f" · {len(shown['replaced'])} detail(s) replaced"]
        for label, message in zip(labels, shown["messages"], strict=True):
            body = _PLACEHOLDER.sub(lambda m: f"<mark>{m.group(0)}</mark>", escape(message["content"]))
            parts.append(f"**{label}**<br>{body}")
        return "\n\n".join(parts)

    def decide(self, item_id, action: str, target: str, request: gr.Request = None) -> str:
        admin = self.ctx.require_admin(request).name
        from studio.compare.feedback import FeedbackError
        from studio.data.inbox import accept_preference, accept_sft, reject
        from studio.data.schema import DataError

        try:
            item = int(item_id)
            if action == "sft":
                out = accept_sft(self.settings, item, target, admin)
                return f"Item {item} → dataset `{out['dataset']}` v{out['version']} ({out['replaced']} detail(s) replaced)."
            if action == "preference":
                out = accept_preference(self.settings, item, target, admin)
                return f"Item {item} → preference set `{out['preference_set']}` ({out['rows']} pair(s))."
            reject(self.settings, item, admin)
            return f"Item {item} rejected."
        except (FeedbackError, DataError, ValueError, TypeError) as exc:
            raise gr.Error(str(exc)) from None


def _short(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def build(ctx: AppContext) -> InboxHandlers:
    h = InboxHandlers(ctx)
    with gr.Row():
        status = gr.Dropdown(["new", "accepted", "rejected"], value="new", label="Status", elem_id="inbox-status")
        model = gr.Textbox(label="Model", elem_id="inbox-model")
        rater = gr.Textbox(label="Rater", elem_id="inbox-rater")
        vote = gr.Dropdown(VOTES, value="(any)", label="Vote", elem_id="inbox-vote")
        flagged = gr.Checkbox(False, label="Only with safety flags", elem_id="inbox-flagged")
        refresh = gr.Button("Refresh", elem_id="inbox-refresh")
    table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, max_height=300, elem_id="inbox-table")
    item_id = gr.Number(None, label="Item", precision=0, elem_id="inbox-item")
    shown = gr.Markdown(elem_id="inbox-preview")
    with gr.Row():
        target = gr.Textbox(label="Dataset or preference set name", placeholder="e.g. clinic-repairs", elem_id="inbox-target")
        to_sft = gr.Button("Accept into dataset", variant="primary", elem_id="inbox-accept-sft")
        to_pref = gr.Button("Accept into preference set", elem_id="inbox-accept-pref")
        drop = gr.Button("Reject", variant="stop", elem_id="inbox-reject")
    result = gr.Markdown(elem_id="inbox-result")

    filters = [status, model, rater, vote, flagged]
    refresh.click(h.refresh, filters, table, api_name="inbox_list")
    item_id.change(h.show, item_id, shown, api_visibility="private")
    table.select(_picked_id, None, item_id, queue=False, api_visibility="private")
    for button, action in ((to_sft, "sft"), (to_pref, "preference"), (drop, "reject")):
        button.click(_decider(h, action), [item_id, target], result, api_name=f"inbox_{action}").then(
            h.refresh, filters, table, api_visibility="private")
    return h


def _picked_id(event: gr.SelectData):
    """The id column of the clicked row."""
    row = event.row_value or []
    return row[0] if row else None


def _decider(h: InboxHandlers, action: str):
    def decide(item_id, target, request: gr.Request):
        return h.decide(item_id, action, target, request)

    return decide
