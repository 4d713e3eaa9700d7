"""The generation scheduler on the real embedded model: batched answers equal each request alone,
cancel frees a slot mid-prefill, a full queue says so, a bad adapter fails only its own request."""

from __future__ import annotations

import os
import threading
import time

import pytest
import torch

from studio.models.generate import GenerationError, GenerationSettings, build_messages, encode_chat, stream_chat
from studio.models.loader import ModelLoadError, model_cache, resolve
from studio.models.scheduler import DONE, PREFILL, QUEUED, Scheduler, SchedulerBusy
from studio.settings import Settings
from tests.compare.helpers import make_random_run

pytestmark = pytest.mark.slow

PROMPTS = ["How can I rest after a session?", "Hi", "What is a kind way to journal tonight? Answer in steps.",
           "How do I tell my partner how it went?"]
MODELS = ["base", "rand-a", "rand-b", "rand-a"]  # adapters mixed in one batch, the base included
NEW = 10


@pytest.fixture(scope="module")
def sched_settings(tmp_path_factory, embedded_model_dir) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env["STUDIO_DATA_DIR"] = str(tmp_path_factory.mktemp("sched") / "data")
    settings = Settings.from_env(env)
    make_random_run(settings, "rand-a", seed=1)
    make_random_run(settings, "rand-b", seed=2)
    for name in MODELS:
        model_cache(settings).get(resolve(name, settings))  # the base, with both adapters loaded
    return settings


def _loaded(settings):
    return model_cache(settings).get_base("embedded")


def _ids(settings, prompt: str) -> list[int]:
    return encode_chat(_loaded(settings).tokenizer, build_messages(prompt))["input_ids"][0].tolist()


def _alone(settings, prompt: str, model: str, gen: GenerationSettings) -> list[int]:
    """What ``model.generate`` gives this one request, seeded the way the old one-at-a-time path seeded it."""
    loaded = _loaded(settings)
    ref = resolve(model, settings)
    ids = torch.tensor([_ids(settings, prompt)])
    torch.manual_seed(int(gen.seed))
    with loaded.lock, torch.inference_mode():
        peft = loaded.model
        peft.set_adapter(ref.adapter_name or "rand-a")
        context = peft.disable_adapter() if ref.adapter_name is None else torch.no_grad()
        with context:
            out = peft.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **gen.generate_kwargs(),
                                pad_token_id=loaded.tokenizer.pad_token_id)
    tokens = out[0, ids.shape[1]:].tolist()
    return [t for t in tokens if t != loaded.tokenizer.eos_token_id]


def _scheduler(settings, **changes) -> Scheduler:
    return Scheduler(_loaded(settings), settings.with_(**changes))


