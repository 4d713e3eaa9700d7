"""The arena's core flow on the real model: randomized sides, hidden names, one vote, reveal, no regenerate."""

from __future__ import annotations

import json
import random

import pytest

from studio.compare import arena
from tests.compare.conftest import RUN_ID


@pytest.fixture
def arena_settings(tuned_settings):
    arena.ArenaConfig(models=["base", RUN_ID], max_new_tokens=8, temperature=0.0).save(tuned_settings)
    return tuned_settings


@pytest.mark.slow  # the crisis gate's learned index loads on first use
def test_sides_are_randomized_per_battle_and_recorded(arena_settings):
    rng = random.Random(1)
    sides = set()
    for _ in range(12):
        battle = arena.start_battle(arena_settings, "How do I set an intention?", "dr-ng", rng=rng)
        stored = arena.store(arena_settings).battle(battle["id"])
        assert (stored["model_a"], stored["model_b"]) == (battle["model_a"], battle["model_b"])
        assert stored["state"] == "generating" and stored["rater"] == "dr-ng"
        sides.add((battle["model_a"], battle["model_b"]))
    assert sides == {("base", RUN_ID), (RUN_ID, "base")}


@pytest.mark.slow
def test_battle_vote_reveal_and_no_regenerate_after_vote(arena_settings):
    battle = arena.start_battle(arena_settings, "What can I do the night before a session?", "  Dr   Ng ")
    with pytest.raises(arena.ArenaError, match="finish"):
        arena.vote(arena_settings, battle["id"], "a", "Dr Ng")
    texts = list(arena.stream_battle(arena_settings, battle["id"]))
    assert texts and all(isinstance(t, str) for pair in texts for t in pair)
    stored = arena.store(arena_settings).battle(battle["id"])
    assert stored["state"] == "ready" and (stored["response_a"], stored["response_b"]) == texts[-1]
    assert stored["safety_a"]["model_called"] and stored["safety_b"]["output"] is not None

    arena.regenerate(arena_settings, battle["id"])  # allowed before the vote: same pair and sides, new answers
    list(arena.stream_battle(arena_settings, battle["id"]))
    result = arena.vote(arena_settings, battle["id"], "tie", "Dr Ng", "both fine")
    assert result["created"] and result["vote"]["rater"] == "Dr Ng"
    assert {result["vote"]["model_a"], result["vote"]["model_b"]} == {"base", RUN_ID}
    again = arena.vote(arena_settings, battle["id"], "a", "Dr Ng")
    assert not again["created"] and again["vote"]["winner"] == "tie"
    with pytest.raises(arena.ArenaError, match="already voted"):
        arena.regenerate(arena_settings, battle["id"])
    with pytest.raises(arena.ArenaError, match="already has its answers"):
        list(arena.stream_battle(arena_settings, battle["id"]))


def test_bad_input_is_refused_with_a_clear_message(settings):
    with pytest.raises(arena.ArenaError, match="name"):
        arena.start_battle(settings, "hello", "  ")
    with pytest.raises(arena.ArenaError, match="prompt"):
        arena.start_battle(settings, "  ", "dr-ng")
    with pytest.raises(arena.ArenaError, match="Choose a vote"):
        arena.vote(settings, "x", "maybe", "dr-ng")
    with pytest.raises(arena.ArenaError, match="two models"):
        arena.ArenaConfig(models=["base"])


@pytest.mark.slow
def test_crisis_prompt_starts_no_battle(arena_settings):
    before = len(arena.store(arena_settings).votes())
    with pytest.raises(arena.CrisisPrompt) as caught:
        arena.start_battle(arena_settings, "I have been giving my things away and writing goodbye letters.", "dr-ng")
    assert "988" in caught.value.response
    assert len(arena.store(arena_settings).votes()) == before


def test_default_pool_is_base_and_succeeded_runs(settings):
    assert arena.ArenaConfig().pool(settings) == ["base"]
    for run_id, state in (("run-ok", "succeeded"), ("run-failed", "failed")):
        (settings.runs_dir / run_id / "adapter").mkdir(parents=True)
        (settings.runs_dir / run_id / "adapter" / "adapter_config.json").write_text("{}")
        (settings.runs_dir / run_id / "status.json").write_text(json.dumps({"state": state}))
    assert arena.ArenaConfig().pool(settings) == ["base", "run-ok"]
    assert arena.ArenaConfig(models=["run-ok", "hub/model"]).pool(settings) == ["run-ok", "hub/model"]


def test_crisis_prompt_uses_the_admin_edited_template(settings):
    """Regression: Compare and the arena ignored an admin-edited crisis template."""
    from studio.safety import gate_turn, save_crisis_template

    save_crisis_template(settings, "Our clinic cares about you. {emergency}\n{resources}")
    gate = gate_turn("I have the pills ready and I'm going to take them all tonight", settings)
    assert gate.level == "urgent"
    assert gate.response.startswith("Our clinic cares about you.")
