"""TrainConfig: YAML round-trip, strict keys, actionable validation messages, no secrets."""

from __future__ import annotations

import pytest

from studio.train.config import ConfigError, TrainConfig


def test_yaml_round_trip_keeps_every_field(tmp_path):
    cfg = TrainConfig(dataset="d.jsonl", max_steps=7, batch_size=3, lora={"r": 4, "alpha": 8, "dropout": 0.1,
                                                                          "target_modules": ["q_proj"]},
                      hub={"push": True, "repo_id": "me/companion", "private": True})
    path = tmp_path / "c.yaml"
    cfg.save(path)
    again = TrainConfig.load(path)
    assert again == cfg
    assert again.lora.target_modules == ["q_proj"] and again.hub.repo_id == "me/companion"


def test_scientific_notation_strings_are_numbers():
    cfg = TrainConfig.from_yaml("dataset: x.jsonl\nlearning_rate: 2e-4\n")
    assert cfg.learning_rate == pytest.approx(2e-4)


def test_unknown_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_yaml("dataset: x\nlerning_rate: 0.001\nlora: {rank: 4}\n")
    text = str(err.value)
    assert "Unknown key 'lerning_rate'" in text and "learning_rate" in text


def test_nested_unknown_key_names_its_section():
    with pytest.raises(ConfigError, match=r"lora\.rank"):
        TrainConfig.from_yaml("dataset: x\nlora: {rank: 4}\n")


def test_secret_keys_are_refused_and_never_echoed():
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_yaml("dataset: x\nhub: {token: hf_abcdefghijklmnop}\n")
    assert "never stored" in str(err.value) and "hf_abcdefghijklmnop" not in str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_dict({"dataset": "", "preset": "tpu", "learning_rate": 5, "lora": {"r": 0},
                               "batch_size": 0, "hub": {"push": True}})
    problems = err.value.problems
    assert len(problems) == 6
    assert any("dataset is required" in p for p in problems)
    assert any("preset must be one of auto, cpu, gpu, gpu-qlora" in p for p in problems)
    assert any("learning_rate" in p and "1e-4 to 3e-4" in p for p in problems)
    assert any("hub.repo_id is required" in p for p in problems)


def test_quantization_on_cpu_and_eval_conflict_are_explained():
    with pytest.raises(ConfigError) as err:
        TrainConfig(dataset="x", preset="cpu", quantization="4bit", eval_dataset="e", eval_fraction=0.1)
    text = str(err.value)
    assert "needs a GPU" in text and "either eval_dataset or eval_fraction" in text


def test_not_a_mapping_and_bad_yaml():
    with pytest.raises(ConfigError, match="mapping"):
        TrainConfig.from_yaml("- a\n- b\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainConfig.from_yaml("dataset: [unclosed\n")
    with pytest.raises(ConfigError, match="does not exist"):
        TrainConfig.load("/nonexistent/config.yaml")


def test_to_yaml_redacts_secret_looking_values(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecretsecret")
    cfg = TrainConfig(dataset="/data/hf_secretsecretsecret/x.jsonl")
    assert "hf_secretsecretsecret" not in cfg.to_yaml()
    assert "hf_secretsecretsecret" in cfg.to_yaml(redact_secrets=False)


def test_replace_revalidates():
    cfg = TrainConfig(dataset="x")
    assert cfg.replace(max_steps=5).max_steps == 5
    with pytest.raises(ConfigError):
        cfg.replace(max_steps=-1)


def test_example_configs_are_valid():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[2] / "examples" / "configs").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        TrainConfig.load(path)


def _bomb(levels: int = 9) -> str:
    """A "billion laughs" config: each level lists the one before nine times, all inside one known key."""
    parts = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    parts += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "dataset: d.jsonl\npreset: [" + ", ".join(parts) + "]\n"


BOMB = _bomb()


def test_a_yaml_bomb_is_refused_quickly_and_creates_no_run(settings, monkeypatch, tmp_path, capsys):
    """Nested aliases used to hang the CLI, or crash it with a MemoryError while an error message repr()'d them."""
    import json

    from studio.cli import main

    with pytest.raises(ConfigError, match="aliases"):
        TrainConfig.from_yaml(BOMB)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    assert main(["train", "--config", str(path), "--json"]) != 0
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert "aliases" in error and len(error) < 1000
    assert not settings.runs_dir.exists() or not any(settings.runs_dir.iterdir())


def test_huge_values_are_truncated_in_messages():
    with pytest.raises(ConfigError) as info:
        TrainConfig(dataset="d.jsonl", base_model="x", preset="p" * 1_000_000, run_name=["x"] * 100_000)
    message = str(info.value)
    assert len(message) < 2000 and "run_name must be a short label" in message


def test_a_huge_batch_size_is_refused_and_a_batch_over_the_data_is_capped():
    """Issue 22: batch_size 100000 passed validation and then ran out of memory."""
    from studio.train.config import ConfigError
    from studio.train.trl_job import fit_batch_to_data

    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(dataset="d.jsonl", batch_size=100000)
    chosen = {"batch_size": 64}
    assert fit_batch_to_data(chosen, 12) == "batch_size 64 is larger than the 12 training conversations; using 12."
    assert chosen["batch_size"] == 12 and fit_batch_to_data(chosen, 12) is None
