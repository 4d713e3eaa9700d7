"""Seeded sampling for a batched ``generate`` (the report card's one ``generate`` over many rows).

``RowSampler`` draws each row with its own seeded random generator, so a row's answer does not
depend on what else is in the batch: with the same seed, a row equals what ``generate`` gives that
prompt alone after ``torch.manual_seed(seed)``. Chat, side by side and the arena decode through the
generation scheduler instead (``studio.models.scheduler``), which uses the same rule per request.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from studio.models.sampling import eos_ids, sampling_top_k, sampling_warpers

__all__ = ["RowSampler", "decoding_kwargs", "eos_ids"]


class RowSampler(LogitsProcessor):
    """Sample each row with its own seeded generator, then force that token for a greedy step.

    Used with ``do_sample=False``: transformers applies its processors (repetition penalty), then
    this applies the same warpers its sampling would (temperature, top-k, top-p) and draws one
    token per row exactly as ``torch.multinomial`` does for a single row.
    """

    def __init__(self, temperature: float, top_p: float, top_k: int | None, seeds: list[int], device: str):
        self.warpers = sampling_warpers(temperature, top_p, top_k)
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        warped = self.warpers(input_ids, scores)
        probs = torch.nn.functional.softmax(warped, dim=-1)
        chosen = [torch.multinomial(probs[row : row + 1], num_samples=1, generator=gen)[0, 0] for row, gen in enumerate(self.generators)]
        forced = torch.full_like(scores, float("-inf"))
        forced[torch.arange(scores.shape[0], device=scores.device), torch.stack(chosen)] = 0.0
        return forced


def decoding_kwargs(gen, model, seeds: list[int], device: str) -> dict:
    """``generate`` kwargs for ``GenerationSettings`` ``gen``: greedy, or per-row seeded sampling."""
    kwargs: dict = {"max_new_tokens": int(gen.max_new_tokens), "repetition_penalty": float(gen.repetition_penalty)}
    kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if float(gen.temperature) > 0:
        sampler = RowSampler(float(gen.temperature), float(gen.top_p), sampling_top_k(model), seeds, device)
        kwargs["logits_processor"] = LogitsProcessorList([sampler])
    return kwargs
