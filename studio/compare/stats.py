"""Arena statistics: win rates with bootstrap intervals, tie and both-bad rates, rater counts, and a
Bradley–Terry leaderboard when more than two models met.

Scoring per battle, for each of its two models: a win counts 1, a loss 0, and a tie or "both bad"
counts one half for each side. A model's win rate is its mean score over its battles. Both-bad is
kept as its own rate too: it is a safety signal (neither answer was acceptable).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from studio.compare.store import WINNERS, StoreError, validate_vote

DEFAULT_RESAMPLES = 1000
_CHUNK = 250  # resamples per vectorized block: bounds memory to _CHUNK x battles


def score_a(winner: str) -> float:
    return {"a": 1.0, "b": 0.0}.get(winner, 0.5)


def load_votes(path: Path | str) -> list[dict]:
    """Votes from an exported JSONL file, validated; errors name the 1-based line."""
    votes = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            votes.append(validate_vote(json.loads(line), f"line {number}"))
        except json.JSONDecodeError as exc:
            raise StoreError(f"line {number}: not valid JSON ({exc.msg}).") from None
    return votes


def compute_stats(votes: list[dict], resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """``{"battles", "models": {name: {"win_rate", "ci95", "battles", ...}}, "tie_rate", "both_bad_rate", ...}``."""
    if resamples < 1000:
        raise ValueError("Use at least 1,000 bootstrap resamples for a 95% interval.")
    total = len(votes)
    winners = [v["winner"] for v in votes]
    counts = {w: winners.count(w) for w in WINNERS}
    decisive = counts["a"] + counts["b"]
    return {
        "battles": total,
        "models": _model_stats(votes, resamples, seed),
        "tie_rate": _rate(counts["tie"], total),
        "both_bad_rate": _rate(counts["both_bad"], total),
        "side_a_rate": _rate(counts["a"], decisive),  # far from 0.5 means raters favour a side
        "per_rater": _per_rater(votes),
        "leaderboard": bradley_terry(votes),
        "resamples": resamples,
        "seed": seed,
    }


def _rate(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _model_stats(votes: list[dict], resamples: int, seed: int) -> dict:
    # Battles of a model against itself say nothing about it; they still count in the overall rates.
    paired = [v for v in votes if v["model_a"] != v["model_b"]]
    names = sorted({v["model_a"] for v in paired} | {v["model_b"] for v in paired})
    if not names:
        return {}
    # One row per model: its score in each battle (0 where absent) and whether it took part.
    scores = np.zeros((len(names), len(paired)))
    present = np.zeros((len(names), len(paired)))
    index = {name: i for i, name in enumerate(names)}
    for col, vote in enumerate(paired):
        a, b, s = index[vote["model_a"]], index[vote["model_b"]], score_a(vote["winner"])
        scores[a, col], scores[b, col] = s, 1.0 - s
        present[a, col] = present[b, col] = 1.0
    low, high = _bootstrap(scores, present, resamples, seed)
    result = {}
    for name, i in index.items():
        n = int(present[i].sum())
        model_votes = [v for v in paired if name in (v["model_a"], v["model_b"])]
        result[name] = {
            "win_rate": round(float(scores[i].sum() / n), 4),
            "ci95": [round(float(low[i]), 4), round(float(high[i]), 4)],
            "battles": n,
            "wins": sum(1 for v in model_votes if v["winner"] == ("a" if v["model_a"] == name else "b")),
            "ties": sum(1 for v in model_votes if v["winner"] == "tie"),
            "both_bad": sum(1 for v in model_votes if v["winner"] == "both_bad"),
        }
    return result


def _bootstrap(scores: np.ndarray, present: np.ndarray, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile 95% interval of each model's win rate, resampling whole battles with replacement."""
    rng = np.random.default_rng(seed)
    n = scores.shape[1]
    rates = []
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size)  # how often each battle is drawn
        sums, taken = weights @ scores.T, weights @ present.T
        with np.errstate(invalid="ignore", divide="ignore"):
            rates.append(np.where(taken > 0, sums / taken, np.nan))
    rates_all = np.vstack(rates)  # resamples x models; NaN where a model drew no battle
    return np.nanpercentile(rates_all, 2.5, axis=0), np.nanpercentile(rates_all, 97.5, axis=0)


def _per_rater(votes: list[dict]) -> dict:
    raters: dict[str, dict] = {}
    for vote in votes:
        entry = raters.setdefault(vote["rater"], {"votes": 0, **{w: 0 for w in WINNERS}})
        entry["votes"] += 1
        entry[vote["winner"]] += 1
    return dict(sorted(raters.items()))


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
