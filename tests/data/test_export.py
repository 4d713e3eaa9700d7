"""Export round-trip, the rendered text column, and train/eval splits."""

from __future__ import annotations

import json

import pytest

from studio.data.export import split, with_text, write_jsonl, write_split
from studio.data.formats import load_conversations
from studio.data.schema import DataError

from .conftest import conv

CONVS = [conv(("system", "S"), ("user", f"question {i} \u2028 é"), ("assistant", f"answer {i}"), tags=["t"]) for i in range(20)]


def test_native_round_trip(tmp_path):
    path = write_jsonl(tmp_path / "out.jsonl", CONVS)
    assert load_conversations(path).conversations == CONVS
    assert len(path.read_text(encoding="utf-8").split("\n")) == len(CONVS) + 1


def test_text_column_is_the_chat_template(chatml_tokenizer, tmp_path):
    rows = with_text(CONVS[:3], chatml_tokenizer)
    assert rows[0]["text"] == chatml_tokenizer.apply_chat_template(CONVS[0]["messages"], tokenize=False)
    assert rows[0]["text"].startswith("<|im_start|>system\nS<|im_end|>")
    assert "text" not in CONVS[0]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    assert json.loads(path.read_text(encoding="utf-8").split("\n")[:-1][1])["text"] == rows[1]["text"]


def test_text_column_refuses_broken_rows(chatml_tokenizer):
    with pytest.raises(DataError, match="conversation 2"):
        with_text([CONVS[0], {"messages": [{"role": "bot", "content": "x"}]}], chatml_tokenizer)


def test_split_is_deterministic_disjoint_and_complete():
    train, evals = split(CONVS, 0.25, seed=7)
    assert (len(train), len(evals)) == (15, 5)
    assert split(CONVS, 0.25, seed=7) == (train, evals)
    assert split(CONVS, 0.25, seed=8) != (train, evals)
    keys = lambda rows: {r["messages"][1]["content"] for r in rows}  # noqa: E731
    assert keys(train) | keys(evals) == keys(CONVS) and not keys(train) & keys(evals)


def test_split_edges():
    assert split(CONVS[:2], 0.01) == ([CONVS[1]], [CONVS[0]]) or len(split(CONVS[:2], 0.01)[1]) == 1
    assert split(CONVS, 0.0) == (CONVS, [])
    with pytest.raises(DataError):
        split(CONVS, 1.0)


def test_write_split_files(tmp_path, chatml_tokenizer):
    files = write_split(CONVS, tmp_path / "split", 0.2, seed=1, tokenizer=chatml_tokenizer)
    train = [json.loads(x) for x in files["train"].read_text(encoding="utf-8").split("\n")[:-1]]
    evals = [json.loads(x) for x in files["eval"].read_text(encoding="utf-8").split("\n")[:-1]]
    assert (len(train), len(evals)) == (16, 4) and all("text" in r for r in train + evals)
