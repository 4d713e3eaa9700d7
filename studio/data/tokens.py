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
    """Rendered text per conversation; None where it is not renderable or the template refuses it.

    Where the template only pastes each message's content between fixed text that depends on the
    roles alone (ChatML and most others), each role sequence is rendered once with sentinel contents
    and the rows are filled in: Jinja per row costs more than the tokenizer (see ``_skeletons``).
    """
    ok = [i for i, conv in enumerate(conversations) if is_renderable(conv)]
    texts: list[str | None] = [None] * len(conversations)
    skeletons = _Skeletons.for_tokenizer(tokenizer, [conversations[i]["messages"] for i in _sample(ok)])
    if skeletons is not None:
        rest = []
        for i in ok:
            texts[i] = skeletons.fill(conversations[i]["messages"])
            if texts[i] is None:
                rest.append(i)
        ok = rest
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


def _sample(ok: list[int]) -> list[int]:
    """The rows the fast path is checked against: the first few and some spread over the data."""
    step = max(1, len(ok) // 8)
    return sorted(set(ok[:8]) | set(ok[::step][:8]))


_OUTPUT = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_CONTENT_REF = re.compile(r"""message(?:\[['"]content['"]\]|\.content)""")


def _pastes_content(template: str) -> bool:
    """True when the template reads message content only to output it whole (no test, filter or slice)."""
    if "content" in _OUTPUT.sub("", template):
        return False  # content used in an {% if %} or {% set %}: the text around it may depend on it
    for block in _OUTPUT.findall(template):
        code = _STRING.sub("''", block)
        if "content" not in code:
            continue
        code = _CONTENT_REF.sub("C", code)
        if "content" in code or "|" in code or re.search(r"C\s*[.\[(]", code):
            return False
    return True


class _Skeletons:
    """Per role sequence, the fixed text the template puts around each message's content."""

    SENTINEL = " \n<<studio-content-{}>>\n "

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.parts: dict[tuple[str, ...], list[str] | None] = {}

    @classmethod
    def for_tokenizer(cls, tokenizer, sample: list[list[dict]]) -> _Skeletons | None:
        """Skeletons when they reproduce the real rendering of ``sample`` exactly, else None (cached per template)."""
        template = getattr(tokenizer, "chat_template", None)
        cache = getattr(tokenizer, "_studio_skeletons", None)
        if cache is not None and cache[0] == template:
            return cache[1]
        skeletons = cls(tokenizer) if isinstance(template, str) and _pastes_content(template) else None
        try:
            if skeletons is not None and any(skeletons.fill(m) != render(tokenizer, m) for m in sample):
                skeletons = None
        except Exception:  # the template refuses a sample row: let the slow path sort the rows out
            skeletons = None
        with contextlib.suppress(AttributeError):
            tokenizer._studio_skeletons = (template, skeletons)
        return skeletons

    def fill(self, messages: list[dict]) -> str | None:
        """The rendered text, or None when this row must go through the template itself."""
        if any(len(m) != 2 for m in messages):
            return None  # keys other than role and content could reach the template
        roles = tuple(m["role"] for m in messages)
        if roles not in self.parts:
            self.parts[roles] = self._parts(roles)
        parts = self.parts[roles]
        if parts is None:
            return None
        out = [parts[0]]
        for message, after in zip(messages, parts[1:], strict=True):
            out += [message["content"], after]
        return "".join(out)

    def _parts(self, roles: tuple[str, ...]) -> list[str] | None:
        marks = [self.SENTINEL.format(i) for i in range(len(roles))]
        try:
            text = render(self.tokenizer, [{"role": r, "content": c} for r, c in zip(roles, marks, strict=True)])
        except Exception:
            return None  # e.g. the template raises on this role order
        parts = []
        for mark in marks:
            before, found, text = text.partition(mark)
            if not found or mark in text:
                return None
            parts.append(before)
        return [*parts, text]


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
