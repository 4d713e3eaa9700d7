"""Choosing the next token for one row, exactly as ``generate`` would for that row alone.

``RowDecoder`` applies what ``model.generate`` applies for ``GenerationSettings``: the repetition
penalty over the row's own prompt and answer, then (when sampling) temperature, top-k and top-p, and
draws with the row's own seeded ``torch.Generator``. A seeded generator reproduces the draws of
``torch.manual_seed(seed)`` followed by ``generate``, so a row decoded in a batch gives the answer
the request gets alone, whatever else is in the batch.
"""

from __future__ import annotations

import torch
from transformers import (
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

# transformers' global default when neither the call nor the model's generation config sets top_k
HF_DEFAULT_TOP_K = 50


def eos_ids(model, tokenizer) -> set[int]:
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def sampling_top_k(model) -> int | None:
    """The top-k that ``generate(do_sample=True)`` uses when the call gives none."""
    configured = getattr(getattr(model, "generation_config", None), "top_k", None)
    return HF_DEFAULT_TOP_K if configured is None else configured


def sampling_warpers(temperature: float, top_p: float, top_k: int | None) -> LogitsProcessorList:
    """The warpers ``generate`` applies before sampling, in its order."""
    warpers = []
    if temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_k:
        warpers.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
    return LogitsProcessorList(warpers)


class RowDecoder:
    """The next-token rule of one request: greedy, or sampled with its own generator."""

    def __init__(self, gen, model, seed: int, device: str):
        penalty = float(gen.repetition_penalty)
        self.penalty = RepetitionPenaltyLogitsProcessor(penalty) if penalty != 1.0 else None
        self.sample = float(gen.temperature) > 0
        self.warpers = sampling_warpers(float(gen.temperature), float(gen.top_p), sampling_top_k(model)) if self.sample else None
        self.generator = torch.Generator(device=device).manual_seed(int(seed)) if self.sample else None

    def next_token(self, ids: torch.LongTensor, scores: torch.FloatTensor) -> int:
        """``ids``: the row's prompt and answer so far, shape [1, n]; ``scores``: its last logits, [1, vocab]."""
        if self.penalty is not None:
            scores = self.penalty(ids, scores)
        if not self.sample:
            return int(torch.argmax(scores, dim=-1)[0])
        probs = torch.nn.functional.softmax(self.warpers(ids, scores), dim=-1)
        return int(torch.multinomial(probs, num_samples=1, generator=self.generator)[0, 0])
