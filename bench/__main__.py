"""`python -m bench [NAME...]`: run the benchmarks (all by default) and rewrite BENCHMARKS.md.

Each module ``bench/bench_<name>.py`` has ``main() -> dict`` returning
``{"title": str, "goal": str, "figures": {name: value}, "notes": str}`` (``rows`` optional: a list of
dicts shown as a table). Figures are ratios measured side by side in one run, so a noisy shared
machine moves both arms alike. A benchmark that cannot run is reported and makes the exit code 1.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["startup", "safety", "validate", "train", "compare", "eval", "rag", "scheduler", "load"]


def discover() -> list[str]:
    found = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, Python {platform.python_version()}"


def render(results: dict[str, dict], failures: dict[str, str]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {dt.date.today().isoformat()} on {machine()} by `make bench`.",
        "Each figure is measured side by side in one run (ratios), repeated and reported as a median; "
        "the goal from the issue is printed beside it.",
        "",
    ]
    for name, res in results.items():
        lines += [f"## {res.get('title', name)}", "", f"Goal: {res.get('goal', '-')}", ""]
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in res.get("figures", {}).items()]
        if res.get("rows"):
            cols = list(res["rows"][0])
            lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in res["rows"]]
        if res.get("notes"):
            lines += ["", res["notes"]]
        lines.append("")
    for name, err in failures.items():
        lines += [f"## {name}: could not run", "", "```", err.strip()[-1500:], "```", ""]
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    names = argv or discover()
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for name in names:
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        try:
            res = importlib.import_module(f"bench.bench_{name}").main()
            res.setdefault("figures", {})["benchmark wall time (s)"] = round(time.perf_counter() - started, 1)
            results[name] = res
            print(json.dumps(res, indent=2, default=str), flush=True)
        except Exception:
            failures[name] = traceback.format_exc()
            print(failures[name], file=sys.stderr, flush=True)
    # Results are kept per benchmark, so `python -m bench train` refreshes one section of BENCHMARKS.md.
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    for name, res in results.items():
        (out / f"{name}.json").write_text(json.dumps(res, indent=2, default=str))
    stored = {n: json.loads((out / f"{n}.json").read_text()) for n in discover() if (out / f"{n}.json").exists()}
    (ROOT / "BENCHMARKS.md").write_text(render(stored, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
