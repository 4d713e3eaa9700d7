"""Back to the arena: after a preference (DPO) run, a new round pits it against the run it started from.

``start_round`` points the arena at the two models (the new run, and its ``init_adapter`` run or
``base``) and writes a prompt set ``round-<run>`` in ``<data>/prompts/``: the prompts its preference
pairs came from, then new prompts from the probe set. The report card compares the same two models.
"""

from __future__ import annotations

import json

from studio.compare.arena import ArenaConfig, ArenaError
from studio.compare.prompts import EXAMPLES_DIR, load_prompts
from studio.settings import Settings
from studio.util.io import atomic_write_text

NEW_PROMPTS = EXAMPLES_DIR / "probe-set.jsonl"


def start_round(settings: Settings, run_id: str, new_prompts: int = 20) -> dict:
    from studio.train.runs import RunNotFound, load_run
    from studio.train.training_data import load_pairs

    try:
        run = load_run(settings, run_id)
    except RunNotFound as exc:
        raise ArenaError(str(exc)) from None
    config = run.config()
    if config.method != "dpo" or run.status().get("state") != "succeeded" or not run.has_adapter():
        raise ArenaError(f"Run {run_id} is not a finished preference (DPO) run; a new round follows one.")
    rival = config.init_adapter or "base"
    _, pairs = load_pairs(config.dataset, settings)
    seen: dict[str, None] = {}
    for row in pairs:
        user = [m["content"] for m in row["prompt"] if m.get("role") == "user"]
        if user:
            seen.setdefault(user[-1].strip(), None)
    voted = len(seen)
    for item in load_prompts(NEW_PROMPTS):
        if len(seen) >= voted + new_prompts:
            break
        seen.setdefault(item["prompt"].strip(), None)
    name = f"round-{run_id}"
    lines = [json.dumps({"prompt": p, "category": "from votes" if i < voted else "new"}, ensure_ascii=False)
             for i, p in enumerate(seen)]
    atomic_write_text(settings.prompts_dir / f"{name}.jsonl", "\n".join(lines) + "\n")
    arena = ArenaConfig.load(settings)
    ArenaConfig(models=[run_id, rival], max_new_tokens=arena.max_new_tokens, temperature=arena.temperature,
                top_p=arena.top_p, system=arena.system).save(settings)
    return {"models": [run_id, rival], "prompt_set": name, "prompts": len(seen), "from_votes": voted}
