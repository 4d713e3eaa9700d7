"""Which tokens a fine-tune trains on: the assistant-only mask, for any chat template.

``assistant_token_mask(tokenizer, messages) -> (input_ids, mask)`` needs no ``{% generation %}``
markers. It finds the character span of every assistant turn in the rendered text, then maps
spans to tokens with the fast tokenizer's offsets:

1. Prefix diff (exact for well-behaved templates): the text an assistant turn adds is
   ``render(messages[:i+1])`` minus ``render(messages[:i], add_generation_prompt=True)``, trailing
   whitespace after the end-of-turn token excluded. Used when every prefix is a prefix of the full text.
2. Otherwise (templates that render the last turn differently): search each message's content in
   order in the full text; an assistant span is its content plus a special token right after it.

A token is trained when its characters overlap an assistant span. ``input_ids`` are exactly the
tokens of the rendered text (``add_special_tokens=False``), i.e. what the trainer sees.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from studio.data.tokens import render

Span = tuple[int, int]
MAX_PREVIEW_TOKENS = 6000


def assistant_spans(tokenizer, messages: list[dict]) -> tuple[str, list[Span]]:
    """The rendered text and the character spans (start, end) of the assistant turns in it."""
    full = render(tokenizer, messages)
    spans = _spans_by_prefix(tokenizer, messages, full)
    if spans is None:
        spans = _spans_by_search(tokenizer, messages, full)
    return full, spans


def _spans_by_prefix(tokenizer, messages: list[dict], full: str) -> list[Span] | None:
    spans = []
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        if i == 0:
            return None  # nothing to render before it; the search handles this case
        try:
            prompt = render(tokenizer, messages[:i], add_generation_prompt=True)
            upto = render(tokenizer, messages[: i + 1])
        except Exception:  # templates may refuse a prefix (e.g. one ending on a system turn)
            return None
        if not (upto.startswith(prompt) and full.startswith(upto)):
            return None
        end = len(upto.rstrip())
        if end > len(prompt) and message.get("content", "").strip() in upto[len(prompt) : end]:
            spans.append((len(prompt), end))
    return spans


def _spans_by_search(tokenizer, messages: list[dict], full: str) -> list[Span]:
    specials = sorted({t for t in _special_tokens(tokenizer) if t}, key=len, reverse=True)
    spans, cursor = [], 0
    for message in messages:
        content = message.get("content") or ""
        needle = content if content in full[cursor:] else content.strip()
        at = full.find(needle, cursor) if needle else -1
        if at < 0:
            continue
        end = at + len(needle)
        if message.get("role") == "assistant":
            end += next((len(t) for t in specials if full.startswith(t, end)), 0)
            spans.append((at, end))
        cursor = end
    return spans


def _special_tokens(tokenizer) -> list[str]:
    eos = getattr(tokenizer, "eos_token", None)
    rest = list(getattr(tokenizer, "all_special_tokens", []) or [])
    return ([eos] if eos else []) + rest


def _encode_with_offsets(tokenizer, text: str) -> tuple[list[int], list[Span]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def mask_from_spans(offsets: list[Span], spans: list[Span]) -> list[int]:
    """1 for tokens whose characters overlap a span; spans are sorted and disjoint."""
    mask, j = [], 0
    for start, end in offsets:
        while j < len(spans) and spans[j][1] <= start:
            j += 1
        hit = j < len(spans) and end > start and start < spans[j][1] and end > spans[j][0]
        mask.append(1 if hit else 0)
    return mask


def assistant_token_mask(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """``(input_ids, mask)`` for the rendered conversation; mask 1 = trained (assistant) token."""
    full, spans = assistant_spans(tokenizer, messages)
    if getattr(tokenizer, "is_fast", False):
        ids, offsets = _encode_with_offsets(tokenizer, full)
        return ids, mask_from_spans(offsets, spans)
    return _mask_by_pieces(tokenizer, full, spans)


def _mask_by_pieces(tokenizer, full: str, spans: list[Span]) -> tuple[list[int], list[int]]:
    """Slow tokenizers have no offsets: tokenize the pieces between span edges one by one."""
    ids, mask, cursor = [], [], 0
    for start, end in [*spans, (len(full), len(full))]:
        for piece, flag in ((full[cursor:start], 0), (full[start:end], 1)):
            if piece:
                piece_ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
                ids += piece_ids
                mask += [flag] * len(piece_ids)
        cursor = end
    return ids, mask


@dataclass
class TemplatePreview:
    html: str
    trained_tokens: int
    total_tokens: int
    error: str | None = None
    body: str = ""  # the highlighted tokens alone, without the summary line


def template_preview(tokenizer, messages: list[dict]) -> TemplatePreview:
    """Rendered conversation with trained tokens highlighted; zero trained tokens is an error."""
    try:
        full, spans = assistant_spans(tokenizer, messages)
    except Exception as exc:  # the template itself refused the conversation
        msg = f"The chat template cannot render this conversation: {exc}"
        return TemplatePreview(f"<div class='ds-preview-error'>{html.escape(msg)}</div>", 0, 0, msg)
    ids, offsets = _encode_with_offsets(tokenizer, full)
    mask = mask_from_spans(offsets, spans)
    trained = sum(mask)
    error = None
    if trained == 0:
        error = "Zero trained tokens: no assistant text survives the chat template, so training on this example learns nothing."
    body = _STYLE + _token_html(full, offsets, mask)
    head = _summary_html(trained, len(ids), error)
    return TemplatePreview(head + body, trained, len(ids), error, body)


_STYLE = (
    "<style>.ds-tok{border-radius:3px;padding:0 1px;margin:0 .5px}"
    ".ds-trained{background:#c8f7c5;color:#0b3d0b;font-weight:600}"
    ".ds-prompt{color:#8a8a8a;background:#f3f3f3}"
    ".ds-template{font-family:ui-monospace,monospace;white-space:pre-wrap;font-size:13px;line-height:1.7}"
    ".ds-preview-error{color:#b00020;font-weight:600}</style>"
)


def _summary_html(trained: int, total: int, error: str | None) -> str:
    line = f"<p><b>{trained}</b> trained tokens of <b>{total}</b> (green = trained: assistant turns and their end-of-turn token; grey = prompt, not trained)</p>"
    if error:
        line += f"<p class='ds-preview-error'>{html.escape(error)}</p>"
    return line


def _token_html(full: str, offsets: list[Span], mask: list[int]) -> str:
    parts, cursor = [], 0
    for (start, end), flag in list(zip(offsets, mask, strict=True))[:MAX_PREVIEW_TOKENS]:
        if start > cursor:
            parts.append(_escape(full[cursor:start]))
        cls = "ds-trained" if flag else "ds-prompt"
        parts.append(f"<span class='ds-tok {cls}'>{_escape(full[start:end])}</span>")
        cursor = max(cursor, end)
    if len(offsets) > MAX_PREVIEW_TOKENS:
        parts.append(f"<p>… {len(offsets) - MAX_PREVIEW_TOKENS} more tokens not shown</p>")
    return "<div class='ds-template'>" + "".join(parts) + "</div>"


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "↵\n")
