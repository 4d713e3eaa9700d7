"""Generation: tokens per second at 1, 4, 8 and 16 concurrent requests, batched by the scheduler
against the same scheduler answering one request at a time; adapters mixed in the batch.

Both arms decode the same greedy requests, so they must give the same tokens (checked). Memory: the
weights are loaded once whatever the number of adapters; the KV cache costs a fixed number of bytes
per token in the batch (reported, with the largest cache a run held).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

LEVELS = [int(n) for n in os.environ.get("BENCH_GEN_LEVELS", "1,4,8,16").split(",")]
NEW_TOKENS = int(os.environ.get("BENCH_GEN_TOKENS", "24"))
PROMPTS = ["How can I rest after a session?", "What is a kind way to journal tonight?", "How do I tell my partner how it went?",
           "What should I bring to my first session?", "How do I explain integration to a friend?", "Hi"]
MODELS = ["base", "rand-a", "rand-b"]


def _run(loaded, settings, requests: list, max_batch: int) -> tuple[float, list[list[int]], dict]:
    from studio.models.scheduler import Scheduler

    scheduler = Scheduler(loaded, settings.with_(gen_max_batch=max_batch, gen_queue=len(requests)))
    started = time.perf_counter()
    tickets = [scheduler.submit(ids, adapter, gen) for ids, adapter, gen in requests]
    for ticket in tickets:
        ticket.done.wait()
    wall = time.perf_counter() - started
    return wall, [t.tokens for t in tickets], scheduler.stats()


def _cancel_seconds(loaded, settings) -> tuple[float, int, int]:
    """Cancel a long prompt mid-prefill -> (seconds from cancel to a free slot, tokens prefilled, prompt tokens)."""
    from studio.models.generate import GenerationSettings, build_messages, encode_chat
    from studio.models.scheduler import PREFILL, Scheduler

    scheduler = Scheduler(loaded, settings)
    ids = encode_chat(loaded.tokenizer, build_messages("Tell me about the sea. " * 300, settings=settings))["input_ids"][0].tolist()
    ticket = scheduler.submit(ids, None, GenerationSettings(max_new_tokens=8, temperature=0.0))
    while not (ticket.state == PREFILL and ticket.prefilled >= 4 * settings.gen_prefill_chunk):
        time.sleep(0.005)
    started = time.perf_counter()
    ticket.cancel()
    return time.perf_counter() - started, ticket.prefilled, len(ids)


def main() -> dict:
    from studio.models.generate import GenerationSettings, build_messages, encode_chat
    from studio.models.loader import model_cache, resolve
    from studio.settings import Settings
    from tests.compare.helpers import make_random_run

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
        settings = Settings.from_env({**env, "STUDIO_DATA_DIR": str(Path(tmp) / "data")})
        make_random_run(settings, "rand-a", seed=1)
        make_random_run(settings, "rand-b", seed=2)
        refs = [resolve(m, settings) for m in MODELS]
        loaded = None
        for ref in refs:
            loaded = model_cache(settings).get(ref)
        gen = GenerationSettings(max_new_tokens=NEW_TOKENS, temperature=0.0, seed=0)
        warm = encode_chat(loaded.tokenizer, build_messages(PROMPTS[0]))["input_ids"][0].tolist()
        _run(loaded, settings, [(warm, None, gen)] * 2, 2)  # first forward passes and thread pool start outside the timing
        rows, same = [], True
        for level in LEVELS:
            requests = []
            for i in range(level):
                ids = encode_chat(loaded.tokenizer, build_messages(PROMPTS[i % len(PROMPTS)]))["input_ids"][0].tolist()
                requests.append((ids, refs[i % len(refs)].adapter_name, gen))
            alone_s, alone_tokens, _ = _run(loaded, settings, requests, 1)
            batched_s, batched_tokens, stats = _run(loaded, settings, requests, max(LEVELS))
            same = same and alone_tokens == batched_tokens
            tokens = sum(len(t) for t in batched_tokens)
            rows.append({"concurrent requests": level, "tokens": tokens, "largest batch": stats["largest_batch"], "largest KV cache (MB)": stats["largest_kv_mb"],
                         "one at a time (tokens/s)": round(tokens / alone_s, 2),
                         "scheduler (tokens/s)": round(tokens / batched_s, 2),
                         "speed-up (x)": round(alone_s / batched_s, 2)})
        cancel_s, prefilled, prompt = _cancel_seconds(loaded, settings)
        config = loaded.model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        kv_per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * 4  # keys and values, fp32
        weights_mb = sum(p.numel() * p.element_size() for p in loaded.model.parameters()) / 2**20
    top = rows[-1]
    return {
        "title": "Generation: tokens/s at 1-16 concurrent requests, scheduler vs one at a time (base and 2 adapters mixed)",
        "goal": "batched decoding faster than one at a time; each answer identical to its request alone",
        "figures": {
            f"speed-up at {top['concurrent requests']} concurrent (x)": top["speed-up (x)"],
            "answers identical in both arms": same,
            f"cancel during a {prompt}-token prefill: seconds until the slot is free": round(cancel_s, 3),
            "prompt tokens prefilled when cancelled": prefilled,
            "weights in memory (MB, one copy for base + 2 adapters)": round(weights_mb, 1),
            "KV cache per token in the batch (KB)": round(kv_per_token / 1024, 1),
            "KV cache at the largest batch (MB)": top["largest KV cache (MB)"],
        },
        "rows": rows,
        "notes": f"Greedy, {NEW_TOKENS} new tokens at most per request, prompts of about 40-50 tokens. "
                 "The machine was shared with other jobs; ratios are measured side by side.",
    }
