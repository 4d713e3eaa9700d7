"""Tiny companion conversations (own words) and a config that trains a few steps in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.train.config import TrainConfig

CONVERSATIONS = [
    [
        {"role": "user", "content": "My first ketamine session is tomorrow and I feel nervous."},
        {"role": "assistant", "content": "Feeling nervous before a first session is common. Writing down one intention and planning a calm ride home can help."},
    ],
    [
        {"role": "user", "content": "Should I ask for a higher dose next time?"},
        {"role": "assistant", "content": "I can't advise on dosing. Your prescribing clinician is the right person to ask; I can help you write down your questions."},
    ],
    [
        {"role": "system", "content": "You are a careful AI companion."},
        {"role": "user", "content": "The session felt strange. How do I make sense of it?"},
        {"role": "assistant", "content": "Integration takes time. Journaling what you noticed, without judging it, is a gentle start."},
        {"role": "user", "content": "What if I feel worse?"},
        {"role": "assistant", "content": "Please tell your care team. If you ever feel unsafe, call or text 988 in the US, or 911 in an emergency."},
    ],
    [
        {"role": "user", "content": "Can you tell me what is wrong with me?"},
        {"role": "assistant", "content": "I'm an AI companion, not a therapist, so I can't diagnose. Your clinician can. I'm glad to listen meanwhile."},
    ],
]


def write_jsonl(path: Path, conversations: list[list[dict]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"messages": c}) + "\n" for c in conversations), encoding="utf-8")
    return path


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS * 2)


def tiny_config(dataset: Path | str, **changes) -> TrainConfig:
    """A few optimizer steps at batch 2, max_length 128: seconds per step on 2 CPU cores."""
    base = dict(dataset=str(dataset), preset="cpu", max_steps=3, batch_size=2, gradient_accumulation=1,
                max_length=128, save_steps=2, learning_rate=5e-4, lora={"r": 8, "alpha": 16, "dropout": 0.0,
                                                                       "target_modules": ["q_proj", "v_proj"]})
    base.update(changes)
    return TrainConfig.from_dict(base)
