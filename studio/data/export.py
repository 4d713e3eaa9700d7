"""Export: native JSONL, JSONL with a rendered ``text`` column, and deterministic train/eval splits.

The ``text`` column is the conversation rendered with the base model's own chat template, which is
what AutoTrain's ``--text-column text`` and plain causal-LM recipes read.
"""

from __future__ import annotations

import random
from pathlib import Path

from studio.data.schema import DataError, is_renderable, to_jsonl
from studio.util.io import atomic_write_text


def with_text(conversations: list[dict], tokenizer) -> list[dict]:
    """Copies of the conversations with ``text`` = the chat template applied (no generation prompt)."""
    out = []
    for i, conv in enumerate(conversations, 1):
        if not is_renderable(conv):
            raise DataError(f"conversation {i} cannot be rendered (fix its validation errors first).")
        try:
            text = tokenizer.apply_chat_template(conv["messages"], tokenize=False)
        except Exception as exc:  # jinja errors from the template itself
            raise DataError(f"conversation {i}: the chat template refused it ({exc}).") from None
        out.append({**conv, "text": text})
    return out


def write_jsonl(path: Path | str, conversations: list[dict]) -> Path:
    path = Path(path)
    atomic_write_text(path, to_jsonl(conversations))
    return path


DEFAULT_SPLIT_SEED = 42  # the TrainConfig default, so an exported eval split is the one training holds out


def split(conversations: list, eval_fraction: float, seed: int = DEFAULT_SPLIT_SEED) -> tuple[list, list]:
    """Shuffle with ``seed`` and cut off ``eval_fraction`` (at least one example each side when possible).

    The one split of the studio: training, the AutoTrain plan, eval loss and exports all call it.
    """
    if not 0 <= eval_fraction < 1:
        raise DataError(f"eval fraction must be at least 0 and below 1, got {eval_fraction}.")
    if eval_fraction == 0 or len(conversations) < 2:
        return list(conversations), []
    order = list(range(len(conversations)))
    random.Random(seed).shuffle(order)
    n_eval = min(len(order) - 1, max(1, round(len(order) * eval_fraction)))
    eval_ids = set(order[:n_eval])
    train = [c for i, c in enumerate(conversations) if i not in eval_ids]
    evals = [c for i, c in enumerate(conversations) if i in eval_ids]
    return train, evals


def write_split(conversations: list[dict], out_dir: Path | str, eval_fraction: float, seed: int = DEFAULT_SPLIT_SEED,
                tokenizer=None) -> dict[str, Path]:
    """``train.jsonl`` and ``eval.jsonl`` in ``out_dir`` (with a ``text`` column when a tokenizer is given)."""
    train, evals = split(conversations, eval_fraction, seed)
    if tokenizer is not None:
        train, evals = with_text(train, tokenizer), with_text(evals, tokenizer)
    out_dir = Path(out_dir)
    return {"train": write_jsonl(out_dir / "train.jsonl", train), "eval": write_jsonl(out_dir / "eval.jsonl", evals)}
