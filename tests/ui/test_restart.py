"""After a restart (a new process on the same data dir) datasets, votes and the knowledge base are all there."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

VOTE = {"model_a": "base", "model_b": "run-1", "winner": "a", "prompt": "p", "response_a": "x", "response_b": "y",
        "rater": "dr-lee", "ts": "2026-11-27T00:00:00Z", "comment": ""}


def cli(settings, *args):
    env = {**os.environ, "STUDIO_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "studio", *args, "--json"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_data_survives_a_restart(settings, tmp_path):
    from studio.compare.votes import VoteStore
    from studio.data.store import DatasetStore

    conversation = {"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, I'm here."}]}
    DatasetStore(settings).save("restart-check", [conversation])
    VoteStore(settings.votes_db).add_votes([VOTE])
    doc = tmp_path / "aftercare-note.md"
    doc.write_text("# Aftercare\n\nRest, drink water and let someone drive you home after each session.\n")
    added = cli(settings, "kb", "add", str(doc))
    assert added["added"] == ["aftercare-note.md"]

    # Everything below runs in fresh processes, as after a restart.
    assert "restart-check" in json.dumps(cli(settings, "data", "list"))
    assert cli(settings, "arena", "stats")["battles"] == 1
    docs = [d["doc"] for d in cli(settings, "kb", "list")["documents"]]
    assert "aftercare-note.md" in docs
    hits = cli(settings, "kb", "query", "who drives me home", "--k", "2")["results"]
    assert hits and hits[0]["doc"] == "aftercare-note.md"
