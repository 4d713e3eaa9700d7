"""The assistant-only mask on the embedded model's ChatML template and on templates without markers."""

from __future__ import annotations

import copy

import pytest

from studio.data.template import assistant_spans, assistant_token_mask, template_preview

MESSAGES = [
    {"role": "system", "content": "You are a careful AI companion."},
    {"role": "user", "content": "I have my second session on Friday. Any tips?"},
    {"role": "assistant", "content": "Plan a quiet evening afterwards,\nand bring your intentions."},
    {"role": "user", "content": "Thanks. What about music?"},
    {"role": "assistant", "content": "Ask your care team what they use; many clinics have a playlist."},
]

LLAMA3_LIKE = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
# Renders the final assistant turn differently from earlier ones, so prefixes do not line up
# and the content search has to be used.
LAST_TURN_DIFFERENT = (
    "{% for m in messages %}{% if loop.last and m['role'] == 'assistant' %}### Final answer:\n{{ m['content'] }}{{ eos_token }}"
    "{% else %}### {{ m['role'] }}:\n{{ m['content'] }}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}### assistant:\n{% endif %}"
)
# Gemma-style: the system prompt is folded into the first user turn, the assistant is called "model".
GEMMA_LIKE = (
    "{{ bos_token }}{% set sys = '' %}{% for m in messages %}{% if m['role'] == 'system' %}{% set sys = m['content'] + '\\n\\n' %}"
    "{% else %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{{ (sys if loop.index0 == 1 else '') + m['content'] | trim }}<end_of_turn>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
DROPS_ASSISTANT = (
    "{% for m in messages %}{% if m['role'] != 'assistant' %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endif %}{% endfor %}"
)


def _trained_runs(tokenizer, ids, mask) -> list[str]:
    """Decoded text of each contiguous run of trained tokens."""
    runs, current = [], []
    for token, flag in zip(ids, mask, strict=True):
        if flag:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [tokenizer.decode(r) for r in runs]


def _with_template(tokenizer, template: str):
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = template
    return tok


def test_chatml_mask_is_exactly_assistant_turns_plus_end_of_turn(chatml_tokenizer):
    ids, mask = assistant_token_mask(chatml_tokenizer, MESSAGES)
    assert len(ids) == len(mask)
    assert ids == chatml_tokenizer.apply_chat_template(MESSAGES, tokenize=True, return_dict=True)["input_ids"]
    runs = _trained_runs(chatml_tokenizer, ids, mask)
    assert runs == [m["content"] + "<|im_end|>" for m in MESSAGES if m["role"] == "assistant"]


def test_chatml_mask_without_system_prompt_uses_default_system(chatml_tokenizer):
    messages = MESSAGES[1:]
    ids, mask = assistant_token_mask(chatml_tokenizer, messages)
    text = chatml_tokenizer.decode(ids)
    assert "You are a helpful AI assistant named SmolLM" in text  # injected by the template, not trained
    assert _trained_runs(chatml_tokenizer, ids, mask) == [m["content"] + "<|im_end|>" for m in messages if m["role"] == "assistant"]


@pytest.mark.parametrize("template,end", [(LLAMA3_LIKE, "<|eot_id|>"), (GEMMA_LIKE, "<end_of_turn>")])
def test_templates_without_generation_markers(chatml_tokenizer, template, end):
    tok = _with_template(chatml_tokenizer, template)
    if end not in tok.get_vocab():
        tok.add_special_tokens({"additional_special_tokens": [end]})
    ids, mask = assistant_token_mask(tok, MESSAGES)
    runs = _trained_runs(tok, ids, mask)
    joined = "".join(runs)
    for m in MESSAGES:
        if m["role"] == "assistant":
            assert m["content"].strip() in joined
        else:
            assert m["content"] not in joined
    assert all(run.endswith(end) for run in runs), runs


def test_last_turn_different_falls_back_to_search(chatml_tokenizer):
    tok = _with_template(chatml_tokenizer, LAST_TURN_DIFFERENT)
    full, spans = assistant_spans(tok, MESSAGES)
    assert [full[a:b] for a, b in spans] == [MESSAGES[2]["content"], MESSAGES[4]["content"] + "<|im_end|>"]


def test_preview_counts_trained_tokens_and_highlights(chatml_tokenizer):
    preview = template_preview(chatml_tokenizer, MESSAGES)
    assert preview.error is None
    assert 0 < preview.trained_tokens < preview.total_tokens
    assert "ds-trained" in preview.html and "ds-prompt" in preview.html
    assert "&lt;|im_end|&gt;" in preview.html  # special tokens shown, escaped


def test_zero_trained_tokens_is_an_error(chatml_tokenizer):
    tok = _with_template(chatml_tokenizer, DROPS_ASSISTANT)
    preview = template_preview(tok, MESSAGES)
    assert preview.trained_tokens == 0
    assert preview.error and "Zero trained tokens" in preview.error
    assert "Zero trained tokens" in preview.html
