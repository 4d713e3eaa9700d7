"""After a preference run, one call starts the next arena round: the run against the run it started from."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.compare.arena import ArenaConfig, ArenaError
from studio.compare.prompts import load_prompts
from studio.compare.rounds import start_round
from studio.train.config import TrainConfig
from studio.train.runs import create_run


def _pairs(path, prompts):
    rows = [{"prompt": [{"role": "user", "content": p}], "chosen": [{"role": "assistant", "content": "Ask your prescriber."}],
             "rejected": [{"role": "assistant", "content": "Take more."}]} for p in prompts]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _finished(settings, **config):
    run = create_run(settings, TrainConfig(**config))
    run.adapter_dir.mkdir(parents=True)
    (run.adapter_dir / "adapter_config.json").write_text("{}")
    run.write_status(state="succeeded")
    return run


def test_a_round_pits_the_dpo_run_against_its_start_on_voted_and_new_prompts(settings, tmp_path, monkeypatch, capsys):
    start = _finished(settings, dataset="d.jsonl")
    pairs = _pairs(tmp_path / "pairs.jsonl", ["Can I take more?", "Should I skip my pill?", "Can I take more?"])
    dpo = _finished(settings, dataset=str(pairs), method="dpo", init_adapter=start.run_id)
    out = start_round(settings, dpo.run_id, new_prompts=5)
    assert out == {"models": [dpo.run_id, start.run_id], "prompt_set": f"round-{dpo.run_id}", "prompts": 7, "from_votes": 2}
    prompts = load_prompts(settings.data_dir / "prompts" / f"round-{dpo.run_id}.jsonl")
    assert [p["prompt"] for p in prompts[:2]] == ["Can I take more?", "Should I skip my pill?"]
    assert [p["category"] for p in prompts] == ["from votes"] * 2 + ["new"] * 5
    assert ArenaConfig.load(settings).models == [dpo.run_id, start.run_id]
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    assert main(["arena", "round", start.run_id, "--json"]) == 2  # an SFT run is not followed by a round
    assert "not a finished preference" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]


def test_a_round_needs_a_known_run(settings):
    with pytest.raises(ArenaError):
        start_round(settings, "no-such-run")
