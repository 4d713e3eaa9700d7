"""Convert a merged model folder to GGUF, and write what Ollama and llama.cpp need beside it.

The conversion runs llama.cpp's own converter (see ``gguf_converter``) in a subprocess: it imports its
own ``gguf-py``, and a crash or an out-of-memory kill there cannot take the studio down. It writes to
``.model.gguf.partial`` in the output folder, which is renamed to ``model.gguf`` only when the converter
succeeded and the file starts with the GGUF magic; on any failure the partial file is removed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from studio.train.gguf_converter import LLAMA_CPP_PYTHON, ConverterMissing, converter_script
from studio.util.io import atomic_write_text
from studio.util.redact import redact

QUANTS = ("f16", "q8_0")  # what the converter writes without llama.cpp's compiled quantize tool
GGUF_NAME = "model.gguf"
_UNSUPPORTED = re.compile(r"Model (\S+) is not supported")


class GGUFError(RuntimeError):
    pass


def convert(model_dir: Path, out_dir: Path, quant: str = "f16", model_name: str | None = None) -> Path:
    """``model_dir`` (a transformers model folder) -> ``out_dir/model.gguf``; raises GGUFError with the reason."""
    if quant not in QUANTS:
        raise GGUFError(f"Unknown GGUF quantization {quant!r}: choose one of {', '.join(QUANTS)}.")
    try:
        script = converter_script()
    except ConverterMissing as exc:
        raise GGUFError(str(exc)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    target, partial = out_dir / GGUF_NAME, out_dir / f".{GGUF_NAME}.partial"
    cmd = [sys.executable, str(script), str(model_dir), "--outfile", str(partial), "--outtype", quant]
    if model_name:
        cmd += ["--model-name", model_name]
    try:
        done = subprocess.run(cmd, cwd=script.parent, env=_converter_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise GGUFError(_explain(done.stdout + done.stderr, done.returncode))
        if _magic(partial) != b"GGUF":
            raise GGUFError("The converter finished but wrote no GGUF file; nothing was exported.")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)  # a failure (or Ctrl-C) never leaves a half-written file
    return target


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(4)
    except FileNotFoundError:
        return b""


def _converter_env() -> dict[str, str]:
    """No token and no hub access for the converter: it reads only the local folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "NO_LOCAL_GGUF")}
    env.update(HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")
    return env


def _explain(output: str, code: int) -> str:
    found = _UNSUPPORTED.search(output)
    if found:
        return (f"GGUF export does not support the {found.group(1)} architecture: llama.cpp's converter "
                f"(from llama-cpp-python {LLAMA_CPP_PYTHON}) has no mapping for it. Nothing was written. "
                "Export with --format merged and run it with transformers instead.")
    lines = [line for line in output.strip().splitlines() if line.strip() and "Writing:" not in line]
    tail = redact(lines[-1].strip()) if lines else f"exit code {code}"
    return f"GGUF conversion failed (exit code {code}): {tail}"


def write_run_files(out_dir: Path, system_prompt: str, chat_template: str | None, gen: dict) -> list[Path]:
    """Modelfile (Ollama), run-llama-cpp.sh, system_prompt.txt and README.txt beside model.gguf."""
    chatml = bool(chat_template) and "<|im_start|>" in chat_template
    files = {
        "Modelfile": _modelfile(system_prompt, chatml, gen),
        "system_prompt.txt": system_prompt.strip() + "\n",
        "run-llama-cpp.sh": _llama_cpp_script(gen),
        "README.txt": README,
    }
    for name, text in files.items():
        atomic_write_text(out_dir / name, text)
    (out_dir / "run-llama-cpp.sh").chmod(0o755)
    return [out_dir / name for name in files]


# Ollama's Go template for ChatML: the same turns the model was trained on (<|im_start|>role ... <|im_end|>).
# Ollama also keeps system messages in .Messages while collecting them into .System: skip them in the loop,
# as Ollama's own ChatML templates do, or the system prompt would appear twice.
CHATML_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- range .Messages }}{{- if ne .Role "system" }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}{{- end }}<|im_start|>assistant
"""


def _modelfile(system_prompt: str, chatml: bool, gen: dict) -> str:
    system = system_prompt.strip().replace('"""', '"')  # a triple quote would end Ollama's string early
    lines = ["# Ollama: ollama create companion -f Modelfile && ollama run companion", f"FROM ./{GGUF_NAME}", ""]
    if chatml:
        lines += [f'TEMPLATE """{CHATML_TEMPLATE}"""', ""]
    else:
        lines += ["# Not a ChatML model: Ollama uses the chat template stored in model.gguf.", ""]
    lines += [f'SYSTEM """{system}"""', ""]
    if chatml:
        lines += ['PARAMETER stop "<|im_end|>"', 'PARAMETER stop "<|im_start|>"']
    lines += [f"PARAMETER temperature {gen['temperature']}", f"PARAMETER top_p {gen['top_p']}",
              f"PARAMETER repeat_penalty {gen['repetition_penalty']}", ""]
    return "\n".join(lines)


def _llama_cpp_script(gen: dict) -> str:
    return f"""#!/bin/sh
# Chat with the companion in llama.cpp (https://github.com/ggml-org/llama.cpp); extra arguments are passed on.
# --jinja uses the chat template stored in model.gguf; the system prompt is the studio's.
cd "$(dirname "$0")" || exit 1
exec llama-cli -m {GGUF_NAME} --jinja -cnv -sys "$(cat system_prompt.txt)" \\
  --temp {gen['temperature']} --top-p {gen['top_p']} --repeat-penalty {gen['repetition_penalty']} "$@"
# As an OpenAI-compatible server instead: llama-server -m {GGUF_NAME} --jinja --port 8080
"""


README = f"""Companion model exported by Companion Studio as GGUF ({GGUF_NAME}).

This is an AI companion, not a therapist. Keep the system prompt (system_prompt.txt): it tells the
model to leave dosing, medication and diagnosis to the person's prescribing clinician or care team.
The studio's crisis gate and output guard do not travel with this file: a clinic running it elsewhere
must put its own safety checks and crisis resources (US: call or text 988) in front of it.

Ollama:     ollama create companion -f Modelfile && ollama run companion
llama.cpp:  sh run-llama-cpp.sh      (or: llama-server -m {GGUF_NAME} --jinja --port 8080)
LM Studio:  import {GGUF_NAME}; paste system_prompt.txt as the system prompt.
"""
