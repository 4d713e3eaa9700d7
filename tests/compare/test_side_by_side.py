"""Side by side on the real embedded model and a real LoRA run: one batched generate, same texts as alone."""

from __future__ import annotations

import os

import pytest

from studio.compare.side_by_side import BATCHED, CRISIS, PARALLEL, compare_pair, stream_pair
from studio.models.generate import GenerationSettings, build_messages, generate_chat
from studio.models.loader import model_cache
from tests.compare.conftest import RUN_ID

PROMPT = "How can I prepare for my first session?"
SYSTEM = "You are a careful companion."
pytestmark = pytest.mark.slow


def _alone(model: str, gen: GenerationSettings, settings) -> str:
    return generate_chat(model, build_messages(PROMPT, SYSTEM), gen, settings).text


@pytest.mark.parametrize("temperature", [0.0, 0.8], ids=["greedy", "sampled"])
def test_shared_weights_pair_equals_each_model_alone(tuned_settings, temperature):
    gen = GenerationSettings(max_new_tokens=16, temperature=temperature, seed=7)
    updates = list(stream_pair("base", RUN_ID, PROMPT, SYSTEM, gen, tuned_settings))
    final = updates[-1]
    assert final.mode == BATCHED and final.status == "done"
    a, b = final.answers
    assert a.text == _alone("base", gen, tuned_settings)
    assert b.text == _alone(RUN_ID, gen, tuned_settings)
    assert a.text != b.text  # the adapter really changes the answer
    # one copy of the base weights, the adapter loaded into it by name
    cache = model_cache(tuned_settings)
    assert list(cache._models) == ["embedded"] and RUN_ID in cache.get_base("embedded").adapters


def test_both_answers_stream_and_report_tokens_and_speed(tuned_settings):
    gen = GenerationSettings(max_new_tokens=12, temperature=0.0, seed=0)
    updates = list(stream_pair(RUN_ID, "base", "Give me one journaling prompt.", SYSTEM, gen, tuned_settings))
    growing = [u for u in updates if u.status == "generating"]
    assert len(growing) >= 12  # one update per generated token of either row
    assert any(u.texts[0] and u.texts[1] for u in growing)  # both sides progress in the same stream
    a, b = updates[-1].answers
    for answer in (a, b):
        assert 0 < answer.new_tokens <= 12 and answer.tokens_per_s > 0
        assert answer.safety.model_called and answer.safety.guard is not None
    assert a.model == RUN_ID and b.model == "base"


def test_different_bases_run_side_by_side_with_same_results(tuned_settings, embedded_model_dir):
    # A local path: a second base, loaded separately. Relative, because loader.resolve() takes an absolute
    # path for a run directory (runs_dir / "/abs" == "/abs"); reported to the loader's owner.
    other = os.path.relpath(embedded_model_dir)
    gen = GenerationSettings(max_new_tokens=10, temperature=0.0, seed=0)
    final = list(stream_pair(RUN_ID, other, PROMPT, SYSTEM, gen, tuned_settings))[-1]
    assert final.mode == PARALLEL
    a, b = final.answers
    assert a.text == _alone(RUN_ID, gen, tuned_settings)
    assert b.text == _alone("base", gen, tuned_settings)  # the same weights, loaded from the path


def test_urgent_prompt_shows_the_crisis_template_and_calls_no_model(settings):
    gen = GenerationSettings(max_new_tokens=8)
    a, b = compare_pair("base", "base", "I took all the pills in the bottle and I want to die.", None, gen, settings)
    assert a.text == b.text and "988" in a.text
    assert not a.safety.model_called and a.safety.gate.level == "urgent"
    assert a.new_tokens == 0 and "crisis_template" in a.safety.flags
    assert not model_cache(settings).is_loaded("embedded")


def test_crisis_mode_is_reported(settings):
    updates = list(stream_pair("base", "base", "I want to kill myself tonight.", None, GenerationSettings(), settings))
    assert len(updates) == 1 and updates[0].mode == CRISIS


def test_closing_the_stream_stops_generation_and_frees_the_model(tuned_settings):
    gen = GenerationSettings(max_new_tokens=400, temperature=0.0, seed=0)
    stream = stream_pair("base", RUN_ID, "Tell me a long story about the sea.", None, gen, tuned_settings)
    seen = 0
    for update in stream:
        seen += update.status == "generating"
        if seen == 3:
            break
    stream.close()  # what Gradio does when the browser goes away
    loaded = model_cache(tuned_settings).get_base("embedded")
    assert loaded.lock.acquire(blocking=False)  # the worker has ended: nothing holds the model
    loaded.lock.release()
