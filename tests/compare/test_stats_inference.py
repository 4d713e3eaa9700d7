"""Statistics fit for a handful of therapists: clustered intervals, the always-valid stopping rule,
votes needed, length control, minimal vote files, and how the admin panel shows them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio.cli import main
from studio.compare.plot import stats_markdown
from studio.compare.stats import compute_stats
from studio.compare.stats_cluster import Clusters, clustered_intervals
from studio.compare.stats_power import CAP, votes_needed
from studio.compare.stats_sequential import ALPHA, decide, ever_declares, radius


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


def test_clustered_interval_covers_with_four_raters():
    """4 raters x 25 votes, each rater's own win probability 0.5 + N(0, 0.2): the mean over raters is 0.5.

    Without the few-clusters t correction the clustered interval covered 0.5 in about 87% of runs."""
    rng = np.random.default_rng(11)
    rater = np.repeat(np.arange(4), 25)
    alone = np.arange(100)  # every vote its own prompt
    clusters = Clusters(rater, alone, alone)
    covered = naive = 0
    for run in range(200):
        p = np.clip(0.5 + 0.2 * rng.standard_normal(4), 0, 1)
        scores = (rng.random(100) < p[rater]).astype(float)[None, :]
        intervals = clustered_intervals(scores, np.ones_like(scores), clusters, 500, run)
        covered += intervals.clustered[0, 0] <= 0.5 <= intervals.clustered[0, 1]
        naive += intervals.naive[0, 0] <= 0.5 <= intervals.naive[0, 1]
    assert covered / 200 >= 0.9
    assert naive / 200 < 0.75  # the vote-level interval ignores the raters


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


def test_radius_matches_the_formula_by_hand():
    # t = 100, alpha = 0.05: rho = 25 / (2 ln 20 + ln(1 + 2 ln 20)) = 3.1501, V = 100 / 4 = 25,
    # radius = sqrt((V + rho) * ln((V + rho) / (rho * 0.05^2))) / 100 = sqrt(28.150 * 8.1817) / 100
    assert float(radius(100)) == pytest.approx(0.15176, abs=1e-4)
    assert float(radius(50, design_effect=2.0)) == pytest.approx(2 * 0.15176, abs=2e-4)  # same V, half the votes
    assert float(radius(100, alpha=ALPHA / 3)) == pytest.approx(0.17061, abs=1e-4)


def test_several_models_split_the_error_rate_between_the_pairs_that_met():
    votes = [vote("b" if k % 4 else "a", k) for k in range(120)]  # tuned beats base 3 to 1
    votes += [vote("b", 200 + k, a="other", b=("base", "tuned")[k // 20]) for k in range(40)]  # other loses to both
    stats = compute_stats(votes)
    d = stats["decision"]
    assert d["pair"] == ["base", "tuned"] and d["comparisons"] == 3 and d["error_rate"] == 0.05
    half = float(radius(120, ALPHA / 3, d["design_effect"]))
    assert d["interval"][1] - d["interval"][0] == pytest.approx(2 * half, abs=2e-3)
    assert float(radius(120, ALPHA, d["design_effect"])) < half - 0.005  # one pair alone would get a narrower one
    assert "across the 3 pairs that met (Bonferroni)" in stats_markdown(stats)
    assert stats["votes_needed"]["comparisons"] == 3


# --- votes needed ---

def _wins(wins: int, votes: int) -> np.ndarray:
    return np.array([1.0] * wins + [0.0] * (votes - wins))


def test_votes_needed_agrees_with_the_verdict():
    pair = ["base", "tuned"]
    for wins, votes in [(65, 100), (3, 3), (1, 1), (36, 60), (33, 60), (30, 60), (52, 100), (70, 100), (10, 60)]:
        for deff in (1.0, 2.5):
            scores = _wins(wins, votes)
            plan, verdict = votes_needed(scores, pair, deff), decide(scores, pair, deff)["verdict"]
            assert (plan["votes"] > 0) == (verdict == "keep voting"), (wins, votes, deff)
            assert plan["total"] == votes + plan["votes"]
            if plan["votes"] and not plan["capped"]:
                # votes continuing at the observed rate reach the verdict the plan aims at by its total
                more = _wins(round(plan["total"] * wins / votes), plan["total"])
                reached = decide(more, pair, deff)["verdict"]
                expected = "no difference" if plan["target"] == "no difference" else f"{pair[wins * 2 > votes]} better"
                assert reached == expected, (wins, votes, deff, plan)
    # 65/35 after 100 votes and 3 unanimous votes used to be "enough votes already" beside "keep voting"
    assert votes_needed(_wins(65, 100), pair)["votes"] == 69 and votes_needed(_wins(3, 3), pair)["votes"] == 16


def test_votes_needed_grows_with_clustering_and_caps():
    pair = ["base", "tuned"]
    plans = [votes_needed(_wins(wins, 60), pair) for wins in (33, 36, 40)]
    assert plans[0]["total"] > plans[1]["total"] > plans[2]["total"] > 60  # a larger effect settles sooner
    assert [plan["target"] for plan in plans] == ["difference"] * 3 and plans[1]["effect"] == pytest.approx(0.1)
    assert votes_needed(_wins(36, 60), pair, design_effect=2.0)["total"] > 2 * plans[1]["total"]
    even = compute_stats([vote("a" if k % 2 else "b", k) for k in range(60)])["votes_needed"]
    assert even["target"] == "no difference" and even["votes"] > 0 and even["effect"] == 0.0
    close = votes_needed(_wins(52, 100), pair)  # 52/48: aims at "no difference", well inside the 10-point margin
    assert close["target"] == "no difference" and 0 < close["votes"] < CAP
    capped = votes_needed(_wins(52, 100), pair, design_effect=20.0)
    assert capped["votes"] == CAP and capped["capped"] and capped["total"] == 100 + CAP


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


def test_length_control_uses_the_votes_that_carry_texts():
    with_texts = _longer_wins(600)
    mixed = with_texts + [vote("b", 1000 + k, texts=None) for k in range(300)]  # older votes without texts
    mixed += [vote("b", 2000 + k, a="other", texts=None) for k in range(20)]  # a model never seen with texts
    stats = compute_stats(mixed)
    assert stats["length_control"]["votes"] == 600
    alone = compute_stats(with_texts)
    assert stats["length_control"]["coefficient"] == alone["length_control"]["coefficient"]
    assert stats["models"]["tuned"]["win_rate_length_controlled"] == alone["models"]["tuned"]["win_rate_length_controlled"]
    assert stats["models"]["other"]["win_rate_length_controlled"] is None
    assert "from the 600 votes with both response texts" in stats_markdown(stats)


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
