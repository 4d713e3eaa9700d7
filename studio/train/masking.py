"""Loss only on the assistant's words, for any chat template (no ``{% generation %}`` markers needed).

TRL's ``assistant_only_loss`` relies on generation markers in the template and raises for templates
without them. Here the assistant spans are found by rendering the conversation incrementally:

* ``prefix`` = messages[:i] rendered with the generation prompt (ends right where the reply starts),
* ``upto``   = messages[:i+1] rendered without it (ends after the reply and its end-of-turn token),

so ``upto[len(prefix):]`` is exactly the reply plus its end-of-turn marker, whatever the template.
Trailing whitespace after the end-of-turn (ChatML's newline) is not trained. The full text is then
tokenized once with character offsets, so the token ids are the ones inference uses.

When a template is not prefix-stable (it rewrites earlier turns), each reply is located by its
content in the full text instead, plus the end-of-turn token that follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

IGNORE_INDEX = -100


class MaskingError(ValueError):
    pass


@dataclass
class TokenizedConversation:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def _render(tokenizer, messages: list[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def assistant_char_spans(tokenizer, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the (start, end) character span of every assistant reply."""
    full = _render(tokenizer, messages, False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        prefix = _render(tokenizer, messages[:i], True) if i else None
        upto = _render(tokenizer, messages[: i + 1], False)
        if prefix is not None and upto.startswith(prefix) and full.startswith(upto) and len(prefix) >= cursor:
            start, end = len(prefix), len(upto.rstrip())
        else:
            start, end = _search_span(tokenizer, full, str(message.get("content") or ""), cursor)
        if end > start:
            spans.append((start, end))
            cursor = end
    return full, spans


def _search_span(tokenizer, full: str, content: str, cursor: int) -> tuple[int, int]:
    """Fallback for templates that are not prefix-stable: find the reply text after ``cursor``."""
    text = content.strip()
    start = full.find(text, cursor) if text else -1
    if start < 0:
        raise MaskingError(
            "Could not find an assistant reply in the rendered chat template (the template changes the reply text). "
            "Set assistant_only_loss: false to train on the whole conversation."
        )
    end = start + len(text)
    for marker in _end_markers(tokenizer):
        rest = full[end:]
        stripped = rest.lstrip(" ")
        if stripped.startswith(marker):
            end += len(rest) - len(stripped) + len(marker)
            break
    return start, end


def _end_markers(tokenizer) -> list[str]:
    markers = [tokenizer.eos_token] if tokenizer.eos_token else []
    for token in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>"):
        if token in (getattr(tokenizer, "all_special_tokens", None) or []) and token not in markers:
            markers.append(token)
    return markers


def assistant_token_mask(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """Token ids of the rendered conversation and a 0/1 mask marking assistant tokens (+ end-of-turn)."""
    full, spans = assistant_char_spans(tokenizer, messages)
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), enc["offset_mapping"]
        mask = [1 if any(s < e_tok and e > s_tok for s, e in spans) and e_tok > s_tok else 0 for s_tok, e_tok in offsets]
        return ids, mask
    return _segment_mask(tokenizer, full, spans)


def _segment_mask(tokenizer, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Slow tokenizers have no offsets: tokenize the pieces between span borders separately."""
    ids: list[int] = []
    mask: list[int] = []
    borders = [0] + [b for span in spans for b in span] + [len(full)]
    for k in range(len(borders) - 1):
        piece = full[borders[k] : borders[k + 1]]
        if not piece:
            continue
        piece_ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
        ids += piece_ids
        mask += [k % 2] * len(piece_ids)  # odd pieces are assistant spans
    return ids, mask


def tokenize_conversation(
    tokenizer, messages: list[dict], max_length: int, assistant_only: bool = True
) -> TokenizedConversation:
    """input_ids + labels (-100 outside assistant tokens when ``assistant_only``), truncated to ``max_length``."""
    if assistant_only:
        ids, mask = _mask_function()(tokenizer, messages)
        labels = [tok if bit else IGNORE_INDEX for tok, bit in zip(ids, mask, strict=True)]
    else:
        ids = tokenizer(_render(tokenizer, messages, False), add_special_tokens=False)["input_ids"]
        labels = list(ids)
    return TokenizedConversation(list(ids[:max_length]), labels[:max_length], truncated=len(ids) > max_length)


def _mask_function():
    """The data package's mask (the one its template preview shows) when present, else ours: same method."""
    try:
        from studio.data.template import assistant_token_mask as shared
    except ImportError:
        return assistant_token_mask
    return shared
