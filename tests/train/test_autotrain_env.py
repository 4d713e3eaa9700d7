"""AutoTrain's isolated environment: reuse, rebuild, one build at a time, and its transformers 4.48 view of the model."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from studio.settings import Settings
from studio.train import autotrain_env as env
from studio.util.io import atomic_write_json

PROMPT = [{"role": "user", "content": "I feel anxious before my session tomorrow."}]
LOGITS_SCRIPT = """
import json, sys, torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32).eval()
text = tok.apply_chat_template(json.loads(sys.argv[2]), tokenize=False, add_generation_prompt=True)
ids = tok(text, return_tensors="pt").input_ids
with torch.no_grad():
    logits = model(ids).logits[0]
print(json.dumps({"version": transformers.__version__, "class": type(tok).__name__, "text": text,
                  "ids": ids[0].tolist(), "last": logits[-1].tolist(), "argmax": logits.argmax(-1).tolist()}))
"""


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    """A cache dir whose 'venv' is judged by a stubbed import check; builds are recorded, not run."""
    settings = Settings.from_env({"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_CACHE_DIR": str(tmp_path / "cache")})
    calls = {"build": 0, "healthy": True}

    def fake_build(venv: Path, say) -> None:
        calls["build"] += 1
        time.sleep(0.5)  # long enough for a concurrent caller to queue on the lock
        venv.mkdir(parents=True, exist_ok=True)
        atomic_write_json(venv / env.STAMP, {"recipe": env.RECIPE, "versions": {}})
        say("built")

    monkeypatch.setattr(env, "_build", fake_build)
    monkeypatch.setattr(env, "check_health", lambda venv, timeout_s=180: (calls["healthy"], {} if calls["healthy"] else "broken"))
    monkeypatch.setattr(env, "_checked", {})
    return settings, calls


def test_missing_environment_is_built_once_then_reused(fake_cache):
    settings, calls = fake_cache
    messages: list[str] = []
    venv = env.ensure_environment(settings, progress=messages.append)
    assert venv == settings.cache_dir / "autotrain-venv" and calls["build"] == 1 and messages == ["built"]
    env.ensure_environment(settings)
    assert calls["build"] == 1
    assert env.environment_status(settings)["ready"] is True


def test_half_built_environment_without_stamp_is_rebuilt(fake_cache):
    settings, calls = fake_cache
    (settings.cache_dir / "autotrain-venv" / "bin").mkdir(parents=True)  # a crash mid-install leaves no stamp
    env.ensure_environment(settings)
    assert calls["build"] == 1


def test_environment_that_no_longer_imports_is_rebuilt(fake_cache):
    settings, calls = fake_cache
    env.ensure_environment(settings)
    env._checked.clear()  # a new process
    calls["healthy"] = False
    messages: list[str] = []
    env.ensure_environment(settings, progress=messages.append)
    assert calls["build"] == 2 and any("does not import; rebuilding" in m for m in messages)


def test_stamp_of_an_older_recipe_means_rebuild(fake_cache):
    settings, calls = fake_cache
    venv = env.venv_dir(settings)
    venv.mkdir(parents=True)
    (venv / env.STAMP).write_text(json.dumps({"recipe": {"version": 0}}))
    env.ensure_environment(settings)
    assert calls["build"] == 1


def test_concurrent_callers_share_one_build(fake_cache):
    settings, calls = fake_cache
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(env.ensure_environment(settings))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert calls["build"] == 1 and len(results) == 3


def test_failed_build_step_reports_its_output():
    seen: list[str] = []
    script = "import sys; print('Collecting autotrain-advanced==0.8.36'); print('ERROR: no matching distribution'); sys.exit(3)"
    with pytest.raises(env.AutoTrainEnvError, match=r"(?s)Could not install AutoTrain \(exit 3\).*no matching distribution"):
        env._run([sys.executable, "-c", script], seen.append, "install AutoTrain", stream=True)
    assert seen == ["Collecting autotrain-advanced==0.8.36"]


def test_giving_up_mid_build_kills_the_step():
    def impatient(_msg: str) -> None:
        raise KeyboardInterrupt

    script = "import time; print('Collecting x', flush=True); time.sleep(60)"
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        env._run([sys.executable, "-c", script], impatient, "install", stream=True)
    assert time.monotonic() - started < 30


@pytest.fixture(scope="session")
def autotrain_venv() -> Path:
    """The real environment (built on first use, minutes; reused when the machine kept ~/.cache)."""
    return env.ensure_environment(Settings.from_env({}), progress=lambda m: print(m, file=sys.stderr))


@pytest.mark.slow
def test_real_environment_is_reused_and_healthy(autotrain_venv, monkeypatch):
    monkeypatch.setattr(env, "_build", lambda *a: pytest.fail("a healthy environment must not be rebuilt"))
    assert env.ensure_environment(Settings.from_env({})) == autotrain_venv
    status = env.environment_status(Settings.from_env({}), check=True)
    assert status["ready"] and status["versions"]["autotrain"] == "0.8.36"
    assert status["versions"]["transformers"].startswith("4.48") and status["versions"]["torch"].startswith("2.13.0")
    ok, versions = env.check_health(autotrain_venv)
    assert ok and versions["present"] == []  # torchvision and timm removed


@pytest.mark.slow
def test_embedded_model_loads_identically_in_transformers_448(autotrain_venv, embedded_model_dir, tmp_path):
    script = tmp_path / "logits.py"
    script.write_text(LOGITS_SCRIPT)
    outputs = []
    for python in (env.venv_python(autotrain_venv), Path(sys.executable)):
        proc = subprocess.run([str(python), str(script), str(embedded_model_dir), json.dumps(PROMPT)],
                              capture_output=True, text=True, timeout=300, env=env._clean_env())
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    old, new = outputs
    assert old["version"].startswith("4.48") and int(new["version"].split(".")[0]) >= 5
    assert old["class"] == "PreTrainedTokenizerFast"
    assert old["text"] == new["text"] and old["ids"] == new["ids"]  # same chat template, same tokens
    assert old["argmax"] == new["argmax"]
    assert max(abs(a - b) for a, b in zip(old["last"], new["last"], strict=True)) < 1e-3  # rope_theta etc. read alike
