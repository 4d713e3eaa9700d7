"""A detection rate with its 95% interval, as the safety reports print it (``None`` where nothing was counted)."""

from __future__ import annotations

from studio.eval.stats import wilson as wilson_interval


def wilson(successes: int, n: int) -> dict:
    """``{"rate", "n", "ci95"}`` with the Wilson score interval (sensible at small n and at 0 or 1)."""
    if n == 0:
        return {"rate": None, "n": 0, "ci95": None}
    return {"rate": round(successes / n, 4), "n": n, "ci95": wilson_interval(successes, n)}
