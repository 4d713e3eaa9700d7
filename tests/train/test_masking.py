"""Assistant-only labels: the trained tokens decode to exactly the assistant turns (+ end-of-turn)."""

from __future__ import annotations

import copy

import pytest

from studio.train.masking import IGNORE_INDEX, tokenize_conversation
from tests.train.conftest import CONVERSATIONS

LLAMA3_LIKE = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}<|im_sep|>{{ m['content'] }}<|im_end|>"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant<|im_sep|>{% endif %}"
)
# Mistral-style: no role headers for the reply, end-of-sequence token after each answer.
INST_LIKE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
    "{% elif m['role'] == 'assistant' %}{{ m['content'] }}{{ eos_token }}{% else %}<<SYS>>{{ m['content'] }}<</SYS>>"
    "{% endif %}{% endfor %}"
)


@pytest.fixture(scope="module")
def tokenizer(embedded_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(embedded_model_dir))


def trained_runs(tokenizer, labels: list[int]) -> list[str]:
    """Decode each contiguous run of trained labels."""
    out, current = [], []
    for label in [*labels, IGNORE_INDEX]:
        if label != IGNORE_INDEX:
            current.append(label)
        elif current:
            out.append(tokenizer.decode(current))
            current = []
    return out


def replies(messages: list[dict], end: str) -> list[str]:
    return [m["content"] + end for m in messages if m["role"] == "assistant"]


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_chatml_trains_exactly_the_assistant_turns(tokenizer, messages):
    tc = tokenize_conversation(tokenizer, messages, max_length=4096)
    assert trained_runs(tokenizer, tc.labels) == replies(messages, "<|im_end|>")
    # the ids are those inference sees
    reference = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    assert tc.input_ids == list(reference)


@pytest.mark.parametrize("template,end", [(LLAMA3_LIKE, "<|im_end|>"), (INST_LIKE, "<|im_end|>")])
def test_templates_without_generation_markers(tokenizer, template, end):
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = template
    messages = CONVERSATIONS[2]
    assert "{% generation %}" not in template
    tc = tokenize_conversation(tok, messages, max_length=4096)
    assert trained_runs(tok, tc.labels) == replies(messages, end)


def test_whole_conversation_when_assistant_only_is_off(tokenizer):
    tc = tokenize_conversation(tokenizer, CONVERSATIONS[0], max_length=4096, assistant_only=False)
    assert tc.labels == tc.input_ids


def test_truncation_is_flagged(tokenizer):
    tc = tokenize_conversation(tokenizer, CONVERSATIONS[2], max_length=20)
    assert len(tc.input_ids) == len(tc.labels) == 20 and tc.truncated
