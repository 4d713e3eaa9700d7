"""Facts with one home: every surface reads the same system prompt, split and crisis lines."""

from __future__ import annotations

import json
from types import SimpleNamespace

from studio.compare.arena import ArenaConfig
from studio.compare.batch import run_batch
from studio.data.export import DEFAULT_SPLIT_SEED, split
from studio.models.generate import GenerationSettings
from studio.models.system_prompt import DEFAULT_SYSTEM, load_system_prompt, save_system_prompt
from studio.train.config import TrainConfig


def test_the_arena_judges_under_the_prompt_chat_serves(settings):
    assert ArenaConfig.load(settings).system == DEFAULT_SYSTEM
    ArenaConfig(models=["base", "run-a"]).save(settings)  # saved without touching the prompt
    save_system_prompt(settings, "You are a careful AI companion, not a therapist. Be brief.")
    assert ArenaConfig.load(settings).system == load_system_prompt(settings)
    stored = json.loads(settings.arena_config_file.read_text(encoding="utf-8"))
    assert stored["system"] == ""  # it follows Chat's prompt rather than pinning a copy


def test_an_arena_prompt_an_admin_chose_is_kept(settings):
    ArenaConfig(models=["base", "run-a"], system="Arena-only prompt.").save(settings)
    save_system_prompt(settings, "Chat's prompt.")
    assert ArenaConfig.load(settings).system == "Arena-only prompt."


def test_batch_runs_use_the_companion_prompt_by_default(settings, monkeypatch):
    seen = []

    def fake_pair(model_a, model_b, prompt, system, gen, settings):  # records what the models would be given
        seen.append(system)
        side = SimpleNamespace(to_dict=lambda: {"text": "ok"})
        return side, side

    monkeypatch.setattr("studio.compare.batch.compare_pair", fake_pair)
    save_system_prompt(settings, "The clinic's own companion prompt.")
    records = list(run_batch("base", "base", [{"prompt": "Hello"}, {"prompt": "Hi", "system": "Own."}],
                             GenerationSettings(max_new_tokens=4), settings))
    assert seen == ["The clinic's own companion prompt.", "Own."]
    assert records[0]["system"] == "The clinic's own companion prompt."


def test_exported_eval_split_is_the_one_training_holds_out():
    assert TrainConfig(dataset="x").seed == DEFAULT_SPLIT_SEED
    rows = [{"i": i} for i in range(20)]
    train, held = split(rows, 0.2)
    assert len(held) == 4 and sorted(r["i"] for r in train + held) == list(range(20))
    assert split(rows[:1], 0.5) == ([rows[0]], [])  # one row is never all held out


def test_the_header_shows_the_regions_own_lines(settings):
    from studio.ui.app import build_app

    demo = build_app(settings.with_(region="UK"))
    header = next(b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "disclosure")
    assert "999" in header and "988" not in header and "AI companion, not a therapist" in header
