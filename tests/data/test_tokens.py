"""Token counts: the piece-cached batch count equals whole-text tokenization, and bad rows stay None."""

from __future__ import annotations

import copy

from studio.data.tokens import _encode_lengths, conversation_tokens, count_tokens, render_many

from .conftest import conv

CONVS = [
    conv(("system", "Shared system prompt. " * 5), ("user", f"Question {i}: how do I prepare? ünïcode {i}"), ("assistant", f"Answer {i}.\n\nTake care.  "))
    for i in range(30)
] + [conv(("user", "no system <|im_end|> inside text"), ("assistant", "ok"))]


def test_piece_counts_equal_whole_text_counts(chatml_tokenizer):
    texts = render_many(chatml_tokenizer, CONVS)
    assert count_tokens(chatml_tokenizer, texts) == _encode_lengths(chatml_tokenizer, texts)
    assert count_tokens(chatml_tokenizer, ["plain text without added tokens"]) == _encode_lengths(chatml_tokenizer, ["plain text without added tokens"])


def test_unrenderable_rows_are_none(chatml_tokenizer):
    counts = conversation_tokens(chatml_tokenizer, [CONVS[0], {"messages": [{"role": "bot", "content": "x"}]}, {}])
    assert counts[0] > 0 and counts[1:] == [None, None]


def test_template_that_refuses_one_row_only_loses_that_row(chatml_tokenizer):
    tok = copy.deepcopy(chatml_tokenizer)
    tok.chat_template = (
        "{% for m in messages %}{% if m['content'] == 'boom' %}{{ raise_exception('no') }}{% endif %}"
        "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    )
    counts = conversation_tokens(tok, [CONVS[0], conv(("user", "boom"), ("assistant", "x")), CONVS[1]])
    assert counts[0] and counts[2] and counts[1] is None
