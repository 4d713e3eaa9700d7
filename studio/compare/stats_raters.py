"""Per-rater counts and habits: how strict each therapist is, how they lean, whether they agree.

With a handful of raters, one unusual rater can move the whole arena, so an admin needs to see:
- ``strictness``: the rater's both-bad rate minus that of all other raters' votes (positive: this
  rater rejects both answers more often than colleagues do);
- ``lean``: the rater's mean score for ``lean_model`` (the arena's leader) minus the other raters'
  mean score for it, over battles that include it (positive: this rater favours it more);
- ``agreement``: on prompts that another rater also judged for the same pair of models, the share
  of (this vote, other vote) pairs with the same outcome, oriented by model name;
- ``median_gap_s``: median seconds between this rater's consecutive votes, when votes carry
  timestamps (very short gaps suggest votes cast without reading).
Votes without a rater are grouped under UNKNOWN_RATER here; for intervals they are each their own
cluster (see stats_cluster).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import combinations
from statistics import median

from studio.compare.votes import WINNERS

UNKNOWN_RATER = "(unknown)"


def rater_of(vote: dict) -> str:
    return vote.get("rater") or UNKNOWN_RATER


def per_rater(votes: list[dict], leader: str | None) -> dict:
    """``{rater: {"votes", "a", "b", "tie", "both_bad", "tie_rate", "both_bad_rate", "strictness", ...}}``."""
    by_rater: dict[str, list[dict]] = defaultdict(list)
    for vote in votes:
        by_rater[rater_of(vote)].append(vote)
    agreement = _agreement(votes)
    result = {}
    for name, mine in sorted(by_rater.items()):
        others = [v for v in votes if rater_of(v) != name]
        counts = {w: sum(1 for v in mine if v["winner"] == w) for w in WINNERS}
        both_bad_rate = counts["both_bad"] / len(mine)
        result[name] = {
            "votes": len(mine), **counts,
            "tie_rate": round(counts["tie"] / len(mine), 4),
            "both_bad_rate": round(both_bad_rate, 4),
            "strictness": _difference(both_bad_rate, _both_bad_rate(others)),
            "lean_model": leader,
            "lean": _difference(_score_for(mine, leader), _score_for(others, leader)),
            **agreement.get(name, {"agreement": None, "shared_prompts": 0}),
            "median_gap_s": _median_gap(mine),
        }
    return result


def _difference(mine: float | None, others: float | None) -> float | None:
    return None if mine is None or others is None else round(mine - others, 4)


def _both_bad_rate(votes: list[dict]) -> float | None:
    return sum(1 for v in votes if v["winner"] == "both_bad") / len(votes) if votes else None


def _score_for(votes: list[dict], model: str | None) -> float | None:
    """Mean score of ``model`` over these votes' battles against another model."""
    scores = [_outcome_score(v, model) for v in votes if model in (v["model_a"], v["model_b"])
              and v["model_a"] != v["model_b"]]
    return sum(scores) / len(scores) if scores else None


def _outcome_score(vote: dict, model: str) -> float:
    side = "a" if vote["model_a"] == model else "b"
    return 1.0 if vote["winner"] == side else 0.5 if vote["winner"] in ("tie", "both_bad") else 0.0


def _oriented(vote: dict) -> str:
    """The outcome named by model, so votes with the sides swapped compare equal."""
    return {"a": vote["model_a"], "b": vote["model_b"]}.get(vote["winner"], vote["winner"])


def _agreement(votes: list[dict]) -> dict:
    """Per rater: agreement with other raters on shared (prompt, model pair) battles."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for vote in votes:
        if vote.get("prompt") and vote.get("rater"):
            groups[(vote["prompt"], frozenset((vote["model_a"], vote["model_b"])))].append(vote)
    matches: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # rater -> [agreeing pairs, pairs]
    prompts: dict[str, set] = defaultdict(set)
    for key, group in groups.items():
        for first, second in combinations(group, 2):
            if first["rater"] == second["rater"]:
                continue
            same = int(_oriented(first) == _oriented(second))
            for rater in (first["rater"], second["rater"]):
                matches[rater][0] += same
                matches[rater][1] += 1
                prompts[rater].add(key)
    return {rater: {"agreement": round(agree / pairs, 4), "shared_prompts": len(prompts[rater])}
            for rater, (agree, pairs) in matches.items()}


def _median_gap(votes: list[dict]) -> float | None:
    times = sorted(t for t in (_parse_ts(v.get("ts")) for v in votes) if t is not None)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(times, times[1:], strict=False)]
    return round(median(gaps), 1) if gaps else None


def _parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # a hand-made file with another time format: skip the gap, keep the counts
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # naive and aware times must not mix
