"""AutoTrain config generation: step counting, adjustments, YAML mapping, and Spaces configs (no training)."""

from __future__ import annotations

import pytest
import yaml

from studio.train import autotrain_spaces as spaces
from studio.train.autotrain_plan import (
    AutoTrainPlanError,
    autotrain_preview,
    build_plan,
    packed_blocks,
    plan_steps,
)
from studio.train.config import ConfigError, TrainConfig
from tests.train.conftest import CONVERSATIONS, write_jsonl

FAKE_TOKEN = "hf_PlanTestTokenNeverInFiles42"


def _yaml_body(text: str) -> dict:
    return yaml.safe_load("\n".join(line for line in text.splitlines() if not line.startswith("#")))


def test_packing_matches_trl_constant_length_dataset():
    # 24 conversations of 89 tokens (+1 EOS each) = 2160 tokens -> 16 full blocks of 128; the remainder is dropped.
    assert packed_blocks([(300, 89)] * 24, 128) == 16
    assert packed_blocks([(300, 89)], 128) == 0
    # A buffer holds block * 3.6 * 1024 characters; each buffer drops its own remainder.
    big = [(128 * 3.6 * 1024, 100)] * 2
    assert packed_blocks(big, 128) == 0


def test_tiny_data_gets_accumulation_lowered_instead_of_one_zero_lr_step():
    plan = plan_steps(blocks=5, block_size=128, batch=2, accum=4, epochs=1, max_steps=None, warmup_ratio=0.1)
    assert plan.gradient_accumulation < 4 and plan.total_steps >= 2
    assert plan.warmup_ratio == 0.0 and plan.learning_steps == plan.total_steps
    assert any("gradient_accumulation lowered from 4" in n for n in plan.notes)
    assert any("warmup_ratio 0.1 set to 0" in n for n in plan.notes)


def test_one_block_is_refused_with_what_to_change():
    with pytest.raises(AutoTrainPlanError, match="only 1 optimizer step.*Add conversations"):
        plan_steps(blocks=1, block_size=512, batch=4, accum=1, epochs=1, max_steps=None, warmup_ratio=0.0)
    with pytest.raises(AutoTrainPlanError, match="0 blocks of 512 tokens.*lower max_length"):
        plan_steps(blocks=0, block_size=512, batch=4, accum=1, epochs=1, max_steps=None, warmup_ratio=0.0)


def test_max_steps_and_fractional_epochs_become_whole_epochs():
    plan = plan_steps(blocks=40, block_size=128, batch=4, accum=1, epochs=1, max_steps=25, warmup_ratio=0.0)
    assert plan.epochs == 3 and plan.total_steps == 30
    assert "max_steps 25 becomes 3 epoch(s)" in plan.notes[0]
    plan = plan_steps(blocks=40, block_size=128, batch=4, accum=1, epochs=1.6, max_steps=None, warmup_ratio=0.1)
    assert plan.epochs == 2 and plan.total_steps == 20 and plan.warmup_steps == 2 and plan.learning_steps == 19


