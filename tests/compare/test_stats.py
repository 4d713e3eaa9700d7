"""Statistics against a hand-computed case, the bootstrap's properties, Bradley–Terry, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio.cli import main
from studio.compare.stats import bradley_terry, compute_stats

_count = iter(range(10**6))


def V(a: str, b: str, winner: str, rater: str = "r1") -> dict:
    return {"model_a": a, "model_b": b, "winner": winner, "prompt": f"p{next(_count)}", "response_a": "x",
            "response_b": "y", "rater": rater, "ts": "2026-01-01T00:00:00.000Z", "comment": ""}


# Scores by hand (win 1, loss 0, tie or both-bad 1/2 each):
#   X: 1 + 1 + 0 + .5 + .5 + 1 + .5 = 4.5 over 7 battles;  Y: 0 + 0 + 1 + .5 + .5 + 1 = 3 over 6;  Z: 0 + 0 + .5 = .5 over 3
HAND = [V("X", "Y", "a"), V("X", "Y", "a"), V("Y", "X", "a"), V("X", "Y", "tie"), V("Y", "X", "both_bad"),
        V("X", "Z", "a", "r2"), V("Z", "Y", "b", "r2"), V("Z", "X", "tie", "r2")]


def test_hand_computed_case():
    stats = compute_stats(HAND)
    assert stats["battles"] == 8
    assert stats["tie_rate"] == 0.25 and stats["both_bad_rate"] == 0.125
    assert {name: (m["win_rate"], m["battles"]) for name, m in stats["models"].items()} == {
        "X": (round(4.5 / 7, 4), 7), "Y": (0.5, 6), "Z": (round(0.5 / 3, 4), 3)}
    assert stats["side_a_rate"] == 0.8  # 4 of the 5 decisive votes went to side A
    counts = {rater: {k: row[k] for k in ("votes", "a", "b", "tie", "both_bad")} for rater, row in stats["per_rater"].items()}
    assert counts == {"r1": {"votes": 5, "a": 3, "b": 0, "tie": 1, "both_bad": 1},
                      "r2": {"votes": 3, "a": 1, "b": 1, "tie": 1, "both_bad": 0}}
    r1, r2 = stats["per_rater"]["r1"], stats["per_rater"]["r2"]
    assert (r1["tie_rate"], r1["both_bad_rate"], r2["tie_rate"]) == (0.2, 0.2, 0.3333)
    assert (r1["strictness"], r2["strictness"]) == (0.2, -0.2)  # 1/5 both bad against 0/3, and back
    # the leader X scores 3/5 in r1's battles and (1 + .5)/2 in r2's
    assert r1["lean_model"] == "X" and (r1["lean"], r2["lean"]) == (-0.15, 0.15)
    assert r1["agreement"] is None and r1["shared_prompts"] == 0  # every prompt was judged once
    assert [row["model"] for row in stats["leaderboard"]] == ["X", "Y", "Z"]
    for model in stats["models"].values():
        low, high = model["ci95"]
        assert 0 <= low <= model["win_rate"] <= high <= 1


def test_bootstrap_is_seeded_and_matches_a_plain_resampling():
    votes = [V("base", "tuned", w) for w in ["b"] * 30 + ["a"] * 14 + ["tie"] * 4 + ["both_bad"] * 2]
    first, again = compute_stats(votes, seed=3), compute_stats(votes, seed=3)
    assert first["models"] == again["models"]
    tuned = first["models"]["tuned"]
    assert tuned["win_rate"] == 0.66  # (30 + 3) / 50
    # a plain bootstrap over battle indices agrees within Monte Carlo error
    scores = np.array([{"b": 1.0, "a": 0.0}.get(v["winner"], 0.5) for v in votes])
    rng = np.random.default_rng(99)
    means = scores[rng.integers(0, len(scores), size=(20000, len(scores)))].mean(axis=1)
    assert tuned["ci95"][0] == pytest.approx(np.percentile(means, 2.5), abs=0.02)
    assert tuned["ci95"][1] == pytest.approx(np.percentile(means, 97.5), abs=0.02)
    assert first["models"]["base"]["win_rate"] == pytest.approx(1 - 0.66)


def test_unanimous_votes_and_guards():
    stats = compute_stats([V("a1", "b1", "a")] * 5)
    a1 = stats["models"]["a1"]
    assert {k: a1[k] for k in ("win_rate", "ci95", "ci95_naive", "battles", "wins", "ties", "both_bad")} == {
        "win_rate": 1.0, "ci95": [1.0, 1.0], "ci95_naive": [1.0, 1.0], "battles": 5, "wins": 5, "ties": 0, "both_bad": 0}
    assert compute_stats([])["models"] == {} and compute_stats([])["battles"] == 0
    with pytest.raises(ValueError, match="1,000"):
        compute_stats(HAND, resamples=100)
    assert compute_stats([V("same", "same", "a")])["models"] == {}  # a model against itself says nothing


def test_bradley_terry_symmetric_and_only_above_two_models():
    cycle = [V("P", "Q", "a"), V("Q", "P", "a"), V("Q", "R", "a"), V("R", "Q", "a"), V("R", "P", "a"), V("P", "R", "a")]
    board = bradley_terry(cycle)
    assert {row["rating"] for row in board} == {1000.0}
    assert bradley_terry([V("P", "Q", "a")]) is None


def test_cli_stats_json_from_file_and_store(settings, tmp_path, monkeypatch, capsys):
    path = tmp_path / "votes.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in HAND))
    assert main(["arena", "stats", "--votes", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"battles", "models", "tie_rate", "both_bad_rate"} <= set(out)
    assert out["battles"] == 8 and out["models"]["Y"]["win_rate"] == 0.5
    assert set(out["models"]["X"]) >= {"win_rate", "ci95", "battles"} and len(out["models"]["X"]["ci95"]) == 2

    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    assert main(["arena", "import", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["added"] == 8
    assert main(["arena", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["battles"] == 8
    export = tmp_path / "export.jsonl"
    assert main(["arena", "export", "--out", str(export), "--json"]) == 0
    assert len(export.read_text().splitlines()) == 8
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    assert main(["arena", "stats", "--votes", str(bad), "--json"]) == 2


@pytest.mark.parametrize("argv", [["arena", "--help"], ["arena", "stats", "--help"], ["compare", "--help"]])
def test_cli_help_renders(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0 and "usage" in capsys.readouterr().out
