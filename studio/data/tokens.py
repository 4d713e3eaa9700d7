"""The base model's own tokenizer (cached per process) and fast batch token counting.

Token counts use the exact text the chat template renders, tokenized in one batch by the fast
(Rust) tokenizer without offsets, which is what makes 10,000 conversations take seconds.
"""

from __future__ import annotations

import contextlib
import re
import threading

from studio.data.schema import is_renderable
from studio.settings import Settings

_tokenizers: dict[str, object] = {}
_lock = threading.Lock()


def base_tokenizer(settings: Settings):
    """``AutoTokenizer`` of ``settings.base_model``, loaded once per process (thread-safe)."""
    from studio.models.loader import base_path

    path = base_path(settings.base_model, settings)
    with _lock:
        if path not in _tokenizers:
            from transformers import AutoTokenizer

            _tokenizers[path] = AutoTokenizer.from_pretrained(path, token=settings.hf_token)
        return _tokenizers[path]


def render(tokenizer, messages: list[dict], add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def render_many(tokenizer, conversations: list[dict]) -> list[str | None]:
    """Rendered text per conversation; None where it is not renderable or the template refuses it."""
    ok = [i for i, conv in enumerate(conversations) if is_renderable(conv)]
    texts: list[str | None] = [None] * len(conversations)
    try:  # one batched call is much cheaper than one call per conversation
        rendered = tokenizer.apply_chat_template([conversations[i]["messages"] for i in ok], tokenize=False) if ok else []
        for i, text in zip(ok, rendered, strict=True):
            texts[i] = text
    except Exception:  # a template may raise on role orders it does not accept: find out which one by one
        for i in ok:
            try:
                texts[i] = render(tokenizer, conversations[i]["messages"])
            except Exception:
                texts[i] = None
    return texts


def count_tokens(tokenizer, texts: list[str | None]) -> list[int | None]:
    """Token count of each rendered text (None stays None).

    Added tokens (``<|im_start|>`` ...) are split out by the tokenizer before anything else, so
    the count of a text is the sum over the pieces between them plus one per added token. Pieces
    repeat a lot (the same system prompt on every row), so each distinct piece is encoded once, in
    one batch. This is checked against whole-text encoding on a sample and not used if they differ.
    """
    counts: list[int | None] = [None] * len(texts)
    todo = [(i, t) for i, t in enumerate(texts) if t is not None]
    if not todo:
        return counts
    splitter = _splitter(tokenizer, [t for _, t in todo[:8]])
    if splitter is None:
        lengths = _encode_lengths(tokenizer, [t for _, t in todo])
    else:
        lengths = _piece_lengths(tokenizer, splitter, [t for _, t in todo])
    for (i, _), n in zip(todo, lengths, strict=True):
        counts[i] = n
    return counts


def _encode_lengths(tokenizer, batch: list[str]) -> list[int]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "encode_batch_fast"):
        return [len(e.ids) for e in backend.encode_batch_fast(batch, add_special_tokens=False)]
    return [len(ids) for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]]  # slow tokenizers


def _piece_lengths(tokenizer, splitter: re.Pattern, batch: list[str]) -> list[int]:
    split = [splitter.split(t) for t in batch]  # [plain, added, plain, added, ..., plain]
    distinct = list({p for parts in split for p in parts[::2] if p})
    known = dict(zip(distinct, _encode_lengths(tokenizer, distinct), strict=True))
    return [sum(known[p] for p in parts[::2] if p) + len(parts) // 2 for parts in split]


def _splitter(tokenizer, sample: list[str]) -> re.Pattern | None:
    """A regex of the added tokens when piece counting is exact for this tokenizer, else None."""
    cached = getattr(tokenizer, "_studio_piece_splitter", False)
    if cached is not False:
        return cached
    splitter = None
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    simple = added and all(not (t.lstrip or t.rstrip or t.single_word or t.normalized) for t in added.values())
    if simple and getattr(tokenizer, "is_fast", False):
        tokens = sorted((t.content for t in added.values()), key=len, reverse=True)
        candidate = re.compile("(" + "|".join(re.escape(t) for t in tokens) + ")")
        if _piece_lengths(tokenizer, candidate, sample) == _encode_lengths(tokenizer, sample):
            splitter = candidate
    with contextlib.suppress(AttributeError):
        tokenizer._studio_piece_splitter = splitter
    return splitter


def conversation_tokens(tokenizer, conversations: list[dict]) -> list[int | None]:
    return count_tokens(tokenizer, render_many(tokenizer, conversations))
