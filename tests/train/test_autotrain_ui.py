"""The Train tab's AutoTrain section, its handlers called directly (no training)."""

from __future__ import annotations

import gradio as gr
import yaml

from studio.settings import Settings
from studio.train.form import form_from_config
from studio.train.runs import create_run
from studio.ui.context import AppContext
from studio.ui.tabs import train as tab
from tests.train.conftest import CONVERSATIONS, tiny_config, write_jsonl

FAKE_TOKEN = "hf_UiTestTokenNeverShown99"


def build(settings: Settings):
    with gr.Blocks():
        return tab.build(AppContext(settings))


def form(dataset, **changes) -> dict:
    values = form_from_config(tiny_config(dataset, backend="autotrain", max_steps=None, max_length=128))
    values.update(changes)
    return values


def test_section_maps_hardware_into_the_config_and_shows_the_yaml(settings, tmp_path):
    dataset = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    h = build(settings.with_(hf_token=FAKE_TOKEN))
    assert {"autotrain_hardware", "autotrain_username"} <= set(h.fields)
    values = form(dataset, autotrain_hardware="spaces-t4-medium", autotrain_username="clinic")
    config = h.config(values)
    assert config.backend == "autotrain" and config.autotrain.hardware == "spaces-t4-medium"
    assert config.autotrain.username == "clinic"
    text = h.autotrain.yaml(values, None)
    assert FAKE_TOKEN not in text and "$0.60/hour" in text
    body = yaml.safe_load("\n".join(line for line in text.splitlines() if not line.startswith("#")))
    assert body["backend"] == "spaces-t4-medium" and body["hub"]["token"] == "${HF_TOKEN}"


def test_local_is_the_default_and_the_trl_form_is_unchanged(settings, tmp_path):
    dataset = write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS * 4)
    h = build(settings)
    assert h.config(form(dataset, autotrain_hardware=None, autotrain_username="")).autotrain.hardware == "local"
    plain = form_from_config(tiny_config(dataset))
    assert h.config(plain) == tiny_config(dataset)


def test_environment_and_space_status_lines(tmp_path):
    settings = Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_CACHE_DIR": str(tmp_path / "cache")})
    h = build(settings)
    assert "not built yet" in h.autotrain.env_status(None)
    assert h.autotrain.space(None) == "No run has used a training Space yet."
    run = create_run(settings, tiny_config(tmp_path / "d.jsonl", backend="autotrain"))
    run.write_status(space_id="clinic/autotrain-x", space_url="https://huggingface.co/spaces/clinic/autotrain-x",
                     model_repo="clinic/x")
    line = h.autotrain.space(None)
    assert "[clinic/autotrain-x](https://huggingface.co/spaces/clinic/autotrain-x)" in line
    assert "UNKNOWN" in line  # offline here: the stage cannot be read, and the line says why
