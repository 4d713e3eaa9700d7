"""The materialized embedded model is the GGUF model, unchanged, in a portable layout."""

import json

import pytest
import torch

from studio.models.embedded import gguf_path, is_materialized, load_gguf, materialize
from studio.settings import Settings


@pytest.mark.slow
def test_materialized_logits_equal_gguf_logits(embedded_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer, gguf_model = load_gguf(gguf_path())
    model = AutoModelForCausalLM.from_pretrained(embedded_model_dir, dtype=torch.float32)
    plain_tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    messages = [{"role": "user", "content": "What helps after a session?"}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    ids2 = plain_tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert torch.equal(ids["input_ids"], ids2["input_ids"])
    with torch.no_grad():
        expected = gguf_model(**ids).logits
        actual = model(**ids).logits
    assert torch.allclose(expected, actual, atol=1e-5), (expected - actual).abs().max()


def test_layout_is_portable_to_older_transformers(embedded_model_dir):
    tok_cfg = json.loads((embedded_model_dir / "tokenizer_config.json").read_text())
    assert tok_cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert "<|im_start|>" in tok_cfg["chat_template"]
    cfg = json.loads((embedded_model_dir / "config.json").read_text())
    assert cfg["rope_theta"] == 100000.0
    assert "quantization_config" not in cfg
    assert (embedded_model_dir / "model.safetensors").stat().st_size > 400_000_000


def test_materialize_is_skipped_when_present(embedded_model_dir, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("must not convert again")

    monkeypatch.setattr("studio.models.embedded._convert", boom)
    assert is_materialized(embedded_model_dir)
    assert materialize(Settings.from_env({})) == embedded_model_dir


def test_incomplete_build_is_rebuilt(tmp_path, monkeypatch):
    """A directory without the completion marker (a crash mid-build) is not trusted."""
    settings = Settings.from_env({"STUDIO_CACHE_DIR": str(tmp_path)})
    calls = []

    def fake_convert(gguf, out):
        calls.append(out)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr("studio.models.embedded._convert", fake_convert)
    target = tmp_path / "models" / "smollm2-135m-instruct-fp32"
    target.mkdir(parents=True)
    (target / "config.json").write_text("half")
    assert materialize(settings) == target
    assert len(calls) == 1 and is_materialized(target)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".smollm2")]
