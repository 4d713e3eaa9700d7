"""Rates with 95% intervals, and the paired difference of two models answering the same prompts.

* One model's pass rate: the Wilson score interval (sound for small n and for rates at 0 or 1, where
  the normal interval collapses to a point).
* A paired difference (A minus B): the prompts are the unit, so the bootstrap resamples prompts and
  keeps each prompt's two outcomes together. With identical answers every resample gives 0, and the
  interval is [0, 0]. A difference is *significant* when its interval excludes 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054
RESAMPLES = 2000
MIN_PAIRED = 5


def wilson(passed: int, n: int) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    p = passed / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def rate(outcomes: Sequence[float]) -> dict:
    n = len(outcomes)
    passed = int(sum(outcomes))
    return {"rate": round(passed / n, 4) if n else None, "ci95": wilson(passed, n), "n": n, "passed": passed}


def paired_difference(a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """``{"value", "ci95", "significant"}`` of mean(a) - mean(b) over paired outcomes.

    Below ``MIN_PAIRED`` prompts nothing is called significant: the bootstrap of one or two differing
    prompts gives a point interval that says nothing about the model.
    """
    if len(a) != len(b):
        raise ValueError("paired outcomes need the same prompts on both sides")
    if not a:
        return {"value": None, "ci95": None, "significant": False}
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[draws].mean(axis=1)
    low, high = (float(x) for x in np.percentile(means, [2.5, 97.5]))
    out = {"value": round(float(diffs.mean()), 4), "ci95": [round(low, 4), round(high, 4)],
           "significant": bool(low > 0 or high < 0) and len(diffs) >= MIN_PAIRED}
    if len(diffs) < MIN_PAIRED:
        out["note"] = f"fewer than {MIN_PAIRED} prompts: not tested"
    return out
