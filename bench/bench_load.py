"""Load: 20 rater sessions voting and 5 chatting at once (goal: zero errors, every vote stored once)."""

from __future__ import annotations

from bench.load import run_load


def main() -> dict:
    res = run_load(raters=20, chatters=5)
    return {
        "title": "Load: 20 raters voting + 5 chatting (gradio_client, loopback)",
        "goal": "zero errors and every vote stored exactly once; model-bound events queue in one concurrency group",
        "figures": {
            "votes cast": res["votes_cast"], "votes stored": res["votes_stored"], "each vote stored once": res["each_vote_once"],
            "chat replies": res["chats"], "errors": len(res["errors"]), "wall time (s)": res["wall_s"],
            "request latency p50 (s)": res["latency_p50_s"], "request latency max (s)": res["latency_max_s"],
        },
        "notes": "Errors: " + ("; ".join(res["errors"][:5]) if res["errors"] else "none"),
    }
