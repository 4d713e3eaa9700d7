"""A stopping rule that stays valid when an admin looks after every vote.

An ordinary 95% interval checked after each vote will, sooner or later, exclude 0.5 by chance:
peeking inflates the error far above 5%. An always-valid confidence sequence does not: the
probability that it *ever* excludes the true mean, at any vote count, is at most ``alpha``.

We use Robbins' normal-mixture confidence sequence (Howard, Ramdas, McAuliffe & Sekhon 2021,
"Time-uniform, nonparametric, nonasymptotic confidence sequences"). A battle's score for
the second model of the pair is 1 (win), 0 (loss) or 0.5 (tie or both bad); scores lie in [0, 1],
so they are sub-Gaussian with variance proxy 1/4 whatever the tie rate. For ``t`` votes with
``V = t/4``, the two-sided boundary on the sum of centred scores is

    sqrt((V + rho) * log((V + rho) / (rho * alpha**2)))

and ``rho`` is tuned so the boundary is tightest near TARGET_VOTES (a realistic arena size).

Clustering: the guarantee assumes independent votes. With a few raters, ``V`` is multiplied by
the design effect from the cluster bootstrap, which widens the sequence. The design effect is
itself estimated, so this correction is a pragmatic one, not part of the guarantee.

Several models: the 5% holds for one pair fixed in advance. The arena reports the top pair, which
the data choose, so with ``comparisons`` pairs that met, each pair's sequence is run at
``alpha / comparisons`` (Bonferroni): then all of them hold together with probability 1 - alpha,
whichever pair is reported and whenever. ``error_rate`` stays the family-wise ``alpha``. (Models
added part-way raise the count after earlier looks; the bound is then approximate.)

Verdicts: "<model> better" when the sequence excludes 0.5; "no difference" when it lies entirely
inside 0.5 +/- MARGIN (a practical-equivalence margin: a 60/40 split is the smallest difference a
studio would act on); otherwise "keep voting".
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 0.05
MARGIN = 0.1
TARGET_VOTES = 100
VARIANCE_PROXY = 0.25  # the largest variance of a score in [0, 1]


def mixture_rho(alpha: float = ALPHA, target: int = TARGET_VOTES) -> float:
    """The mixture variance that makes the boundary tightest near ``target`` votes."""
    log_term = 2 * math.log(1 / alpha)
    return VARIANCE_PROXY * target / (log_term + math.log(1 + log_term))


def radius(votes: np.ndarray | int, alpha: float = ALPHA, design_effect: float = 1.0) -> np.ndarray:
    """Half-width of the always-valid interval on the mean score after ``votes`` votes."""
    t = np.asarray(votes, dtype=float)
    rho = mixture_rho(alpha)
    v = VARIANCE_PROXY * design_effect * t
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.sqrt((v + rho) * np.log((v + rho) / (rho * alpha**2))) / t
    return np.where(t > 0, half, np.inf)


def ever_declares(scores: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """For sequences x votes of scores: whether the sequence excluded 0.5 at any vote count (peeking each time)."""
    t = np.arange(1, scores.shape[-1] + 1)
    means = np.cumsum(scores, axis=-1) / t
    return np.any(np.abs(means - 0.5) > radius(t, alpha), axis=-1)


def decide(scores: np.ndarray, pair: list[str], design_effect: float = 1.0, alpha: float = ALPHA,
           margin: float = MARGIN, comparisons: int = 1) -> dict:
    """The verdict for ``pair`` from the second model's scores in their head-to-head battles.

    ``comparisons``: how many pairs met; the sequence runs at ``alpha / comparisons`` (see the module doc).
    """
    n = int(scores.size)
    result = {"verdict": "keep voting", "error_rate": alpha, "pair": pair, "votes": n, "margin": margin,
              "design_effect": round(design_effect, 3), "comparisons": comparisons, "score": None, "interval": None,
              "method": "normal-mixture confidence sequence (always valid under peeking)"}
    if n == 0:
        return result
    mean = float(scores.mean())
    half = float(radius(n, alpha / comparisons, design_effect))
    low, high = max(0.0, mean - half), min(1.0, mean + half)
    result |= {"score": round(mean, 4), "interval": [round(low, 4), round(high, 4)]}
    if low > 0.5:
        result["verdict"] = f"{pair[1]} better"
    elif high < 0.5:
        result["verdict"] = f"{pair[0]} better"
    elif 0.5 - margin <= low and high <= 0.5 + margin:
        result["verdict"] = "no difference"
    return result
