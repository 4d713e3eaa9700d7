"""A real, freshly trained LoRA run on the embedded model, for tests (no training engine needed)."""

from __future__ import annotations

import json
from pathlib import Path

from studio.settings import Settings

TRAIN_TEXTS = [
    [
        {"role": "user", "content": "I feel nervous about my first session tomorrow."},
        {"role": "assistant", "content": "That makes sense. Let's slow down together and breathe: in for four, out for six."},
    ],
    [
        {"role": "user", "content": "How can I journal after a session?"},
        {"role": "assistant", "content": "Try three prompts: what I noticed, what I felt, what I want to carry forward."},
    ],
]


def make_run(settings: Settings, run_id: str = "run-test-lora", steps: int = 4, lr: float = 3e-3) -> Path:
    """Train a tiny LoRA for a few real optimizer steps and save it as a succeeded run dir."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.models.loader import base_path

    path = base_path("embedded", settings)
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    texts = [tokenizer.apply_chat_template(conv, tokenize=False) for conv in TRAIN_TEXTS]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert any(float(p.detach().abs().sum()) > 0 for p in lora_b), "LoRA B stayed zero: nothing was trained"
    return _save_run(settings, run_id, model, tokenizer, steps)


def make_random_run(settings: Settings, run_id: str, seed: int = 0) -> Path:
    """A succeeded run whose LoRA has random A and B weights: no training, yet it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.models.loader import base_path

    path = base_path("embedded", settings)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False,
                        task_type="CAUSAL_LM")
    return _save_run(settings, run_id, get_peft_model(model, config), AutoTokenizer.from_pretrained(path), 0)


def _save_run(settings: Settings, run_id: str, model, tokenizer, steps: int) -> Path:
    run_dir = settings.runs_dir / run_id
    model.save_pretrained(run_dir / "adapter")
    tokenizer.save_pretrained(run_dir / "adapter")
    (run_dir / "config.yaml").write_text("base_model: embedded\ndataset: made-in-process-by-the-tests\n")
    status = {"state": "succeeded", "backend": "test", "created_at": "2026-01-01T00:00:00Z", "step": steps, "total_steps": steps}
    (run_dir / "status.json").write_text(json.dumps(status))
    return run_dir
