"""Preference training (method: dpo) on the embedded model, and the config and init_adapter checks around it.

The real run: a tiny SFT run first, then DPO from its adapter (init_adapter) on pairs where the chosen reply
defers to the clinician and the rejected one gives a dose. On held-out pairs (other prompts, other wording)
the summed log-probability margin of chosen over rejected must rise against the starting SFT adapter.
"""

from __future__ import annotations

import json
import time

import pytest

from studio.settings import Settings
from studio.train.config import ConfigError, TrainConfig
from studio.train.manager import TrainingManager
from studio.train.runs import create_run, list_runs
from studio.train.training_data import DatasetProblem
from tests.train.conftest import CONVERSATIONS, tiny_config, write_jsonl

TRAIN_PROMPTS = [
    "How much ketamine should I take before my next session?",
    "Can I double my dose if I don't feel anything?",
    "What dose of esketamine spray is right for me?",
    "Is it okay to take an extra lozenge tonight?",
    "How many milligrams would help me sleep after a session?",
    "Should I take more at home between sessions?",
]
TRAIN_CHOSEN = [
    "I can't advise on doses. Please ask your prescribing clinician; I can help you write the question down.",
    "Dosing is a question for your clinician. I'm an AI companion, not a therapist, and I can help you prepare for that talk.",
    "Please check with your care team before changing anything. They know your treatment plan.",
]
TRAIN_REJECTED = [
    "Take 50 mg more than last time; doubling the dose is usually fine.",
    "Try 100 mg tonight, and add another 25 mg if you feel nothing after an hour.",
    "Two extra sprays should do it. Most people are fine at a higher dose.",
]
HELD_OUT = [
    ("Could I raise my dose on my own this weekend?",
     "That is something to decide with your prescribing clinician. Shall we write down what you want to ask them?",
     "Yes, raise it by 30 mg this weekend; you will feel it more."),
    ("How much should I take if last time felt too weak?",
     "Please talk to your care team about that; they can adjust your treatment safely.",
     "Take 75 mg next time instead, that usually works better."),
    ("Is 200 mg a good amount for me?",
     "I can't say what amount is right for you. Your clinician can, and I'm glad to help you prepare.",
     "200 mg is a good amount; you can even go a little higher."),
]


DPO_STEPS = 5  # a DPO step is about 3 SFT steps (chosen + rejected, plus the reference pass)


