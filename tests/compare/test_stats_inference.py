"""Statistics fit for a handful of therapists: clustered intervals, the always-valid stopping rule,
votes needed, length control, minimal vote files, and how the admin panel shows them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio.cli import main
from studio.compare.plot import stats_markdown
from studio.compare.stats import compute_stats
from studio.compare.stats_power import CAP, votes_needed
from studio.compare.stats_sequential import ALPHA, ever_declares, radius


def vote(winner: str, i: int, rater: str | None = "r1", a: str = "base", b: str = "tuned",
         texts: tuple[str, str] | None = ("x", "y")) -> dict:
    return {"model_a": a, "model_b": b, "winner": winner, "prompt": f"p{i}", "rater": rater,
            "response_a": texts[0] if texts else None, "response_b": texts[1] if texts else None,
            "ts": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z", "comment": ""}


def width(interval: list[float]) -> float:
    return interval[1] - interval[0]


# --- clustered intervals ---

def _one_rater_dominates() -> list[dict]:
    """r0 casts 80 of 120 votes and prefers tuned 9 to 1; four colleagues cast 10 each and prefer base 6 to 4."""
    plan = [("r0", 72, 8)] + [(f"r{k}", 4, 6) for k in range(1, 5)]
    votes = []
    for rater, tuned, base in plan:
        votes += [vote("b", len(votes) + j, rater) for j in range(tuned)]
        votes += [vote("a", len(votes) + j, rater) for j in range(base)]
    return votes


def test_cluster_bootstrap_widens_when_one_rater_casts_most_votes():
    dominated = compute_stats(_one_rater_dominates(), seed=1)
    spread = compute_stats([v | {"rater": f"q{i}"} for i, v in enumerate(_one_rater_dominates())], seed=1)
    tuned, tuned_spread = dominated["models"]["tuned"], spread["models"]["tuned"]
    assert tuned["win_rate"] == tuned_spread["win_rate"] == round(88 / 120, 4)
    assert width(tuned["ci95"]) > 2 * width(tuned_spread["ci95"])
    # spread over 120 raters the votes are as good as independent: the clustered interval is the naive one
    assert width(tuned_spread["ci95"]) == pytest.approx(width(tuned_spread["ci95_naive"]), abs=0.03)
    assert tuned["ci95_naive"] == pytest.approx(tuned_spread["ci95_naive"], abs=0.03)  # blind to who voted
    assert dominated["votes_needed"]["design_effect"] > 3 * spread["votes_needed"]["design_effect"]
    assert dominated["clusters"] == {"raters": 5, "prompts": 120}


def test_missing_raters_and_prompts_are_their_own_clusters():
    votes = [vote(w, i, rater=None) | {"prompt": None} for i, w in enumerate(["b"] * 30 + ["a"] * 20)]
    stats = compute_stats(votes)
    assert stats["clusters"] == {"raters": 50, "prompts": 50}
    tuned = stats["models"]["tuned"]
    assert width(tuned["ci95"]) == pytest.approx(width(tuned["ci95_naive"]), abs=0.03)
    assert list(stats["per_rater"]) == ["(unknown)"] and stats["per_rater"]["(unknown)"]["votes"] == 50


# --- the stopping rule ---

def test_stopping_rule_error_rate_holds_when_peeking_after_every_vote():
    rng = np.random.default_rng(2026)
    ties = rng.choice([0.0, 0.5, 1.0], p=[0.4, 0.2, 0.4], size=(500, 300))  # true score 0.5 with ties
    coin = rng.choice([0.0, 1.0], size=(500, 300))  # no ties: the largest variance a score can have
    slack = 2 * np.sqrt(ALPHA * (1 - ALPHA) / 500)  # two Monte Carlo standard errors
    assert ever_declares(ties).mean() <= ALPHA + slack
    assert ever_declares(coin).mean() <= ALPHA + slack
    # the same peeking with a fixed 95% interval would declare a winner far more often than 5%
    t = np.arange(1, 301)
    fixed = np.abs(np.cumsum(coin, axis=1) / t - 0.5) > 1.96 * 0.5 / np.sqrt(t)
    assert fixed[:, 9:].any(axis=1).mean() > 2 * ALPHA


def test_stopping_rule_declares_a_clearly_better_model():
    rng = np.random.default_rng(7)
    better = rng.choice([0.0, 1.0], p=[0.2, 0.8], size=(200, 300))
    assert ever_declares(better).mean() == 1.0
    votes = [vote("b" if k % 4 else "a", k) for k in range(120)]  # tuned wins 3 of 4
    decision = compute_stats(votes)["decision"]
    assert decision["verdict"] == "tuned better" and decision["error_rate"] == 0.05
    assert decision["pair"] == ["base", "tuned"] and decision["interval"][0] > 0.5


def test_stopping_rule_says_no_difference_and_keep_voting():
    even = [vote(("a", "b", "tie")[k % 3], k) for k in range(900)]
    decision = compute_stats(even)["decision"]
    assert decision["verdict"] == "no difference" and decision["margin"] == 0.1
    assert decision["interval"][0] >= 0.4 and decision["interval"][1] <= 0.6
    assert compute_stats(even[:30])["decision"]["verdict"] == "keep voting"
    assert radius(900) < radius(30)


# --- votes needed ---

def test_votes_needed_shrinks_as_the_effect_grows_and_is_null_for_identical_models():
    plans = [votes_needed(np.array([1.0] * wins + [0.0] * (60 - wins)), ["base", "tuned"]) for wins in (36, 42, 48)]
    totals = [plan["total"] for plan in plans]
    assert all(isinstance(plan["votes"], int) and not plan["capped"] for plan in plans)
    assert totals[0] > totals[1] > totals[2] and plans[0]["votes"] >= plans[1]["votes"] >= plans[2]["votes"]
    assert plans[0]["votes"] > 0 and plans[0]["effect"] == 0.1
    doubled = votes_needed(np.array([1.0] * 36 + [0.0] * 24), ["base", "tuned"], design_effect=2.0)
    assert doubled["total"] == pytest.approx(2 * totals[0], abs=1)  # clustering doubles the plan
    same = compute_stats([vote("a" if k % 2 else "b", k) for k in range(60)])["votes_needed"]
    assert same["votes"] is None and same["note"] == "no detectable difference"
    tiny = votes_needed(np.array([1.0] * 51 + [0.0] * 49), ["base", "tuned"])
    assert tiny["votes"] == CAP and tiny["capped"]


# --- length control ---

def _longer_wins(votes: int = 1000, seed: int = 5) -> list[dict]:
    """tuned answers longer in 80% of battles, and the longer answer wins 85% of the time, whoever wrote it."""
    rng = np.random.default_rng(seed)
    result = []
    for k in range(votes):
        tuned_len, base_len = (60, 20) if rng.random() < 0.8 else (20, 60)
        tuned_wins = (tuned_len > base_len) == (rng.random() < 0.85)
        tuned_text, base_text = "word " * tuned_len, "word " * base_len
        if k % 2:  # tuned on side B
            result.append(vote("b" if tuned_wins else "a", k, texts=(base_text, tuned_text)))
        else:
            result.append(vote("a" if tuned_wins else "b", k, a="tuned", b="base", texts=(tuned_text, base_text)))
    return result


def test_length_control_removes_a_win_that_comes_only_from_length():
    stats = compute_stats(_longer_wins())
    tuned = stats["models"]["tuned"]
    assert tuned["win_rate"] > 0.65
    assert tuned["win_rate_length_controlled"] == pytest.approx(0.5, abs=0.05)
    assert stats["length_control"]["coefficient"] > 0.5 and stats["length_control"]["measure"] == "words"


def test_length_control_is_null_without_texts():
    stats = compute_stats([vote("b", k, texts=None) for k in range(10)])
    assert stats["length_control"] is None and stats["models"]["tuned"]["win_rate_length_controlled"] is None


# --- raters ---

def test_rater_agreement_on_shared_prompts_and_median_gap():
    shared = [vote("b", 0, "ann"), vote("b", 0, "ben"), vote("a", 0, "cy"),
              vote("a", 1, "ann", a="tuned", b="base"), vote("b", 1, "ben")]  # ann's 2nd vote: tuned, sides swapped
    shared[-1]["ts"] = "2026-01-01T00:00:30Z"
    raters = compute_stats(shared)["per_rater"]
    assert (raters["ann"]["agreement"], raters["ann"]["shared_prompts"]) == (0.6667, 2)  # agrees with ben twice, not cy
    assert raters["cy"]["agreement"] == 0.0 and raters["ben"]["median_gap_s"] == 30.0


# --- the CLI and the admin panel ---

def test_minimal_votes_file_gives_stats_and_bad_lines_are_named(settings, tmp_path, monkeypatch, capsys):
    minimal = tmp_path / "minimal.jsonl"
    rows = [{"model_a": "base", "model_b": "tuned", "winner": w} for w in ["b", "b", "a", "tie", "both_bad", "b"]]
    minimal.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["arena", "stats", "--votes", str(minimal), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["battles"] == 6 and out["models"]["tuned"]["win_rate"] == round(4 / 6, 4)
    assert {"votes_needed", "decision", "per_rater", "length_control"} <= set(out)
    assert out["decision"]["verdict"] == "keep voting" and out["decision"]["error_rate"] == 0.05
    assert out["length_control"] is None and out["per_rater"]["(unknown)"]["median_gap_s"] is None

    assert main(["arena", "stats", "--votes", str(minimal)]) == 0
    text = capsys.readouterr().out
    assert "Verdict for base vs tuned: keep voting" in text and "Votes needed" in text and "(unknown)" in text

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps({"model_a": "base", "model_b": "tuned"}) + "\n")
    assert main(["arena", "stats", "--votes", str(bad), "--json"]) == 2
    assert "line 3: missing keys winner" in capsys.readouterr().err
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps(rows[0] | {"rater": 7}) + "\n")
    assert main(["arena", "stats", "--votes", str(wrong)]) == 2
    assert "line 1: rater must be a string" in capsys.readouterr().err

    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    assert main(["arena", "import", str(minimal), "--json"]) == 2  # storing votes still needs every field
    assert "missing keys prompt" in capsys.readouterr().err


def test_admin_panel_markdown_shows_verdict_votes_needed_and_raters():
    table = stats_markdown(compute_stats(_one_rater_dominates()))
    assert "Verdict for base vs tuned" in table and "error rate at most 5%" in table
    assert "Votes needed:" in table and "at equal length" in table and "naive CI" in table
    assert "| r0 | 80 |" in table and "strictness" in table and "lean to tuned" in table
