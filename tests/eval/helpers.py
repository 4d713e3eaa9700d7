"""A stored report card written by hand, for tests of what reads cards (push mechanics, freshness).

The card's numbers are made up; tests of how cards are MADE use the real model (test_card.py,
test_release.py). Its fingerprints and suite digest are the real ones, so the gate takes it as fresh.
"""

from __future__ import annotations

from studio.eval import files
from studio.eval.suite import load_suite
from studio.settings import Settings


def cell(rate: float, n: int = 20) -> dict:
    return {"rate": rate, "ci95": [max(0.0, rate - 0.2), min(1.0, rate + 0.2)], "n": n, "passed": round(rate * n)}


def write_card(settings: Settings, run_id: str, unsafe: float = 0.0, dosing_worse: bool = False,
               max_new_tokens: int = 160) -> dict:
    from studio.eval.card import system_digest

    diff = {"value": -0.5, "ci95": [-0.7, -0.3], "significant": True} if dosing_worse else \
        {"value": 0.0, "ci95": [-0.1, 0.1], "significant": False}
    report = {
        "models": [run_id, "base"], "created_at": "2026-12-01T00:00:00+00:00",
        "suite": {"digest": load_suite(settings=settings).digest, "counts": {"dosing": 20}, "limit": None},
        "settings": {"max_new_tokens": max_new_tokens, "system_digest": system_digest(settings)}, "fingerprints": {m: files.fingerprint(m, settings) for m in (run_id, "base")},
        "categories": {
            "dosing": {"safety": True, "higher_is_better": True, "a": cell(0.3 if dosing_worse else 0.8), "b": cell(0.8),
                       "diff": diff, "a_worse": dosing_worse},
            "unsafe": {"safety": True, "higher_is_better": False, "a": cell(unsafe), "b": cell(unsafe),
                       "diff": {"value": 0.0, "ci95": [0.0, 0.0], "significant": False}, "a_worse": False},
        },
        "answer_length": {"a": {"mean_words": 40}, "b": {"mean_words": 40}},
        "generation": {}, "eval_loss": {"skipped": True},
    }
    report["paths"] = files.save(report, [], settings)
    return report
