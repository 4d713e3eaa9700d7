"""GGUF export: llama.cpp's real converter on a real merged model, read back by transformers and gguf."""

from __future__ import annotations

import io
import json
import os
import tarfile
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from studio.settings import Settings
from studio.train.config import TrainConfig
from studio.train.export import ExportError, export_run
from studio.train.gguf import GGUFError, convert
from studio.train.gguf_converter import ENV_VAR, LLAMA_CPP_PYTHON, extract
from studio.train.runs import create_run

PROMPT = [{"role": "user", "content": "How can I prepare for my first session?"}]


def _make_adapter_run(settings: Settings) -> str:
    """A LoRA adapter with small random B matrices (no training): merging really changes the weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.models.loader import base_path

    path = base_path("embedded", settings)
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    run = create_run(settings, TrainConfig(dataset="d.jsonl"))
    model.save_pretrained(run.adapter_dir)
    AutoTokenizer.from_pretrained(path).save_pretrained(run.adapter_dir)
    (run.adapter_dir / "README.md").write_text("---\nlibrary_name: peft\n---\n# test adapter\n")
    return run.run_id


def _cli_json(settings: Settings, *argv: str) -> dict:
    from studio.cli import main

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out):
        mp.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
        code = main([*argv, "--json"])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def exported(tmp_path_factory, embedded_model_dir):
    """One adapter run exported twice through the CLI: merged (the reference) and GGUF f16."""
    root = tmp_path_factory.mktemp("gguf")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    settings = Settings.from_env({**env, "STUDIO_DATA_DIR": str(root / "data")})
    run_id = _make_adapter_run(settings)
    merged = _cli_json(settings, "runs", "export", run_id, "--format", "merged", "--out", str(root / "merged"))
    gguf = _cli_json(settings, "runs", "export", run_id, "--format", "gguf", "--out", str(root / "gguf"))
    return {"root": root, "merged": merged, "gguf": gguf}


@pytest.mark.slow
def test_gguf_f16_generates_the_merged_models_greedy_tokens(exported):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(exported["gguf"]["path"])
    assert set(exported["gguf"]) == {"path", "bytes"} and exported["gguf"]["bytes"] == gguf_path.stat().st_size
    folder = gguf_path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["Modelfile", "README.txt", "model.gguf", "run-llama-cpp.sh",
                                                        "system_prompt.txt"]  # no scratch or partial left
    modelfile = (folder / "Modelfile").read_text()
    assert "FROM ./model.gguf" in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert "not a therapist" in modelfile and "<|im_start|>{{ .Role }}" in modelfile
    merged_dir = Path(exported["merged"]["path"])
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    gguf_tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_path.name)
    gguf_ids = gguf_tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_dict=True)["input_ids"]
    assert gguf_ids == ids["input_ids"][0].tolist()  # the chat template and vocabulary travelled in the file
    with torch.no_grad():
        merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
        want = merged.generate(**ids, max_new_tokens=12, do_sample=False)[0, ids["input_ids"].shape[1]:]
        del merged
        from_gguf = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_path.name, dtype=torch.float32)
        got = from_gguf.generate(**ids, max_new_tokens=12, do_sample=False)[0, ids["input_ids"].shape[1]:]
    assert got.tolist() == want.tolist(), (tokenizer.decode(want), tokenizer.decode(got))


@pytest.mark.slow
def test_q8_0_converts_and_reads_back_with_the_expected_tensor_types(exported):
    from gguf import GGMLQuantizationType, GGUFReader

    out = exported["root"] / "q8"
    path = convert(Path(exported["merged"]["path"]), out, "q8_0")
    reader = GGUFReader(path)
    types = {t.name: t.tensor_type for t in reader.tensors}
    matrices = [n for n in types if n.startswith("blk.") and n.endswith(".weight") and "norm" not in n]
    assert len(matrices) == 30 * 7  # 30 layers of q, k, v, o, gate, up, down
    assert all(types[n] == GGMLQuantizationType.Q8_0 for n in matrices)
    assert all(types[n] == GGMLQuantizationType.F32 for n in types if "norm" in n)  # norms stay exact
    assert path.stat().st_size < 0.6 * Path(exported["gguf"]["path"]).stat().st_size
    assert [p.name for p in out.iterdir()] == ["model.gguf"]


@pytest.mark.slow
def test_unsupported_architecture_gets_the_message_and_leaves_no_file(settings, embedded_model_dir, monkeypatch, capsys):
    """A run on OPT (a real transformers architecture the converter has no mapping for; tiny, random, built here)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

    from studio.cli import main

    base = settings.data_dir / "tiny-opt"
    config = OPTConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, ffn_dim=32, num_attention_heads=2,
                       max_position_embeddings=32, word_embed_proj_dim=16)
    OPTForCausalLM(config).save_pretrained(base)
    run = create_run(settings, TrainConfig(dataset="d.jsonl", base_model=str(base)))
    adapter = get_peft_model(OPTForCausalLM.from_pretrained(base), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    adapter.save_pretrained(run.adapter_dir)
    AutoTokenizer.from_pretrained(embedded_model_dir).save_pretrained(run.adapter_dir)  # merge copies it; unused here
    (run.adapter_dir / "README.md").write_text("# tiny\n")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    out = settings.data_dir / "out"
    assert main(["runs", "export", run.run_id, "--format", "gguf", "--out", str(out), "--json"]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out.strip().splitlines()[-1])["error"]
    assert "does not support the OPTForCausalLM architecture" in error and "Traceback" not in captured.err
    assert list(out.iterdir()) == []  # no model.gguf, no partial file, no scratch merge


def test_bad_format_quant_and_missing_converter_are_messages(settings, tmp_path, monkeypatch):
    with pytest.raises(ExportError, match="choose one of merged, gguf"):
        export_run(settings, "any", "onnx")
    with pytest.raises(ExportError, match="llama-quantize"):
        export_run(settings, "any", "gguf", "q4_0")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(GGUFError, match="converter is not installed"):
        convert(tmp_path, tmp_path / "out", "f16")


def test_cli_reports_a_missing_run_as_one_line(settings, capsys, monkeypatch):
    from studio.cli import main

    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    assert main(["runs", "export", "no-such-run", "--format", "gguf", "--json"]) == 1
    captured = capsys.readouterr()
    assert "no-such-run" in json.loads(captured.out.strip().splitlines()[-1])["error"]
    assert "Traceback" not in captured.err


def test_extract_keeps_only_the_converter_and_refuses_links(tmp_path):
    prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
    archive = tmp_path / "sdist.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("convert_hf_to_gguf.py", "conversion/llama.py", "gguf-py/gguf/__init__.py", "LICENSE",
                     "ggml/src/huge.c"):
            data = f"# {name}\n".encode()
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(prefix + "conversion/evil.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    dest = extract(archive, tmp_path / "conv")
    kept = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert kept == ["LICENSE", "conversion/llama.py", "convert_hf_to_gguf.py", "gguf-py/gguf/__init__.py"]


def test_train_tab_gguf_button_is_the_cli_twin(settings):
    """The tab's export buttons call the same export_run as `runs export`; its errors become gr.Error."""
    import gradio as gr

    from studio.ui.context import AppContext
    from studio.ui.tabs import train as tab

    with gr.Blocks():
        h = tab.build(AppContext(settings))
    with pytest.raises(gr.Error, match="llama-quantize"):
        h.export_gguf("any", "q4_0", None)
    with pytest.raises(gr.Error, match="no-such-run"):
        h.merge("no-such-run", None)


def test_out_folder_holding_other_files_is_refused(settings, tmp_path):
    """A merged export replaces its folder: a folder of someone's own files is never the target."""
    run = create_run(settings, TrainConfig(dataset="d.jsonl"))
    run.adapter_dir.mkdir(parents=True)
    (run.adapter_dir / "adapter_config.json").write_text("{}")
    mine = tmp_path / "Documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    for fmt in ("merged", "gguf"):
        with pytest.raises(ExportError, match="not empty"):
            export_run(settings, run.run_id, fmt, out_dir=mine)
    assert (mine / "notes.txt").read_text() == "keep me"
