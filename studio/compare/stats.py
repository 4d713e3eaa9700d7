"""Arena statistics: win rates with clustered bootstrap intervals, tie and both-bad rates, rater habits,
length-controlled win rates, a votes-needed plan, a stopping rule, and a Bradley–Terry leaderboard
when more than two models met.

Scoring per battle, for each of its two models: a win counts 1, a loss 0, and a tie or "both bad"
counts one half for each side. A model's win rate is its mean score over its battles. Both-bad is
kept as its own rate too: it is a safety signal (neither answer was acceptable).

``ci95`` resamples raters and prompts, not single votes (stats_cluster), because a handful of
therapists cast the votes; ``ci95_naive`` keeps the vote-level interval for comparison.
``decision`` and ``votes_needed`` speak of the top pair: the leader (best win rate) and the
best-ranked model it met head to head (stats_sequential, stats_power). The data choose that pair, so
with several pairs the stopping rule splits its 5% among the pairs that met (Bonferroni).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from studio.compare.stats_cluster import Clusters, clustered_intervals, clusters_of
from studio.compare.stats_length import length_controlled
from studio.compare.stats_power import votes_needed
from studio.compare.stats_raters import per_rater
from studio.compare.stats_sequential import decide
from studio.compare.votes import WINNERS, StoreError, validate_stats_vote

DEFAULT_RESAMPLES = 1000
INTERVAL_METHOD = "two-way cluster bootstrap over raters and prompts (ci95_naive: single votes)"


def score_a(winner: str) -> float:
    return {"a": 1.0, "b": 0.0}.get(winner, 0.5)


def load_votes(path: Path | str) -> list[dict]:
    """Votes from a JSONL file, validated; only model_a, model_b and winner are required.

    Errors name the 1-based line. (``arena import`` stays strict: it stores votes, stats only reads them.)
    """
    votes = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            votes.append(validate_stats_vote(json.loads(line), f"line {number}"))
        except json.JSONDecodeError as exc:
            raise StoreError(f"line {number}: not valid JSON ({exc.msg}).") from None
    return votes


def compute_stats(votes: list[dict], resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """``{"battles", "models": {name: {"win_rate", "ci95", "ci95_naive", "win_rate_length_controlled", ...}},
    "tie_rate", "both_bad_rate", "side_a_rate", "per_rater", "leaderboard", "length_control", "votes_needed",
    "decision", ...}``; votes need only model_a, model_b and winner (the rest may be None)."""
    if resamples < 1000:
        raise ValueError("Use at least 1,000 bootstrap resamples for a 95% interval.")
    total = len(votes)
    winners = [v["winner"] for v in votes]
    counts = {w: winners.count(w) for w in WINNERS}
    decisive = counts["a"] + counts["b"]
    # Battles of a model against itself say nothing about it; they still count in the overall rates.
    paired = [v for v in votes if v["model_a"] != v["model_b"]]
    clusters = clusters_of(paired)
    models, length = _model_stats(paired, clusters, resamples, seed)
    pair = top_pair(models, paired)
    comparisons = len({frozenset((v["model_a"], v["model_b"])) for v in paired})
    plan, decision = _head_to_head(paired, clusters, pair, comparisons, resamples, seed)
    return {
        "battles": total,
        "models": models,
        "tie_rate": _rate(counts["tie"], total),
        "both_bad_rate": _rate(counts["both_bad"], total),
        "side_a_rate": _rate(counts["a"], decisive),  # far from 0.5 means raters favour a side
        "per_rater": per_rater(votes, _leader(models)),
        "leaderboard": bradley_terry(votes),
        "resamples": resamples,
        "seed": seed,
        "interval_method": INTERVAL_METHOD,
        "clusters": {"raters": clusters.raters, "prompts": clusters.prompts},
        "length_control": length,
        "votes_needed": plan,
        "decision": decision,
    }


def _rate(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _model_stats(paired: list[dict], clusters: Clusters, resamples: int, seed: int) -> tuple[dict, dict | None]:
    """Per model rates and intervals, and the length-control summary (None when no vote has response texts)."""
    names = sorted({v["model_a"] for v in paired} | {v["model_b"] for v in paired})
    if not names:
        return {}, None
    scores, present = _score_matrix(paired, names)
    intervals = clustered_intervals(scores, present, clusters, resamples, seed)
    length = length_controlled(paired, names, np.array([score_a(v["winner"]) for v in paired]))
    result = {}
    for i, name in enumerate(names):
        model_votes = [v for v in paired if name in (v["model_a"], v["model_b"])]
        result[name] = {
            "win_rate": round(float(intervals.rate[i]), 4),
            "ci95": _rounded(intervals.clustered[i]),
            "ci95_naive": _rounded(intervals.naive[i]),
            "win_rate_length_controlled": length["models"].get(name) if length else None,
            "battles": int(present[i].sum()),
            "wins": sum(1 for v in model_votes if v["winner"] == ("a" if v["model_a"] == name else "b")),
            "ties": sum(1 for v in model_votes if v["winner"] == "tie"),
            "both_bad": sum(1 for v in model_votes if v["winner"] == "both_bad"),
        }
    summary = {key: length[key] for key in ("coefficient", "measure", "votes")} if length else None
    return result, summary


def _score_matrix(paired: list[dict], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One row per model: its score in each battle (0 where absent) and whether it took part."""
    scores = np.zeros((len(names), len(paired)))
    present = np.zeros((len(names), len(paired)))
    index = {name: i for i, name in enumerate(names)}
    for col, vote in enumerate(paired):
        a, b, s = index[vote["model_a"]], index[vote["model_b"]], score_a(vote["winner"])
        scores[a, col], scores[b, col] = s, 1.0 - s
        present[a, col] = present[b, col] = 1.0
    return scores, present


