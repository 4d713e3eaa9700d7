"""How many more votes would separate two models, from the effect seen so far.

A fixed-sample power calculation for the mean score of the pair's second model against 0.5
(a two-sided z-test at ``alpha`` with ``power``), inflated by the design effect from the cluster
bootstrap: with a few raters, each vote carries less information than an independent one would.
It is a planning figure for "should we ask for more votes?", not a stopping rule; the verdict in
``decision`` is the one that stays valid when an admin looks after every vote.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

POWER = 0.8
ALPHA = 0.05
MIN_EFFECT = 0.01  # a 51/49 split: below it we report "no detectable difference"
CAP = 10_000  # more than this is not a plan for a handful of therapists


def votes_needed(scores: np.ndarray, pair: list[str], design_effect: float = 1.0, alpha: float = ALPHA,
                 power: float = POWER) -> dict:
    """``{"pair", "votes" (more votes, None when no difference is visible), "total", "effect", ...}``."""
    n = int(scores.size)
    result = {"pair": pair, "votes": None, "total": None, "effect": None, "design_effect": round(design_effect, 3),
              "alpha": alpha, "power": power, "capped": False, "note": "too few votes between these models yet"}
    if n < 2:
        return result
    effect = float(scores.mean()) - 0.5
    sd = float(scores.std(ddof=1))
    result["effect"] = round(effect, 4)
    if abs(effect) < MIN_EFFECT:
        result["note"] = "no detectable difference"
        return result
    sd = max(sd, 0.5 / math.sqrt(n))  # unanimous votes have sd 0; keep the plan finite and honest
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    total = math.ceil((z * sd / abs(effect)) ** 2 * design_effect)
    more = max(0, total - n)
    capped = more > CAP
    result |= {"votes": min(more, CAP), "total": min(total, n + CAP), "capped": capped,
               "note": _note(more, capped, pair, effect)}
    return result


def _note(more: int, capped: bool, pair: list[str], effect: float) -> str:
    leader = pair[1] if effect > 0 else pair[0]
    if capped:
        return f"more than {CAP:,}: the observed difference is too small to settle in practice"
    if more == 0:
        return f"enough votes already at the observed effect, {leader} ahead"
    return f"at the observed effect, {leader} ahead by {abs(effect) * 100:.0f} points"
