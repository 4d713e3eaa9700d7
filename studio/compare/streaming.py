"""Generation pieces for answering several rows at once and streaming each row on its own.

* ``RowStreamer``: transformers' ``TextStreamer`` only handles one row; this one decodes every row
  of a batched ``generate`` from its ``put()`` calls and sends ``(row, text)`` updates to a queue.
* ``RowSampler``: seeded sampling with one random generator per row, so a row's answer does not
  depend on what else is in the batch: with the same seed, an answer generated next to another
  model equals the answer that model gives alone (``stream_chat`` seeds the global generator,
  which the first row reproduces exactly).
"""

from __future__ import annotations

import queue
import time

import torch
from transformers import (
    LogitsProcessor,
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

# transformers' global default when neither the call nor the model's generation config sets top_k
HF_DEFAULT_TOP_K = 50


class RowStreamer:
    """Implements transformers' streamer protocol (``put``/``end``) for a batch of rows."""

    def __init__(self, tokenizer, rows: int, sink: queue.Queue, eos_ids: set[int], row_offset: int = 0):
        self.tokenizer = tokenizer
        self.sink = sink
        self.eos_ids = eos_ids
        self.offset = row_offset
        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self.done = [False] * rows
        self.finished_at: list[float | None] = [None] * rows
        self.started = time.perf_counter()
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt ids
            self._prompt_seen = True
            self.started = time.perf_counter()
            return
        for row, token in enumerate(value.reshape(-1).tolist()):
            if self.done[row]:
                continue  # rows that ended are padded until the whole batch ends
            if token in self.eos_ids:
                self._finish(row)
                continue
            self.tokens[row].append(token)
            self.sink.put(("text", self.offset + row, self.text(row, partial=True)))

    def end(self) -> None:
        # The worker thread reports the end to the sink itself (also when generate() raises).
        for row in range(len(self.tokens)):
            if not self.done[row]:
                self._finish(row)

    def _finish(self, row: int) -> None:
        self.done[row] = True
        self.finished_at[row] = time.perf_counter()

    def text(self, row: int, partial: bool = False) -> str:
        text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
        # Mid-stream, a multi-byte character may be cut in half; wait for its other bytes.
        return text.rstrip("\ufffd") if partial else text

    def seconds(self, row: int) -> float:
        end = self.finished_at[row] or time.perf_counter()
        return max(end - self.started, 1e-9)


class RowSampler(LogitsProcessor):
    """Sample each row with its own seeded generator, then force that token for a greedy step.

    Used with ``do_sample=False``: transformers applies its processors (repetition penalty), then
    this applies the same warpers its sampling would (temperature, top-k, top-p) and draws one
    token per row exactly as ``torch.multinomial`` does for a single row.
    """

    def __init__(self, temperature: float, top_p: float, top_k: int | None, seeds: list[int], device: str):
        warpers = []
        if temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(temperature))
        if top_k:
            warpers.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
        if top_p < 1.0:
            warpers.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
        self.warpers = LogitsProcessorList(warpers)
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        warped = self.warpers(input_ids, scores)
        probs = torch.nn.functional.softmax(warped, dim=-1)
        chosen = [torch.multinomial(probs[row : row + 1], num_samples=1, generator=gen)[0, 0] for row, gen in enumerate(self.generators)]
        forced = torch.full_like(scores, float("-inf"))
        forced[torch.arange(scores.shape[0], device=scores.device), torch.stack(chosen)] = 0.0
        return forced


def eos_ids(model, tokenizer) -> set[int]:
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def decoding_kwargs(gen, model, seeds: list[int], device: str) -> dict:
    """``generate`` kwargs for ``GenerationSettings`` ``gen``: greedy, or per-row seeded sampling."""
    kwargs: dict = {"max_new_tokens": int(gen.max_new_tokens), "repetition_penalty": float(gen.repetition_penalty)}
    kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if float(gen.temperature) > 0:
        configured = getattr(getattr(model, "generation_config", None), "top_k", None)
        top_k = HF_DEFAULT_TOP_K if configured is None else configured
        sampler = RowSampler(float(gen.temperature), float(gen.top_p), top_k, seeds, device)
        kwargs["logits_processor"] = LogitsProcessorList([sampler])
    return kwargs
