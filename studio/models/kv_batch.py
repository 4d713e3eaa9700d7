"""Rows that decode together over one left-padded KV cache: rows join and leave between steps.

Each row was prefilled alone (``prefill_chunk``, batch of one, chunk by chunk). Joining pads the
batch's cache, or the new row's, on the left so that every row ends at the same column; the
attention mask marks the padding and each row's position ids count only its own tokens, so the
padding changes nothing the row sees. Leaving drops the row and the columns only padding holds.

Every row keeps one token pending: the token chosen last, not yet in the cache. A decode step feeds
each row's pending token and returns the logits for the next one. Padding costs every row the longest
row's columns (memory, and copying the cache each step), so callers keep rows of very different
lengths in different batches (``fits``).
"""

from __future__ import annotations

import torch

from studio.models.loader import BASE_ADAPTER


def mergeable(cache) -> bool:
    """Whether rows of this cache can be padded and joined (plain full-attention layers only)."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def adapter_names(model, adapters: list[str | None]) -> dict:
    """``adapter_names`` for PEFT's mixed-batch forward: one name per row, ``__base__`` for no adapter."""
    from peft import PeftModel

    if isinstance(model, PeftModel):
        return {"adapter_names": [name or BASE_ADAPTER for name in adapters]}
    return {}  # no adapter was ever loaded on this base: every row is the plain base


def prefill_chunk(model, ids: list[int], cache, adapter: str | None):
    """Feed ``ids`` after what ``cache`` holds (one row, no padding; ``None``: nothing yet).

    -> (the last position's logits, [1, vocab]; the cache)."""
    from transformers import DynamicCache

    cache = cache if cache is not None else DynamicCache(config=model.config)
    start = cache.get_seq_length()
    input_ids = torch.tensor([ids], device=model.device)
    out = model(
        input_ids=input_ids,
        attention_mask=torch.ones((1, start + len(ids)), dtype=torch.long, device=model.device),
        position_ids=torch.arange(start, start + len(ids), device=model.device).unsqueeze(0),
        cache=cache,
        use_cache=True,
        logits_to_keep=1,
        **adapter_names(model, [adapter]),
    )
    return out.logits[:, -1, :].float(), cache


class KVBatch:
    """The running rows' shared cache, attention mask and pending tokens; ``rows`` holds what the caller
    tracks per row (its requests), in the same order."""

    def __init__(self):
        self.cache = None
        self.mask: torch.Tensor | None = None  # [rows, columns], 0 on the left padding
        self.pending: list[int] = []
        self.rows: list = []

    def __len__(self) -> int:
        return len(self.pending)

    @property
    def width(self) -> int:
        """Columns of the cache: the longest row's tokens."""
        return 0 if self.mask is None else int(self.mask.shape[1])

    def nbytes(self) -> int:
        """What the batch's keys and values take in memory."""
        layers = self.cache.layers if self.cache is not None else []
        return sum(t.numel() * t.element_size() for layer in layers for t in (layer.keys, layer.values))

    def join(self, cache, pending: int, row=None) -> None:
        """Add ``row``, whose prompt is in ``cache`` (one row) and whose next input is ``pending``."""
        length = cache.get_seq_length()
        ones = torch.ones((1, length), dtype=torch.long)
        self.rows.append(row)
        if self.cache is None:
            self.cache, self.mask, self.pending = cache, ones, [pending]
            return
        width = max(self.mask.shape[1], length)
        self._pad_left(self.cache, width - self.mask.shape[1])
        self._pad_left(cache, width - length)
        for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
            mine.keys = torch.cat([mine.keys, theirs.keys], dim=0)
            mine.values = torch.cat([mine.values, theirs.values], dim=0)
        self.mask = torch.cat([_pad_mask(self.mask, width), _pad_mask(ones, width)], dim=0)
        self.pending.append(pending)

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (indices into the current rows), then drop columns that are padding in every row."""
        if not rows:
            self.cache, self.mask, self.pending, self.rows = None, None, [], []
            return
        if rows == list(range(len(self.pending))):
            return
        index = torch.tensor(rows, dtype=torch.long)
        self.mask = self.mask[index]
        self.pending = [self.pending[i] for i in rows]
        self.rows = [self.rows[i] for i in rows]
        lead = int((self.mask.sum(dim=0) == 0).long().cumprod(dim=0).sum())  # leading all-padding columns
        self.mask = self.mask[:, lead:]
        index = index.to(self.cache.layers[0].keys.device)
        for layer in self.cache.layers:
            layer.keys = layer.keys[index, :, lead:]
            layer.values = layer.values[index, :, lead:]

    def step(self, model, adapters: list[str | None]) -> torch.Tensor:
        """Feed every row's pending token -> next-token logits, [rows, vocab]."""
        device = model.device
        mask = torch.cat([self.mask, torch.ones((len(self), 1), dtype=torch.long)], dim=1)
        out = model(
            input_ids=torch.tensor(self.pending, device=device).unsqueeze(1),
            attention_mask=mask.to(device),
            position_ids=(self.mask.sum(dim=1, keepdim=True)).to(device),
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
            **adapter_names(model, adapters),
        )
        self.mask = mask
        return out.logits[:, -1, :].float()

    @staticmethod
    def _pad_left(cache, columns: int) -> None:
        if columns <= 0:
            return
        for layer in cache.layers:
            layer.keys = torch.nn.functional.pad(layer.keys, (0, 0, columns, 0))
            layer.values = torch.nn.functional.pad(layer.values, (0, 0, columns, 0))


def fits(width: int, length: int, slack: int) -> bool:
    """Whether a row of ``length`` tokens may join a batch ``width`` columns wide: neither is more than
    twice the other, give or take ``slack`` tokens."""
    return width == 0 or max(width, length) <= 2 * min(width, length) + slack


def _pad_mask(mask: torch.Tensor, width: int) -> torch.Tensor:
    return torch.nn.functional.pad(mask, (width - mask.shape[1], 0))