def _wait(predicate, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the scheduler"
        time.sleep(0.01)


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_each_answer_in_a_mixed_batch_equals_the_request_alone(sched_settings, temperature):
    gens = [GenerationSettings(max_new_tokens=NEW, temperature=temperature, seed=100 + i) for i in range(len(PROMPTS))]
    expected = [_alone(sched_settings, p, m, g) for p, m, g in zip(PROMPTS, MODELS, gens, strict=True)]
    assert len({tuple(e) for e in expected}) == len(expected)  # the adapters really change the answers
    scheduler = _scheduler(sched_settings, gen_max_batch=8)
    adapters = [resolve(m, sched_settings).adapter_name for m in MODELS]
    requests = [(_ids(sched_settings, p), a, g) for p, a, g in zip(PROMPTS, adapters, gens, strict=True)]
    tickets = [scheduler.submit(*request) for request in requests[:2]]
    _wait(lambda: tickets[0].tokens and tickets[1].tokens)  # the first two are decoding: the others join mid-answer
    tickets += [scheduler.submit(*request) for request in requests[2:]]
    for ticket in tickets:
        assert ticket.done.wait(timeout=600)
    assert [t.tokens for t in tickets] == expected
    assert scheduler.stats()["largest_batch"] >= 3  # they really decoded together
    assert scheduler.active() == 0


def test_stream_chat_streams_through_the_scheduler_and_reports_stats(sched_settings):
    gen = GenerationSettings(max_new_tokens=NEW, temperature=0.0, seed=0)
    stats: dict = {}
    texts = list(stream_chat("rand-a", build_messages(PROMPTS[0]), gen, sched_settings, stats))
    tokenizer = _loaded(sched_settings).tokenizer
    assert texts[-1] == tokenizer.decode(_alone(sched_settings, PROMPTS[0], "rand-a", gen), skip_special_tokens=True)
    assert len(texts) > 1 and all(b.startswith(a.rstrip()) for a, b in zip(texts, texts[1:], strict=False))
    assert stats["prompt_tokens"] == len(_ids(sched_settings, PROMPTS[0])) and 0 < stats["new_tokens"] <= NEW
    assert stats["seconds"] > 0 and "note" not in stats


def test_cancel_during_a_long_prefill_frees_the_slot_at_the_next_chunk(sched_settings):
    scheduler = _scheduler(sched_settings, gen_max_batch=1, gen_prefill_chunk=16)
    long_ids = _ids(sched_settings, "Tell me about the sea. " * 200)  # about 1,200 tokens: 75 chunks
    gen = GenerationSettings(max_new_tokens=NEW, temperature=0.0, seed=0)
    long = scheduler.submit(long_ids, None, gen)
    short = scheduler.submit(_ids(sched_settings, PROMPTS[1]), None, gen)
    _wait(lambda: long.state == PREFILL and long.prefilled >= 32)
    assert short.state == QUEUED  # the batch holds one request: the short one waits for the slot
    long.cancel()
    assert long.state == DONE and long.reason == "cancelled" and long.tokens == []
    assert long.prefilled < len(long_ids)  # it stopped mid-prefill, between chunks
    assert short.done.wait(timeout=600) and short.reason in ("eos", "length")  # the slot went to the next request
    assert short.tokens == _alone(sched_settings, PROMPTS[1], "base", gen)
    assert scheduler.active() == 0


def test_a_client_that_goes_away_frees_its_slot(sched_settings):
    gen = GenerationSettings(max_new_tokens=200, temperature=0.0, seed=0)
    stream = stream_chat("base", build_messages("Tell me a long story about the sea."), gen, sched_settings)
    next(stream)
    stream.close()  # what Gradio does when the browser goes away
    scheduler = _loaded(sched_settings).scheduler
    assert scheduler.active() == 0 and scheduler.stats()["queued"] == 0
    assert _loaded(sched_settings).lock.acquire(blocking=False)  # no step is running for it
    _loaded(sched_settings).lock.release()


def test_a_full_queue_says_how_many_are_ahead(sched_settings):
    scheduler = _scheduler(sched_settings, gen_max_batch=1, gen_queue=1)
    gen = GenerationSettings(max_new_tokens=200, temperature=0.0, seed=0)
    ids = _ids(sched_settings, PROMPTS[0])
    running = scheduler.submit(ids, None, gen)
    _wait(lambda: running.state != QUEUED)
    waiting = scheduler.submit(ids, None, gen)
    with pytest.raises(SchedulerBusy) as refused:
        scheduler.submit(ids, None, gen)
    assert str(refused.value) == "The studio is busy: 2 people ahead of you. Please try again in a moment."
    assert isinstance(refused.value, GenerationError)  # callers already show these messages
    waiting.cancel()
    assert waiting.reason == "cancelled" and scheduler.stats()["queued"] == 0  # it left the queue at once
    running.cancel()
    assert scheduler.active() == 0


def test_too_many_tokens_are_clipped_with_a_note(sched_settings):
    settings = sched_settings.with_(gen_max_new_tokens=3)
    scheduler = _scheduler(settings)
    ticket = scheduler.submit(_ids(settings, PROMPTS[0]), None, GenerationSettings(max_new_tokens=50, temperature=0.0))
    assert ticket.done.wait(timeout=600)
    assert len(ticket.tokens) == 3 and ticket.reason == "length"
    assert "asked for 50" in ticket.stats()["note"] and "3" in ticket.stats()["note"]


def test_an_adapter_that_fails_to_load_fails_only_its_own_request(sched_settings):
    broken = sched_settings.runs_dir / "rand-broken"
    (broken / "adapter").mkdir(parents=True)
    source = sched_settings.runs_dir / "rand-a" / "adapter"
    (broken / "adapter" / "adapter_config.json").write_text((source / "adapter_config.json").read_text())
    (broken / "adapter" / "adapter_model.safetensors").write_bytes(b"not weights")
    (broken / "config.yaml").write_text("base_model: embedded\n")
    gen = GenerationSettings(max_new_tokens=NEW, temperature=0.0, seed=0)
    results: dict = {}

    def good():
        results["text"] = list(stream_chat("rand-b", build_messages(PROMPTS[2]), gen, sched_settings))[-1]

    worker = threading.Thread(target=good)
    worker.start()
    with pytest.raises(ModelLoadError, match="adapter of rand-broken could not be loaded"):
        list(stream_chat("rand-broken", build_messages(PROMPTS[2]), gen, sched_settings))
    assert "rand-broken" not in _loaded(sched_settings).model.peft_config  # nothing half-loaded stays behind
    worker.join(timeout=600)
    tokenizer = _loaded(sched_settings).tokenizer
    assert results["text"] == tokenizer.decode(_alone(sched_settings, PROMPTS[2], "rand-b", gen), skip_special_tokens=True)
    again = list(stream_chat("rand-a", build_messages(PROMPTS[0]), gen, sched_settings))[-1]  # the model still works
    assert again == tokenizer.decode(_alone(sched_settings, PROMPTS[0], "rand-a", gen), skip_special_tokens=True)


def test_an_adapter_unloaded_mid_answer_fails_only_its_own_row(sched_settings):
    scheduler = _scheduler(sched_settings)
    gen = GenerationSettings(max_new_tokens=NEW, temperature=0.0, seed=0)
    kept = scheduler.submit(_ids(sched_settings, PROMPTS[0]), "rand-a", gen)
    dropped = scheduler.submit(_ids(sched_settings, PROMPTS[0]), "rand-b", GenerationSettings(max_new_tokens=200, temperature=0.0))
    _wait(lambda: kept.tokens and dropped.tokens)
    model_cache(sched_settings).forget_adapter("rand-b")  # e.g. its run was resumed and re-saved
    try:
        assert dropped.done.wait(timeout=600) and dropped.reason == "error"
        assert kept.done.wait(timeout=600) and kept.tokens == _alone(sched_settings, PROMPTS[0], "rand-a", gen)
    finally:
        model_cache(sched_settings).get(resolve("rand-b", sched_settings))


def test_a_long_prompt_neither_delays_a_short_one_nor_pads_it(sched_settings):
    scheduler = _scheduler(sched_settings, gen_prefill_chunk=16)
    gen = GenerationSettings(max_new_tokens=NEW, temperature=0.0, seed=0)
    long = scheduler.submit(_ids(sched_settings, "Tell me about the sea. " * 200), None, gen)  # about 75 chunks
    _wait(lambda: long.prefilled >= 32)
    short = scheduler.submit(_ids(sched_settings, PROMPTS[1]), "rand-a", gen)
    assert short.done.wait(timeout=600)
    assert (long.state, long.reason, long.first_token_at) == (PREFILL, None, None)  # the short one went first, and ended
    assert short.tokens == _alone(sched_settings, PROMPTS[1], "rand-a", gen)
    long.cancel()
    assert scheduler.active() == 0


def test_rows_of_very_different_lengths_decode_in_separate_groups(sched_settings):
    scheduler = _scheduler(sched_settings)
    story = "Tell me a long story about the sea."
    short_gen = GenerationSettings(max_new_tokens=40, temperature=0.0, seed=0)
    gen = GenerationSettings(max_new_tokens=NEW, temperature=0.0, seed=0)
    short = scheduler.submit(_ids(sched_settings, story), None, short_gen)
    _wait(lambda: short.tokens)
    long_prompt = "I keep thinking about the session. " * 100  # about 750 tokens with the template
    long = scheduler.submit(_ids(sched_settings, long_prompt), "rand-b", gen)
    _wait(lambda: long.tokens or long.done.is_set())
    assert not short.done.is_set() and scheduler.stats()["groups"] == 2
    assert short.done.wait(timeout=600) and long.done.wait(timeout=600)
    assert short.tokens == _alone(sched_settings, story, "base", short_gen)
    assert long.tokens == _alone(sched_settings, long_prompt, "rand-b", gen)
