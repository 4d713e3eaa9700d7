"""Load: 20 rater sessions voting and 5 chatting at once, the generation scheduler against one at a time.

Both arms run the same load through gradio_client in one run. "One at a time" is the same studio with
the scheduler's batch capped at one request (``STUDIO_GEN_MAX_BATCH=1``): each answer runs alone while
the others wait in line, as under the model lock before the scheduler.
"""

from __future__ import annotations

import os

from bench.load import run_load

RATERS = int(os.environ.get("BENCH_LOAD_RATERS", "20"))
CHATTERS = int(os.environ.get("BENCH_LOAD_CHATTERS", "5"))


def main() -> dict:
    from studio.safety import gate_turn
    from studio.settings import Settings

    gate_turn("A warm-up before either arm.", Settings.from_env({}))  # the safety classifier loads once per process
    one = run_load(raters=RATERS, chatters=CHATTERS, max_batch=1)
    batched = run_load(raters=RATERS, chatters=CHATTERS)
    throughput = batched["requests_per_min"] / one["requests_per_min"] if one["requests_per_min"] else 0.0
    p50 = batched["latency_p50_s"] / one["latency_p50_s"] if one["latency_p50_s"] else 0.0
    errors = batched["errors"] + one["errors"]
    return {
        "title": f"Load: {RATERS} raters voting + {CHATTERS} chatting (gradio_client, loopback), scheduler vs one at a time",
        "goal": "throughput >= 3x, p50 request latency <= 0.33x, p95 time to first token <= 2 s, zero errors, "
                "every vote stored exactly once",
        "figures": {
            "throughput, scheduler / one at a time (x)": round(throughput, 2),
            "p50 latency, scheduler / one at a time (x)": round(p50, 2),
            "p95 time to first token, scheduler (s)": batched["first_token_p95_s"],
            "p95 time to first token, one at a time (s)": one["first_token_p95_s"],
            "errors (both arms)": len(errors),
            "each vote stored once (both arms)": batched["each_vote_once"] and one["each_vote_once"],
        },
        "rows": [dict(arm=name, **{k: v for k, v in res.items() if k not in ("errors", "raters", "chatters")})
                 for name, res in (("one at a time", one), ("scheduler", batched))],
        "notes": "Latency: until both answers of a battle (or the chat reply) are complete. Errors: "
                 + ("; ".join(errors[:5]) if errors else "none"),
    }
