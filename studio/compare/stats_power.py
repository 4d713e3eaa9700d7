"""How many more votes the stopping rule needs to reach a verdict, at the effect seen so far.

The verdict in ``decision`` (stats_sequential) stops when its always-valid interval excludes 0.5
("<model> better") or lies inside 0.5 +/- MARGIN ("no difference"). Were the second model's mean
score to stay at the observed 0.5 + e, that happens once radius(t) < |e| or radius(t) <= MARGIN - |e|.
The plan asks for ``power`` on top: the smallest total ``t`` with

    radius(t) + z_power * SD * sqrt(deff / t) <= max(|e|, MARGIN - |e|)

with ``radius`` at the verdict's alpha (Bonferroni share included) and design effect ``deff``, and
SD = 0.5, the largest standard deviation of a score in [0, 1] (the sequence's own variance proxy, so
the plan does not shrink because the first votes happened to agree). The target is whichever verdict
comes first: a difference when |e| >= MARGIN / 2, else no difference.

So the plan agrees with the verdict: "keep voting" always comes with at least one more vote, a
reached verdict with none. It follows the observed effect, so it moves as votes come in.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from studio.compare.stats_sequential import ALPHA, MARGIN, VARIANCE_PROXY, decide, radius

POWER = 0.8
SD = math.sqrt(VARIANCE_PROXY)  # 0.5
CAP = 10_000  # more than this is not a plan for a handful of therapists


def votes_needed(scores: np.ndarray, pair: list[str], design_effect: float = 1.0, alpha: float = ALPHA,
                 power: float = POWER, comparisons: int = 1, margin: float = MARGIN) -> dict:
    """``{"pair", "votes" (more votes), "total", "effect", "target", ...}``; votes None before any vote."""
    n = int(scores.size)
    result = {"pair": pair, "votes": None, "total": None, "effect": None, "target": None,
              "design_effect": round(design_effect, 3), "alpha": alpha, "power": power, "comparisons": comparisons,
              "capped": False, "note": "no votes between these models yet"}
    if n == 0:
        return result
    effect = float(scores.mean()) - 0.5
    target = "difference" if abs(effect) >= margin / 2 else "no difference"
    result |= {"effect": round(effect, 4), "target": target}
    if decide(scores, pair, design_effect, alpha, margin, comparisons)["verdict"] != "keep voting":
        return result | {"votes": 0, "total": n, "note": "enough votes already: the verdict is reached"}
    t = np.arange(n + 1, n + CAP + 1)
    z = NormalDist().inv_cdf(power)
    reach = radius(t, alpha / comparisons, design_effect) + z * SD * np.sqrt(design_effect / t)
    ok = reach <= max(abs(effect), margin - abs(effect))
    if not ok.any():
        return result | {"votes": CAP, "total": n + CAP, "capped": True,
                         "note": f"more than {CAP:,}: the observed difference is too close to call in practice"}
    total = int(t[np.argmax(ok)])
    return result | {"votes": total - n, "total": total, "note": _note(target, pair, effect)}


def _note(target: str, pair: list[str], effect: float) -> str:
    points = f"{abs(effect) * 100:.0f} points"
    if target == "no difference":
        return f"to show no difference, if the gap stays at {points}"
    return f"to show {pair[1] if effect > 0 else pair[0]} better, if it stays {points} ahead"