def _rounded(interval: np.ndarray) -> list[float]:
    return [round(float(interval[0]), 4), round(float(interval[1]), 4)]


def _leader(models: dict) -> str | None:
    return min(models, key=lambda name: (-models[name]["win_rate"], name)) if models else None


def top_pair(models: dict, paired: list[dict]) -> list[str] | None:
    """The leader and the best-ranked model it met head to head, sorted by name; None before any battle."""
    leader = _leader(models)
    if leader is None:
        return None
    met = {v["model_b"] if v["model_a"] == leader else v["model_a"]
           for v in paired if leader in (v["model_a"], v["model_b"])}
    partner = min(met, key=lambda name: (-models[name]["win_rate"], name))
    return sorted([leader, partner])


def _head_to_head(paired: list[dict], clusters: Clusters, pair: list[str] | None, comparisons: int, resamples: int,
                  seed: int) -> tuple[dict | None, dict | None]:
    """votes_needed and decision for the pair, from the second model's scores in their battles; ``comparisons``
    is how many pairs met (the Bonferroni divisor)."""
    if pair is None:
        return None, None
    mask = np.array([{v["model_a"], v["model_b"]} == set(pair) for v in paired])
    scores = np.array([score_a(v["winner"]) if v["model_a"] == pair[1] else 1.0 - score_a(v["winner"])
                       for v, keep in zip(paired, mask, strict=True) if keep])
    head = clustered_intervals(scores[None, :], np.ones((1, scores.size)), clusters.subset(mask), resamples, seed)
    deff = float(head.design_effect[0])
    return (votes_needed(scores, pair, deff, comparisons=comparisons),
            decide(scores, pair, deff, comparisons=comparisons))


def bradley_terry(votes: list[dict], prior: float = 0.1, iterations: int = 2000) -> list[dict] | None:
    """Leaderboard by Bradley–Terry strengths (MM algorithm), on an Elo-like scale; None for <= 2 models.

    Ties and both-bad count as half a win for each side. ``prior`` adds that many virtual tied
    battles between every pair of models that met, so a model that never won keeps a finite rating.
    """
    paired = [v for v in votes if v["model_a"] != v["model_b"]]
    names = sorted({v["model_a"] for v in paired} | {v["model_b"] for v in paired})
    if len(names) <= 2:
        return None
    k = len(names)
    index = {name: i for i, name in enumerate(names)}
    wins = np.zeros((k, k))  # wins[i, j]: score of i against j
    for vote in paired:
        a, b, s = index[vote["model_a"]], index[vote["model_b"]], score_a(vote["winner"])
        wins[a, b] += s
        wins[b, a] += 1.0 - s
    games = wins + wins.T
    met = games > 0
    wins = wins + np.where(met, prior / 2, 0.0)
    games = wins + wins.T
    strength = np.ones(k)
    for _ in range(iterations):
        denom = (games / (strength[:, None] + strength[None, :])).sum(axis=1)
        updated = wins.sum(axis=1) / denom
        updated /= math.exp(np.log(updated).mean())  # fix the scale: geometric mean 1
        if np.allclose(updated, strength, rtol=0, atol=1e-10):
            strength = updated
            break
        strength = updated
    board = [
        {"model": name, "rating": round(1000 + 400 * math.log10(strength[i]), 1), "strength": round(float(strength[i]), 4),
         "battles": sum(1 for v in paired if name in (v["model_a"], v["model_b"]))}
        for name, i in index.items()
    ]
    return sorted(board, key=lambda row: row["rating"], reverse=True)
