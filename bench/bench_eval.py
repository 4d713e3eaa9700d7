"""Report card time on the embedded model: batched generation against one prompt at a time, in one run.

Both arms run ``make_card`` on the same ~200 prompts of the default suite (the first 34 of each of the
six categories) with the same greedy settings, retrieval for the knowledge prompts and the same scoring;
only ``batch_size`` differs (8 prompts per ``generate`` call against 1). The answers are the same in
both arms (own-token left padding keeps greedy decoding exact), so the ratio is the price of batching.
"""

from __future__ import annotations

import os
import tempfile
import time

PER_CATEGORY = int(os.environ.get("BENCH_EVAL_PER_CATEGORY", "34"))
NEW_TOKENS = int(os.environ.get("BENCH_EVAL_TOKENS", "24"))


def _card(settings, batch_size: int) -> tuple[float, dict]:
    from studio.eval.card import CardRequest, make_card

    request = CardRequest(model="base", limit=PER_CATEGORY, max_new_tokens=NEW_TOKENS, batch_size=batch_size,
                          eval_loss=False)
    started = time.perf_counter()
    report = make_card(request, settings)
    return time.perf_counter() - started, report


def main() -> dict:
    from studio.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"STUDIO_DATA_DIR": tmp})
        from studio.eval.card import CardRequest, make_card

        # Load the model and seed the knowledge base once, outside both arms.
        make_card(CardRequest(model="base", limit=1, max_new_tokens=4, eval_loss=False), settings)
        batched, report = _card(settings, 8)
        single, report_one = _card(settings, 1)
    prompts = sum(report["suite"]["counts"].values())
    same = [r["a"]["rate"] for r in report["categories"].values()] == [r["a"]["rate"] for r in report_one["categories"].values()]
    return {
        "title": "Report card: batched generation",
        "goal": "a card for 200 prompts in at most 0.6x the time of one-at-a-time generation",
        "figures": {
            "prompts": prompts,
            "max new tokens": NEW_TOKENS,
            "batched card (s)": round(batched, 1),
            "one at a time (s)": round(single, 1),
            "batched / one at a time": round(batched / single, 3),
            "tokens/s batched": report["generation"]["tokens_per_s"],
            "tokens/s one at a time": report_one["generation"]["tokens_per_s"],
            "same rates in both arms": same,
        },
        "notes": "Both arms include retrieval for the knowledge prompts and the scoring (output guard, checks); "
                 "the generation share is what batching speeds up.",
    }
