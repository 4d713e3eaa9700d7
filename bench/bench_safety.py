"""Safety layer latency (one crisis check / reply check after the embedder is loaded) and quality.

Goal (issue 8): a check takes at most 20 ms after load. Measured on every user message of the
evaluation set, interleaving the arms per message (full check, rules only, one raw MiniLM encode)
so a noisy shared machine moves them alike; the ratio check / raw encode shows what the safety
logic adds on top of the embedder itself.
"""

from __future__ import annotations

import os
import statistics
import time

GOAL_MS = 20.0
ROUNDS = 2


def _ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def main() -> dict:
    from studio.safety import check_reply, check_user_message, evaluate, learned

    started = time.perf_counter()
    index = learned.get_index()
    load_s = time.perf_counter() - started
    users = [r["text"] for r in evaluate.load_jsonl(evaluate.EVAL_DIR / "user_messages.jsonl")]
    replies = [r["text"] for r in evaluate.load_jsonl(evaluate.EVAL_DIR / "assistant_replies.jsonl")]
    check_user_message("warm up the path", learned=True)
    full, rules, encode, guard, embedded = [], [], [], [], []
    for _ in range(ROUNDS):
        for text in users:
            full.append(_ms(lambda t=text: check_user_message(t)))
            if check_user_message(text, learned=False).level != "urgent":
                embedded.append(full[-1])  # the path that runs the embedder
            rules.append(_ms(lambda t=text: check_user_message(t, learned=False)))
            encode.append(_ms(lambda t=text: index.embed([t])))
        for text in replies:
            guard.append(_ms(lambda t=text: check_reply(t)))
    p95 = _p(full, 0.95)
    report = evaluate.run()
    quality = {
        "main_crisis_recall": report["crisis"]["recall"],
        "main_crisis_false_alarm_rate": report["crisis"]["false_alarm_rate"],
        "main_guard_recall": report["guard"]["recall"],
        "main_guard_false_alarm_rate": report["guard"]["false_alarm_rate"],
        "exemplar_loo_recall": report["exemplar_loo"]["recall"],
        "exemplar_loo_false_alarm_rate": report["exemplar_loo"]["false_alarm_rate"],
    }
    figures = {
        **quality,
        "embedder_load_s": round(load_s, 2),
        "check_p50_ms": _p(full, 0.5),
        "check_p95_ms": p95,
        "check_max_ms": round(max(full), 2),
        "rules_only_p50_ms": _p(rules, 0.5),
        "rules_only_p95_ms": _p(rules, 0.95),
        "embedder_path_p50_ms": _p(embedded, 0.5),
        "embedder_path_p95_ms": _p(embedded, 0.95),
        "raw_encode_p50_ms": _p(encode, 0.5),
        "embedder_path_vs_raw_encode_p50": round(statistics.median(embedded) / statistics.median(encode), 2),
        "guard_p50_ms": _p(guard, 0.5),
        "guard_p95_ms": _p(guard, 0.95),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    met = p95 <= GOAL_MS
    rows = [{"set": name, **blind} for name, blind in evaluate.BLIND_FIRST_RUNS.items()]
    return {
        "title": "Safety layer: crisis check and output guard latency and quality",
        "rows": rows,
        "goal": f"a crisis check takes at most {GOAL_MS:.0f} ms after load (p95 over the evaluation messages)",
        "figures": figures,
        "met": met,
        "notes": (
            f"{'met' if met else 'NOT met'}: p95 {p95} ms over {len(full)} checks. Messages a rule marks urgent skip the "
            "embedder; others embed the message and, when it has several sentences, each sentence in one batch. "
            "Rules only (used by the dataset lint) stays well under a millisecond. Timings on a shared machine rise "
            "with the load average shown. Quality: the main set meets the recall/false-alarm goals, but the rows give "
            "the blind first run of each holdout set (written after freezing the detector at that commit), which is "
            "the honest estimate on new phrasings; see examples/safety/README.md."
        ),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
