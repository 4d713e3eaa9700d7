"""`python -m studio generate --json` end to end on the real embedded model."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run_cli(*args, env_extra=None, timeout=300):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_generate_json_last_line(tmp_path):
    proc = run_cli(
        "generate", "--model", "base", "--prompt", "Name one calming breathing exercise.", "--max-new-tokens", "12",
        "--seed", "3", "--json", env_extra={"STUDIO_DATA_DIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["model"] == "base"
    assert result["text"].strip()
    assert 1 <= result["new_tokens"] <= 12
    assert result["seconds"] > 0


def test_empty_prompt_is_a_clear_error(tmp_path):
    proc = run_cli("generate", "--prompt", "   ", "--json", env_extra={"STUDIO_DATA_DIR": str(tmp_path)})
    assert proc.returncode != 0
    assert "prompt is empty" in json.loads(proc.stdout.strip().splitlines()[-1])["error"]


def test_unknown_model_offline_names_model_and_hub(tmp_path):
    proc = run_cli("generate", "--model", "nobody/no-such-model", "--prompt", "hi", "--json",
                   env_extra={"STUDIO_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 1
    error = json.loads(proc.stdout.strip().splitlines()[-1])["error"]
    assert "nobody/no-such-model" in error and "unreachable" in error


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("generate", "model", "serve"):
        assert command in proc.stdout


def test_materialize_json():
    proc = run_cli("model", "materialize", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["path"].endswith("smollm2-135m-instruct-fp32")
