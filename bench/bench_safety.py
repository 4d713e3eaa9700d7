"""Safety layer latency (one crisis check / reply check after the classifier is loaded) and quality.

Goal (safety issue): p95 <= 30 ms for one message after load on this 2-core machine, reported as a
ratio to one raw encoder call measured in the same run. The arms are interleaved per message
(full check, one raw MiniLM encode) so a noisy shared machine moves them alike. Each check uses a
fresh text (the classifier caches by text, and a cache hit would flatter the figure).
"""

from __future__ import annotations

import os
import statistics
import time

GOAL_MS = 30.0
ROUNDS = 2


def _ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def main() -> dict:
    from studio.safety import check_reply, check_user_message, evaluate
    from studio.safety.classifier import get_classifier

    started = time.perf_counter()
    model = get_classifier()
    load_s = time.perf_counter() - started
    sets = evaluate.find_sets(evaluate.EVAL_DIR)
    users = [r["text"] for name in ("main", "holdout", "holdout2", "holdout3") for r in evaluate.load_jsonl(sets[name]["user"])]
    replies = [r["text"] for r in evaluate.load_jsonl(sets["main"]["reply"])]
    check_user_message("warm up the path")
    full, encode, guard = [], [], []
    for round_ in range(ROUNDS):
        for text in users:
            fresh = f"{text} ({round_})"  # a new text each round: no cache hits
            full.append(_ms(lambda t=fresh: check_user_message(t)))
            encode.append(_ms(lambda t=fresh: model.encoder.encode([t + " "], normalize_embeddings=True)))
        for text in replies:
            guard.append(_ms(lambda t=f"{text} ({round_})": check_reply(t)))
    p95 = _p(full, 0.95)
    report = evaluate.run(cv=False)
    rows = [
        {"set": name, "n": block["users"]["n"], **{k: block["users"][k]["rate"] for k in ("escalation_recall", "urgent_recall", "false_alarm_rate")},
         "guard_recall": block.get("replies", {}).get("recall", {}).get("rate"),
         "guard_false_alarm_rate": block.get("replies", {}).get("false_alarm_rate", {}).get("rate")}
        for name, block in report["sets"].items() if "users" in block
    ]
    figures = {
        "classifier_load_s": round(load_s, 2),
        "check_p50_ms": _p(full, 0.5),
        "check_p95_ms": p95,
        "check_max_ms": round(max(full), 2),
        "raw_encode_p50_ms": _p(encode, 0.5),
        "raw_encode_p95_ms": _p(encode, 0.95),
        "check_vs_raw_encode_p95": round(p95 / _p(encode, 0.95), 2),
        "check_vs_raw_encode_p50": round(statistics.median(full) / statistics.median(encode), 2),
        "guard_p50_ms": _p(guard, 0.5),
        "guard_p95_ms": _p(guard, 0.95),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    met = p95 <= GOAL_MS
    return {
        "title": "Safety layer: crisis check and output guard latency and quality",
        "rows": rows,
        "goal": f"a crisis check takes at most {GOAL_MS:.0f} ms after load (p95), shown as a ratio to one raw encoder call",
        "figures": figures,
        "met": met,
        "notes": (
            f"{'met' if met else 'NOT met'}: p95 {p95} ms over {len(full)} checks of fresh texts "
            f"({figures['check_vs_raw_encode_p95']}x one raw MiniLM encode at p95). A check is one encode plus word and "
            "character n-gram TF-IDF, one sparse matrix product and the rules. Rows: the labelled sets (none is trained on; "
            "the holdouts were written by earlier sessions against the older detectors, so they are not blind for the "
            "team but are unseen by the classifier and its corpus writers)."
        ),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
