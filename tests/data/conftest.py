"""Fixtures for the dataset tests: the embedded model's real tokenizer (ChatML), loaded once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def chatml_tokenizer(embedded_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(embedded_model_dir))


def conv(*turns: tuple[str, str], tags: list[str] | None = None) -> dict:
    """conv(("user", "hi"), ("assistant", "hello")) -> a native conversation."""
    out: dict = {"messages": [{"role": r, "content": c} for r, c in turns]}
    if tags:
        out["tags"] = tags
    return out