def test_build_plan_maps_the_config(settings, tmp_path, embedded_model_dir):
    data = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    config = TrainConfig(dataset=str(data), backend="autotrain", preset="cpu", max_length=128, batch_size=4,
                         gradient_accumulation=1, learning_rate=3e-4, eval_fraction=0.25, warmup_ratio=0.0,
                         lora={"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]})
    plan = build_plan(config, settings, "run-x")
    assert len(plan.train) == 12 and len(plan.valid) == 4
    body = _yaml_body(plan.yaml_text(str(tmp_path / "data")))
    assert body["task"] == "llm-sft" and body["backend"] == "local" and body["project_name"] == "project"
    assert body["base_model"] == str(embedded_model_dir)
    assert body["data"] == {"path": str(tmp_path / "data"), "train_split": "train", "valid_split": "valid",
                            "chat_template": "tokenizer", "column_mapping": {"text_column": "messages"}}
    params = body["params"]
    assert params["peft"] is True and params["quantization"] is None and params["mixed_precision"] is None
    assert params["disable_gradient_checkpointing"] is True  # CPU preset: checkpointing is ~16x slower here
    assert (params["lr"], params["lora_r"], params["lora_alpha"], params["target_modules"]) == (3e-4, 8, 16, "q_proj,v_proj")
    assert params["block_size"] == 128 and params["batch_size"] == 4 and params["gradient_accumulation"] == 1
    assert plan.steps.total_steps >= 2 and not plan.steps.estimated
    assert "hub" not in body  # local runs never hand AutoTrain a token; the studio pushes itself


def test_spaces_config_reads_token_and_username_from_the_environment(settings, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    config = TrainConfig(dataset=str(data), backend="autotrain", max_length=128,
                         autotrain={"hardware": "spaces-a10g-large", "username": "clinic-team"},
                         hub={"push": True, "repo_id": "clinic-team/companion-lora"})
    settings = settings.with_(hf_token=FAKE_TOKEN)
    text = autotrain_preview(config, settings)
    assert FAKE_TOKEN not in text
    body = _yaml_body(text)
    assert body["backend"] == "spaces-a10g-large"
    assert body["hub"] == {"username": "${HF_USERNAME}", "token": "${HF_TOKEN}", "push_to_hub": True}
    assert body["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # a Space cannot read local folders
    assert body["project_name"] == "companion-lora"
    assert body["params"]["mixed_precision"] == "bf16" and body["params"]["disable_gradient_checkpointing"] is False
    assert "$1.50/hour" in text
    target = spaces.SpaceTarget(spaces.check_ready(config, settings, FAKE_TOKEN), body["project_name"])
    assert target.space_url == "https://huggingface.co/spaces/clinic-team/autotrain-companion-lora"
    assert target.model_repo == "clinic-team/companion-lora"
    assert spaces.command("/venv/bin/autotrain", "/run/config.yml") == ["/venv/bin/autotrain", "--config", "/run/config.yml"]
    assert spaces.command_env(FAKE_TOKEN, "clinic-team") == {"HF_TOKEN": FAKE_TOKEN, "HF_USERNAME": "clinic-team"}


def test_t4_space_uses_fp16_and_names_the_project_after_the_run(settings, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    config = TrainConfig(dataset=str(data), backend="autotrain", max_length=128,
                         autotrain={"hardware": "spaces-t4-medium", "username": "me"})
    plan = build_plan(config, settings, "run-20261127-101010-ab12")
    body = _yaml_body(plan.yaml_text("/x"))
    assert body["params"]["mixed_precision"] == "fp16"  # T4 has no bf16
    assert body["project_name"] == "companion-run-20261127-101010-ab12"


def test_space_runs_refuse_without_token_or_username(settings, tmp_path):
    config = TrainConfig(dataset="x.jsonl", backend="autotrain", autotrain={"hardware": "spaces-t4-small"})
    with pytest.raises(spaces.SpacesError, match="HF_TOKEN.*username"):
        spaces.check_ready(config, settings.with_(space_author=None), None)
    assert spaces.check_ready(config, settings.with_(space_author="author"), FAKE_TOKEN) == "author"


def test_local_model_folder_cannot_go_to_a_space(settings, tmp_path, embedded_model_dir):
    data = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    config = TrainConfig(dataset=str(data), backend="autotrain", base_model=str(embedded_model_dir),
                         autotrain={"hardware": "spaces-t4-small", "username": "me"})
    with pytest.raises(AutoTrainPlanError, match="cannot read it"):
        build_plan(config, settings)


def test_unknown_hardware_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError, match="Did you mean spaces-a10g-large"):
        TrainConfig(dataset="x.jsonl", autotrain={"hardware": "spaces-a10g-larg"})


def test_preview_explains_a_missing_dataset(settings):
    text = autotrain_preview(TrainConfig(dataset="no-such-data.jsonl", backend="autotrain"), settings)
    assert text.startswith("# Cannot build the AutoTrain config yet:") and "no-such-data" in text