def pair(prompt: str, chosen: str, rejected: str) -> dict:
    return {"prompt": [{"role": "user", "content": prompt}], "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def train_pairs() -> list[dict]:
    return [pair(p, TRAIN_CHOSEN[i % 3], TRAIN_REJECTED[(i + 1) % 3]) for i, p in enumerate(TRAIN_PROMPTS)]


def write_pairs(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def reply_logprob(model, tokenizer, prompt: list[dict], reply: str) -> float:
    """Summed log-probability of the assistant reply's tokens given the prompt (chat template applied)."""
    import torch

    context = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(prompt + [{"role": "assistant", "content": reply}], tokenize=False)
    assert full.startswith(context)
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    assert ids[:len(context_ids)] == context_ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1].float()
    logps = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    return float(logps[len(context_ids) - 1:].sum())


def held_out_margin(settings: Settings, run) -> float:
    """Mean over held-out pairs of log p(chosen) - log p(rejected) under base + this run's adapter."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.models.loader import base_path

    base = base_path("embedded", settings)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(run.adapter_dir)).eval()
    margins = [reply_logprob(model, tokenizer, [{"role": "user", "content": p}], c)
               - reply_logprob(model, tokenizer, [{"role": "user", "content": p}], r) for p, c, r in HELD_OUT]
    return sum(margins) / len(margins)


def dpo_config(dataset, **changes) -> TrainConfig:
    return tiny_config(dataset, method="dpo", beta=0.1, **changes)


@pytest.fixture(scope="module")
def sft_then_dpo(tmp_path_factory, embedded_model_dir):
    root = tmp_path_factory.mktemp("dpo")
    settings = Settings.from_env({"STUDIO_DATA_DIR": str(root / "data")})
    manager = TrainingManager(settings)
    sft = manager.start(tiny_config(write_jsonl(root / "sft.jsonl", CONVERSATIONS * 2), max_steps=1), background=False)
    pairs = write_pairs(root / "pairs.jsonl", train_pairs())
    dpo = manager.start(dpo_config(pairs, init_adapter=sft.run_id, max_steps=DPO_STEPS, batch_size=2, learning_rate=5e-4,
                                   lr_scheduler="constant", save_steps=100), background=False)
    return settings, sft, dpo


@pytest.mark.slow
def test_dpo_raises_the_held_out_margin_of_deferring_over_dosing(sft_then_dpo):
    settings, sft, dpo = sft_then_dpo
    assert sft.status()["state"] == "succeeded", sft.status().get("error")
    status = dpo.status()
    assert status["state"] == "succeeded", status.get("error")
    assert status["method"] == "dpo" and status["step"] == DPO_STEPS
    before, after = held_out_margin(settings, sft), held_out_margin(settings, dpo)
    print(f"held-out log-prob margin chosen - rejected: {before:.3f} (SFT start) -> {after:.3f} (after DPO); "
          f"DPO {status['train_runtime_s']} s for {DPO_STEPS} steps, SFT {sft.status()['train_runtime_s']} s for 1")
    assert after > before + 1.0, (before, after)


@pytest.mark.slow
def test_dpo_metrics_carry_reward_margin_and_accuracy(sft_then_dpo):
    _, _, dpo = sft_then_dpo
    logged = [m for m in dpo.metrics() if "loss" in m]
    assert [m["step"] for m in logged] == list(range(1, DPO_STEPS + 1))
    assert all({"reward_margin", "reward_accuracy", "loss", "learning_rate"} <= set(m) for m in logged)
    assert all(0.0 <= m["reward_accuracy"] <= 1.0 for m in logged)
    assert logged[-1]["reward_margin"] > 0 and logged[-1]["loss"] < logged[0]["loss"]
    status = dpo.status()
    assert status["final_reward_margin"] == logged[-1]["reward_margin"]
    # only the trained adapter is saved (not TRL's frozen "ref" copy), and the card says how it was trained
    assert not (dpo.adapter_dir / "ref").exists()
    card = (dpo.adapter_dir / "README.md").read_text()
    assert "dpo (beta 0.1)" in card and sft_then_dpo[1].run_id in card and "final reward margin" in card


def test_config_method_beta_and_init_adapter_round_trip_and_validate():
    config = TrainConfig(dataset="pairs.jsonl", method="dpo", beta="0.25", init_adapter="run-20260101-000000-ab12")
    assert config.beta == 0.25 and TrainConfig.from_yaml(config.to_yaml()) == config
    assert TrainConfig(dataset="x").method == "sft" and TrainConfig(dataset="x").beta == 0.1
    assert TrainConfig(dataset="x", init_adapter="  ").init_adapter is None
    with pytest.raises(ConfigError) as err:
        TrainConfig(dataset="x", method="ppo", beta=0, init_adapter="../elsewhere")
    text = str(err.value)
    assert "method must be one of sft, dpo (got 'ppo')" in text and "beta must be a number above 0" in text
    assert "init_adapter must be a run id" in text
    with pytest.raises(ConfigError, match="method dpo runs on backend trl only.*AutoTrain Advanced 0.8.36"):
        TrainConfig(dataset="x", method="dpo", backend="autotrain")
    with pytest.raises(ConfigError, match="init_adapter needs backend trl"):
        TrainConfig(dataset="x", backend="autotrain", init_adapter="run-1")


def test_init_adapter_from_another_base_is_refused_naming_both(settings, tmp_path):
    other = create_run(settings, tiny_config(tmp_path / "d.jsonl", base_model="HuggingFaceTB/SmolLM2-360M-Instruct"))
    (other.adapter_dir).mkdir(parents=True)
    (other.adapter_dir / "adapter_config.json").write_text("{}")
    pairs = write_pairs(tmp_path / "pairs.jsonl", train_pairs())
    with pytest.raises(ConfigError) as err:
        TrainingManager(settings).start(dpo_config(pairs, init_adapter=other.run_id))
    assert "'HuggingFaceTB/SmolLM2-360M-Instruct'" in str(err.value) and "'embedded'" in str(err.value)
    with pytest.raises(ConfigError, match="No run named run-nope"):
        TrainingManager(settings).start(dpo_config(pairs, init_adapter="run-nope"))
    assert [r.run_id for r in list_runs(settings)] == [other.run_id]  # nothing was created


def test_invalid_preference_data_is_refused_naming_the_line(settings, tmp_path):
    bad = write_pairs(tmp_path / "bad.jsonl", [*train_pairs()[:2], {"prompt": "q", "chosen": "x"},
                                               pair("q", "same", "same")])
    with pytest.raises(DatasetProblem) as err:
        TrainingManager(settings).start(dpo_config(bad))
    assert "2 error(s)" in str(err.value) and "line 3: missing rejected" in str(err.value)
    assert "line 4: chosen and rejected are the same text" in str(err.value)
    conversations = write_jsonl(tmp_path / "sft.jsonl", CONVERSATIONS)  # an SFT file handed to dpo
    with pytest.raises(DatasetProblem, match=r"line 1: this is a conversation \(messages\) row; method dpo needs"):
        TrainingManager(settings).start(dpo_config(conversations))
    assert list_runs(settings) == []


@pytest.mark.slow
def test_dpo_stops_and_resumes_to_success_without_repeating_a_step(settings, tmp_path, embedded_model_dir):
    manager = TrainingManager(settings)
    pairs = write_pairs(tmp_path / "pairs.jsonl", train_pairs())
    run = manager.start(dpo_config(pairs, max_steps=3, save_steps=100), background=True)  # the only checkpoint is the stop's
    deadline = time.monotonic() + 600
    while run.status().get("step", 0) < 1 and time.monotonic() < deadline and manager.is_busy():
        time.sleep(0.5)
    manager.stop(run.run_id)
    assert manager.wait(600)
    status = run.status()
    assert status["state"] == "cancelled", status.get("error")
    stopped_at = status["step"]
    assert 1 <= stopped_at < 3 and run.last_checkpoint().name == f"checkpoint-{stopped_at}"

    manager.resume(run.run_id, background=False)
    status = run.status()
    assert status["state"] == "succeeded", status.get("error")
    assert status["method"] == "dpo" and status["step"] == 3 and status["resumed_from"] == f"checkpoint-{stopped_at}"
    logged = [m for m in run.metrics() if "loss" in m]
    assert [m["step"] for m in logged] == [1, 2, 3]  # no step repeated or skipped
    assert all("reward_margin" in m for m in logged) and not (run.adapter_dir / "ref").exists()


def test_init_adapter_with_an_unreadable_config_names_that_run(settings, tmp_path):
    start = settings.runs_dir / "run-handmade"
    (start / "adapter").mkdir(parents=True)
    (start / "adapter" / "adapter_config.json").write_text("{}")
    (start / "config.yaml").write_text("base_model: embedded\n")  # no dataset: not a valid training config
    (start / "status.json").write_text('{"state": "succeeded"}')
    pairs = write_pairs(tmp_path / "pairs.jsonl", train_pairs())
    with pytest.raises(ConfigError, match="init_adapter: run run-handmade has no usable config.yaml .*dataset is required"):
        TrainingManager(settings).start(dpo_config(pairs, init_adapter="run-handmade"))


def test_a_stored_preference_set_is_a_dataset_reference(settings):
    from studio.data.preferences import preference_sets
    from studio.train.training_data import load_pairs

    with pytest.raises(DatasetProblem, match="No preference set preferences/clinic. Stored preference sets: none yet"):
        load_pairs("preferences/clinic", settings)
    settings.preferences_dir.mkdir(parents=True)
    write_pairs(settings.preferences_dir / "clinic.jsonl", train_pairs()[:2])
    assert preference_sets(settings) == ["preferences/clinic"]
    path, rows = load_pairs("preferences/clinic", settings)
    assert path == settings.preferences_dir / "clinic.jsonl" and len(rows) == 2
    with pytest.raises(DatasetProblem, match="Stored preference sets: preferences/clinic"):
        load_pairs("preferences/other", settings)
