"""Answers for a whole suite, many prompts per ``generate`` call, greedy.

Models on one base share its weights, as in Compare: one batch holds each prompt once per model,
and PEFT's mixed-batch inference (``adapter_names``) applies each row's adapter. Prompts are sorted
by length so a batch pads little. Rows are left-padded with their OWN first token: the attention
mask hides the padding, and the repetition penalty (which looks at the set of tokens already
present) sees exactly the set it would see unpadded, so a batched answer is the one-at-a-time answer.
The model lock is taken per batch, so chat users are served between batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from studio.models.generate import GenerationSettings, encode_chat
from studio.models.loader import BASE_ADAPTER, LoadedModel, ModelLoadError, ModelRef, model_cache, resolve
from studio.models.remote import is_remote
from studio.settings import Settings

DEFAULT_BATCH = 8


class EvalGenerationError(RuntimeError):
    pass


@dataclass
class Generated:
    text: str
    new_tokens: int


@dataclass
class Timing:
    seconds: float = 0.0
    new_tokens: int = 0
    answers: int = 0

    def to_dict(self) -> dict:
        rate = self.new_tokens / self.seconds if self.seconds else 0.0
        return {"seconds": round(self.seconds, 2), "new_tokens": self.new_tokens, "answers": self.answers,
                "tokens_per_s": round(rate, 2)}


def resolve_models(models: list[str], settings: Settings) -> list[ModelRef]:
    refs = []
    for model in models:
        try:
            refs.append(resolve(model, settings))
        except ModelLoadError as exc:
            raise EvalGenerationError(f"Cannot load model {model!r}: {exc}") from None
    return refs


def generate_all(
    models: list[str], conversations: list[list[dict]], gen: GenerationSettings, settings: Settings,
    batch_size: int = DEFAULT_BATCH, progress: Callable[[int, int], None] | None = None,
) -> tuple[list[list[Generated]], Timing]:
    """``answers[m][i]``: model ``m``'s answer to conversation ``i``; and the time it all took.

    Hosted models (``remote:<name>``) answer over HTTP in a worker thread while the local ones run."""
    from concurrent.futures import ThreadPoolExecutor

    answers: list[list[Generated | None]] = [[None] * len(conversations) for _ in models]
    timing = Timing()
    remote = [m for m, model in enumerate(models) if is_remote(model)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        hosted = pool.submit(_remote_all, [models[m] for m in remote], conversations, gen, settings)
        local = [m for m in range(len(models)) if m not in remote]
        _local_all(models, local, conversations, gen, settings, batch_size, progress, answers, timing)
        for m, (rows, seconds) in zip(remote, hosted.result(), strict=True):
            answers[m] = list(rows)
            timing.seconds += seconds
            timing.new_tokens += sum(row.new_tokens for row in rows)
            timing.answers += len(rows)
    return [[a for a in row if a is not None] for row in answers], timing


def _remote_all(models: list[str], conversations: list[list[dict]], gen: GenerationSettings,
                settings: Settings) -> list[tuple[list[Generated], float]]:
    """Each hosted model's greedy answers, one request per conversation; a failure names the model."""
    from studio.models.remote import RemoteError, generate_remote

    greedy = GenerationSettings(max_new_tokens=gen.max_new_tokens, temperature=0.0, repetition_penalty=gen.repetition_penalty)
    out = []
    for model in models:
        rows, seconds = [], 0.0
        for messages in conversations:
            try:
                text, new_tokens, took = generate_remote(model, messages, greedy, settings)
            except RemoteError as exc:
                raise EvalGenerationError(str(exc)) from None
            rows.append(Generated(text, new_tokens))
            seconds += took
        out.append((rows, seconds))
    return out


def _local_all(models: list[str], members_all: list[int], conversations: list[list[dict]], gen: GenerationSettings,
               settings: Settings, batch_size: int, progress, answers: list, timing: Timing) -> None:
    if not members_all:
        return
    refs = resolve_models(models, settings)
    groups: dict[str, list[int]] = {}
    for m in members_all:
        groups.setdefault(refs[m].base, []).append(m)
    done, total = 0, len(members_all) * len(conversations)
    for members in groups.values():
        loaded = _load(refs, members, settings)
        encoded = [_ids(loaded, messages) for messages in conversations]
        order = sorted(range(len(conversations)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), max(1, batch_size)):
            chunk = order[start : start + max(1, batch_size)]
            began = time.perf_counter()
            outputs = _generate(loaded, [refs[m] for m in members], [encoded[i] for i in chunk], gen)
            timing.seconds += time.perf_counter() - began
            for (i, m), out in zip(((i, m) for i in chunk for m in members), outputs, strict=True):
                answers[m][i] = out
                timing.new_tokens += out.new_tokens
                timing.answers += 1
            done += len(chunk) * len(members)
            if progress:
                progress(done, total)


def _load(refs: list[ModelRef], members: list[int], settings: Settings) -> LoadedModel:
    cache = model_cache(settings)
    try:
        loaded = None
        for m in members:
            loaded = cache.get(refs[m])
    except (ModelLoadError, OSError, ValueError) as exc:
        names = ", ".join(refs[m].label for m in members)
        raise EvalGenerationError(f"Cannot load model {names}: {exc}") from None
    assert loaded is not None
    return loaded


def _ids(loaded: LoadedModel, messages: list[dict]) -> list[int]:
    return encode_chat(loaded.tokenizer, messages)["input_ids"][0].tolist()


def _generate(loaded: LoadedModel, refs: list[ModelRef], prompts: list[list[int]], gen: GenerationSettings) -> list[Generated]:
    """One ``generate`` over every (prompt, model) pair: rows ordered prompt-major."""
    import torch
    from peft import PeftModel

    from studio.compare.streaming import decoding_kwargs, eos_ids
    from studio.models.scheduler import stop_at_exit

    rows = [ids for ids in prompts for _ in refs]
    width = max(len(ids) for ids in rows)
    input_ids = torch.tensor([[ids[0]] * (width - len(ids)) + ids for ids in rows], device=loaded.device)
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in rows], device=loaded.device)
    greedy = GenerationSettings(max_new_tokens=gen.max_new_tokens, temperature=0.0, repetition_penalty=gen.repetition_penalty)
    stops = eos_ids(loaded.model, loaded.tokenizer)
    with loaded.lock, torch.inference_mode():
        extra = {}  # decided under the lock: a chat may turn the base into a PeftModel meanwhile
        if isinstance(loaded.model, PeftModel):
            extra["adapter_names"] = [ref.adapter_name or BASE_ADAPTER for _ in prompts for ref in refs]
        out = loaded.model.generate(input_ids=input_ids, attention_mask=mask,
                                    **decoding_kwargs(greedy, loaded.model, [0] * len(rows), loaded.device), **extra,
                                    pad_token_id=loaded.tokenizer.pad_token_id, stopping_criteria=stop_at_exit())
    results = []
    for row in out[:, width:].tolist():
        end = next((k for k, token in enumerate(row) if token in stops), len(row))
        results.append(Generated(loaded.tokenizer.decode(row[:end], skip_special_tokens=True).strip(), end))
    return results
