"""Hostile rater: one signed-in rater sends maximal messages and many spellings of model names while the
others vote and chat. Goal (issue 22): every other user's p95 latency within 1.5x of the same load
without the hostile rater, zero errors for them, memory bounded.

One studio (bench.load's set-up: password login, a tiny trained run, arena on base vs run-load) serves
both phases, after a warm-up chat, so both find the model loaded: first the plain load, then the same
load with the hostile rater's two sessions running from two seconds before the others start until they
finish. Peak RSS of this process (the studio runs in it) is sampled every 0.2 s in each phase.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

from bench.load import RATER_PASSWORD, _chatter, _start_studio, run_users

CHAT_MAX_TOKENS = 1024  # the /chat slider's maximum


def _spellings(settings) -> list[str]:
    """Model names a rater must never turn into a new load: paths, variants, hub ids, traversal."""
    from studio.models.loader import base_path

    folder = str(base_path("embedded", settings))
    runs = str(settings.runs_dir / "run-load")
    # The ones that must be refused first (a refusal costs no model time), then accepted variants.
    return [folder, folder + "/", folder + "/./", folder + "//", runs, runs + "/", "/tmp", "../../etc", "gpt2",
            "HuggingFaceTB/SmolLM2-135M-Instruct", "embedded", "BASE", "base/", "./run-load", "run-load/",
            " base ", "base", "run-load"]


def _hostile(url: str, kind: str, settings, stop: threading.Event, out: dict, lock: threading.Lock) -> None:
    from gradio_client import Client

    client = Client(url, auth=("mallory", RATER_PASSWORD), verbose=False)
    cap = settings.max_message_chars
    i = 0
    while not stop.is_set():
        if kind == "maximal":  # the longest accepted message and reply, then one over the cap
            args = (("I feel anxious. " * cap)[:cap] if i % 2 == 0 else "x" * (cap + 1), "base", CHAT_MAX_TOKENS)
        else:
            names = _spellings(settings)
            args = ("Hello there.", names[i % len(names)], 16)
        message, model, tokens = args
        try:
            client.predict(message, [], model, False, "US", "", 0.0, 0.9, tokens, 0, api_name="/chat")
            outcome = "answered"
        except Exception as exc:  # refusals are the expected outcome for most of these
            outcome = "refused" if type(exc).__name__ == "AppError" else f"failed: {exc}"
        with lock:
            out[f"{kind} {outcome}"] = out.get(f"{kind} {outcome}", 0) + 1
            if kind == "spellings":
                out.setdefault("answered names" if outcome == "answered" else "refused names", set()).add(repr(model))
        i += 1


def _short(name: str) -> str:
    return name if not name.startswith("/") else ".../" + name.rstrip("/").rsplit("/", 1)[-1] + name[len(name.rstrip("/")):]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _phase(url: str, settings, raters: int, chatters: int, hostile: bool) -> dict:
    results: dict = {"votes_cast": [], "chats": 0, "errors": [], "latencies": [], "first_token": []}
    lock, stop, hostile_out, peak = threading.Lock(), threading.Event(), {}, [_rss_mb()]

    def sample() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _rss_mb())

    side = [threading.Thread(target=sample, daemon=True)]
    if hostile:
        side += [threading.Thread(target=_hostile, args=(url, k, settings, stop, hostile_out, lock), daemon=True)
                 for k in ("maximal", "spellings")]
    for thread in side:
        thread.start()
    time.sleep(2.0 if hostile else 0.0)
    wall = run_users(url, raters, chatters, results, lock)
    stop.set()
    for thread in side:
        thread.join(timeout=600)
    lat = sorted(results["latencies"]) or [0.0]
    p95 = statistics.quantiles(lat, n=20, method="inclusive")[18] if len(lat) > 1 else lat[0]
    return {"requests": len(results["latencies"]), "errors": results["errors"], "p50_s": statistics.median(lat),
            "p95_s": p95, "max_s": lat[-1], "wall_s": wall, "peak_rss_mb": peak[0], "hostile": hostile_out}


def run_hostile(raters: int = 4, chatters: int = 2) -> dict:
    import tempfile

    from studio.models.loader import model_cache

    with tempfile.TemporaryDirectory() as tmp:
        settings, demo, url = _start_studio(Path(tmp) / "data", max_queue=64)
        try:
            _chatter(url, "warm-up", 1, {"chats": 0, "errors": [], "latencies": [], "first_token": []}, threading.Lock())
            plain = _phase(url, settings, raters, chatters, hostile=False)
            hostile = _phase(url, settings, raters, chatters, hostile=True)
            loaded = model_cache(settings).loaded_bases()
        finally:
            demo.close()
    return {"plain": plain, "hostile": hostile, "loaded_bases_after": loaded, "raters": raters, "chatters": chatters}


def main(raters: int = 4, chatters: int = 2) -> dict:
    res = run_hostile(raters, chatters)
    plain, hostile = res["plain"], res["hostile"]
    ratio = hostile["p95_s"] / plain["p95_s"] if plain["p95_s"] else float("nan")
    return {
        "title": f"Hostile rater: {raters} raters voting + {chatters} chatting, with and without one hostile rater",
        "goal": "others' p95 latency <= 1.5x the run without the hostile rater; zero errors for them; memory bounded",
        "figures": {
            "others' p95 without hostile (s)": round(plain["p95_s"], 1), "others' p95 with hostile (s)": round(hostile["p95_s"], 1),
            "p95 ratio (goal <= 1.5)": round(ratio, 2),
            "others' p50 without / with (s)": f"{plain['p50_s']:.1f} / {hostile['p50_s']:.1f}",
            "others' errors without / with": f"{len(plain['errors'])} / {len(hostile['errors'])}",
            "peak RSS without / with (MB)": f"{plain['peak_rss_mb']:.0f} / {hostile['peak_rss_mb']:.0f}",
            "hostile requests": ", ".join(f"{k}: {v}" for k, v in sorted(hostile["hostile"].items()) if "names" not in k),
            "model names answered": ", ".join(sorted(_short(n) for n in hostile["hostile"].get("answered names", ()))),
            "model names refused": len(hostile["hostile"].get("refused names", ())),
            "model bases loaded after": ", ".join(res["loaded_bases_after"]),
        },
        "notes": "Errors: " + ("; ".join((plain["errors"] + hostile["errors"])[:5]) or "none"),
    }


if __name__ == "__main__":
    import json
    import sys

    sizes = [int(x) for x in sys.argv[1:3]]
    print(json.dumps(main(*sizes), indent=2, default=str))
