"""Side by side on shared weights: memory and wall time against the alternatives, in one run.

Memory (tensor bytes of parameters and buffers, unique storages; on a GPU, allocated memory):
* ``one model``: the base alone;
* ``shared``: the base plus a LoRA adapter loaded into the same PEFT model (what Compare uses);
* ``two copies``: the base plus a second full copy for the tuned model (the naive way).

Wall time, same prompt, settings and seed (greedy), with the crisis gate on the prompt and the output
guard on both answers in both arms:
* ``batched``: ``compare_pair`` (ONE generate, rows with ``adapter_names=["__base__", run]``);
* ``one after the other``: ``generate_chat`` for the base, then for the run (what Chat would do twice).
Arms alternate order across repeats; medians are reported.

The adapter is a real LoRA (r 16 on all attention and MLP projections) with seeded random B
matrices small enough that both answers run to the token limit, so both arms generate the same count.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

PROMPT = "I have my first ketamine session next week. What are some ways I can prepare, and what should I ask my care team?"
SYSTEM = "You are a warm, careful AI companion for people in ketamine-assisted therapy."
NEW_TOKENS = int(os.environ.get("BENCH_COMPARE_TOKENS", "64"))
REPEATS = int(os.environ.get("BENCH_COMPARE_REPEATS", "3"))
RUN_ID = "bench-lora"


def make_adapter(settings, run_id: str = RUN_ID, scale: float = 0.02, seed: int = 0) -> Path:
    """A real PEFT LoRA saved as a succeeded run, with seeded non-zero B matrices."""
    import json

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from studio.models.loader import base_path

    model = AutoModelForCausalLM.from_pretrained(base_path("embedded", settings), dtype=torch.float32)
    config = LoraConfig(r=16, lora_alpha=32, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(model, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * scale)
    run_dir = settings.runs_dir / run_id
    model.save_pretrained(run_dir / "adapter")
    (run_dir / "config.yaml").write_text("base_model: embedded\n")
    (run_dir / "status.json").write_text(json.dumps({"state": "succeeded", "backend": "bench"}))
    return run_dir


def tensor_bytes(model) -> int:
    seen, total = set(), 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        key = tensor.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            total += tensor.untyped_storage().nbytes()
    return total


def measure_memory(settings) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    from studio.models.loader import base_path, model_cache, resolve

    cache = model_cache(settings)
    one = tensor_bytes(cache.get_base("embedded").model)
    shared = tensor_bytes(cache.get(resolve(RUN_ID, settings)).model)  # the adapter joins the same model
    second = AutoModelForCausalLM.from_pretrained(base_path("embedded", settings), dtype=torch.float32)
    from peft import PeftModel

    second = PeftModel.from_pretrained(second, str(settings.runs_dir / RUN_ID / "adapter"))
    two = one + tensor_bytes(second)
    del second
    return {"one_mb": round(one / 2**20, 1), "shared_mb": round(shared / 2**20, 1), "two_copies_mb": round(two / 2**20, 1)}


def measure_time(settings) -> dict:
    from studio.compare.side_by_side import compare_pair
    from studio.models.generate import GenerationSettings, build_messages, generate_chat
    from studio.safety import answer_safety, gate_turn

    gen = GenerationSettings(max_new_tokens=NEW_TOKENS, temperature=0.0, seed=0)
    messages = build_messages(PROMPT, SYSTEM)

    def batched() -> tuple[float, int]:
        start = time.perf_counter()
        a, b = compare_pair("base", RUN_ID, PROMPT, SYSTEM, gen, settings)
        return time.perf_counter() - start, a.new_tokens + b.new_tokens

    def sequential() -> tuple[float, int]:
        start = time.perf_counter()
        gate = gate_turn(PROMPT, settings)
        tokens = 0
        for model in ("base", RUN_ID):
            result = generate_chat(model, messages, gen, settings)
            answer_safety(result.text, gate)
            tokens += result.new_tokens
        return time.perf_counter() - start, tokens

    arms = {"batched": batched, "sequential": sequential}
    batched(), sequential()  # warm-up: loading, first-call costs
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in arms}
    for r in range(REPEATS):
        for name in (list(arms) if r % 2 == 0 else list(reversed(arms))):
            samples[name].append(arms[name]())
    return {name: {"s": statistics.median(s for s, _ in runs), "tokens": statistics.median(t for _, t in runs)}
            for name, runs in samples.items()}


def main() -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from studio.settings import Settings

    settings = Settings.from_env({"STUDIO_DATA_DIR": str(Path(tempfile.mkdtemp(prefix="bench-compare-")) / "data")})
    make_adapter(settings)
    memory = measure_memory(settings)
    timing = measure_time(settings)
    b, s = timing["batched"], timing["sequential"]
    figures = {
        "memory shared base+adapter / one model": round(memory["shared_mb"] / memory["one_mb"], 3),
        "memory shared base+adapter / two copies": round(memory["shared_mb"] / memory["two_copies_mb"], 3),
        "wall time one batched generate / two answers one after the other": round(b["s"] / s["s"], 3),
        "one model (MB)": memory["one_mb"],
        "shared base+adapter (MB)": memory["shared_mb"],
        "two copies (MB)": memory["two_copies_mb"],
        "batched: median s (tokens)": f"{b['s']:.2f} ({b['tokens']})",
        "one after the other: median s (tokens)": f"{s['s']:.2f} ({s['tokens']})",
    }
    return {
        "title": "Compare: shared-weight side by side",
        "goal": "memory <= 1.15x one model; wall time <= 0.75x generating the two answers one after the other",
        "figures": figures,
        "notes": (f"Greedy, {NEW_TOKENS} new tokens per answer, median of {REPEATS} alternating repeats after a warm-up; "
                  "memory counts parameter and buffer storage (fp32 on CPU). Both arms run the crisis gate and the output guard."),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
