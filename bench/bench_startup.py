"""App cold start: `python app.py` until the first page is served (goal: within 15 s on 2 cores).

The ratio compares it to a bare `import gradio` in the same run, which is the floor any Gradio app pays.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cold_start_seconds() -> float:
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "STUDIO_DATA_DIR": tempfile.mkdtemp(), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < 120:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the app did not serve its first page within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def import_gradio_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], check=True)
    return time.perf_counter() - started


def main() -> dict:
    starts = [cold_start_seconds() for _ in range(REPEATS)]
    floors = [import_gradio_seconds() for _ in range(REPEATS)]
    median, floor = statistics.median(starts), statistics.median(floors)
    return {
        "title": "App cold start",
        "goal": "python app.py serves its first page within 15 s on this 2-core machine",
        "figures": {
            "cold start to first page, median (s)": round(median, 2),
            "bare `import gradio`, median (s)": round(floor, 2),
            "cold start / import gradio": round(median / floor, 2),
            "within goal": median <= 15,
        },
    }
