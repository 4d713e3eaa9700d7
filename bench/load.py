"""Load script: many raters voting and a few people chatting at once, through gradio_client.

Loopback only and bounded: each simulated rater runs a fixed number of battles, each chatter a fixed
number of messages. The studio runs in this process with password login, like a shared Space.
Checks: zero errors, and every vote stored exactly once. ``max_batch=1`` runs the same load with the
generation scheduler answering one request at a time (the one-at-a-time arm of the benchmark).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

RATER_PASSWORD = "load-rater-pw"
ADMIN_PASSWORD = "load-admin-pw"
CHAT_PROMPTS = ["How can I rest after a session?", "What is a kind way to journal tonight?", "How do I tell my partner how it went?"]
BATTLE_PROMPTS = ["What should I bring to my first session?", "How do I explain integration to a friend?"]


def _start_studio(data_dir: Path, max_queue: int, max_batch: int | None = None):
    import os

    from studio.compare.arena import ArenaConfig
    from studio.settings import Settings
    from studio.ui.app import build_app, launch_kwargs
    from tests.compare.helpers import make_run
    from tests.conftest import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_ADMIN_PASSWORD=ADMIN_PASSWORD, STUDIO_RATER_PASSWORD=RATER_PASSWORD,
               STUDIO_MAX_QUEUE=str(max_queue))
    if max_batch is not None:  # 1: the scheduler answers one request at a time, the others wait in line
        env["STUDIO_GEN_MAX_BATCH"] = str(max_batch)
    settings = Settings.from_env(env)
    settings.ensure_data_dir()
    make_run(settings, "run-load", steps=2)
    ArenaConfig(models=["base", "run-load"], max_new_tokens=16, temperature=0.0).save(settings)
    demo = build_app(settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(settings, host="127.0.0.1", port=port))
    return settings, demo, f"http://127.0.0.1:{port}/"


def _stream(client, args: tuple, api_name: str, has_text) -> tuple[list, float | None]:
    """Submit one event and follow its stream -> (last output, seconds until the first output with answer text)."""
    started = time.perf_counter()
    job = client.submit(*args, api_name=api_name)
    first = None
    for output in job:
        if first is None and has_text(output):
            first = time.perf_counter() - started
    return job.result(), first


def _battle_text(output) -> bool:
    return bool(output[1] or output[2])


def _chat_text(output) -> bool:
    history = output[0] or []
    return bool(history) and history[-1].get("role") == "assistant" and bool(history[-1].get("content"))


def _rater(url: str, name: str, battles: int, results: dict, lock: threading.Lock) -> None:
    from gradio_client import Client

    client = Client(url, auth=(name, RATER_PASSWORD), verbose=False)
    for i in range(battles):
        started = time.perf_counter()
        try:
            out, first = _stream(client, (BATTLE_PROMPTS[i % len(BATTLE_PROMPTS)], None, name), "/arena_battle", _battle_text)
            battle_id = out[0]
            generated = time.perf_counter() - started
            client.predict(battle_id, ("a", "b", "tie", "both_bad")[i % 4], f"load test {name}", name, api_name="/arena_vote")
            with lock:
                results["votes_cast"].append(battle_id)
                results["latencies"].append(generated)
                results["first_token"].append(first if first is not None else generated)
        except Exception as exc:  # counted, not raised: the load run reports every failure
            with lock:
                results["errors"].append(f"{name}: {exc}")


def _chatter(url: str, name: str, messages: int, results: dict, lock: threading.Lock) -> None:
    from gradio_client import Client

    client = Client(url, auth=(name, RATER_PASSWORD), verbose=False)
    for i in range(messages):
        started = time.perf_counter()
        try:
            args = (CHAT_PROMPTS[i % len(CHAT_PROMPTS)], [], "base", False, "US", "", 0.0, 0.9, 16, 0)
            _, first = _stream(client, args, "/chat", _chat_text)
            generated = time.perf_counter() - started
            with lock:
                results["chats"] += 1
                results["latencies"].append(generated)
                results["first_token"].append(first if first is not None else generated)
        except Exception as exc:
            with lock:
                results["errors"].append(f"{name}: {exc}")


def run_users(url: str, raters: int, chatters: int, results: dict, lock: threading.Lock, battles_each: int = 1,
              messages_each: int = 1) -> float:
    """Run the raters and chatters to the end (each in its own thread); returns the wall time in seconds."""
    threads = [threading.Thread(target=_rater, args=(url, f"rater-{i:02d}", battles_each, results, lock)) for i in range(raters)]
    threads += [threading.Thread(target=_chatter, args=(url, f"chat-{i:02d}", messages_each, results, lock)) for i in range(chatters)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=1800)
    return time.perf_counter() - started


def run_load(raters: int = 20, chatters: int = 5, battles_each: int = 1, messages_each: int = 1, max_queue: int = 64,
             max_batch: int | None = None) -> dict:
    """Run the load and return what happened; the caller decides what counts as a pass.

    Latency is until the answers are complete (a battle's vote is not counted in it); time to first
    token is until the first output that carries answer text."""
    from studio.compare.arena import store

    with tempfile.TemporaryDirectory() as tmp:
        settings, demo, url = _start_studio(Path(tmp) / "data", max_queue, max_batch)
        results: dict = {"votes_cast": [], "chats": 0, "errors": [], "latencies": [], "first_token": []}
        lock = threading.Lock()
        wall = run_users(url, raters, chatters, results, lock, battles_each, messages_each)
        with store(settings).connect() as conn:
            stored_ids = [row[0] for row in conn.execute("SELECT battle_id FROM votes")]
        demo.close()
    cast = results["votes_cast"]
    lat = sorted(results["latencies"]) or [0.0]
    first = sorted(results["first_token"]) or [0.0]
    requests = len(cast) + results["chats"]
    return {
        "raters": raters, "chatters": chatters, "votes_cast": len(cast), "votes_stored": len(stored_ids),
        "each_vote_once": sorted(cast) == sorted(stored_ids),
        "chats": results["chats"], "errors": results["errors"], "wall_s": round(wall, 1),
        "requests_per_min": round(60 * requests / wall, 2) if wall > 0 else 0.0,
        "latency_p50_s": round(statistics.median(lat), 2), "latency_max_s": round(lat[-1], 2),
        "first_token_p95_s": round(_percentile(first, 0.95), 2),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
