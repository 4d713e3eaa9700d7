"""The model report card: a suite answered by the raw model (runtime guard off), scored, with intervals.

``make_card(CardRequest(model, against), settings)`` returns the report and stores it (see
``studio.eval.files``). The crisis gate and the output guard are NOT applied to the answers: the model
that ships is the raw model, so its own behaviour is what is measured. The guard is used only as a
judge (``studio.eval.scoring``). Decoding is greedy, so a card is reproducible and a model compared
with itself differs nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from studio.eval import files
from studio.eval.generate import DEFAULT_BATCH, generate_all
from studio.eval.scoring import SAFETY_CATEGORIES, guard_answer, score_answer
from studio.eval.stats import paired_difference, rate
from studio.eval.suite import CATEGORIES, EvalItem, load_suite
from studio.models.generate import GenerationSettings
from studio.settings import Settings

DEFAULT_MAX_NEW_TOKENS = 160
LOSS_CONVERSATIONS = 100  # eval-loss conversations scored at most (the held-out split is usually smaller)


@dataclass
class CardRequest:
    model: str
    against: str | None = None
    suite: str | None = None  # a folder; None = the default suite (studio.eval.suite.default_suite)
    limit: int | None = None  # first N prompts of each category
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    batch_size: int = DEFAULT_BATCH
    eval_loss: bool = True

    def __post_init__(self) -> None:
        if self.limit is not None and int(self.limit) < 1:
            raise ValueError("--limit must be at least 1 (or left out for the whole suite).")
        if not 1 <= int(self.batch_size) <= 64:
            raise ValueError("--batch-size must be from 1 to 64.")
        GenerationSettings(max_new_tokens=self.max_new_tokens)  # validates the range with its own message


def make_card(request: CardRequest, settings: Settings, progress: Callable[[str], None] | None = None) -> dict:
    say = progress or (lambda _msg: None)
    suite = load_suite(request.suite, settings)
    items = suite.limited(request.limit)
    models = [request.model] + ([request.against] if request.against else [])
    say(f"preparing {len(items)} prompts ({', '.join(f'{k} {v}' for k, v in _counts(items).items())})…")
    conversations, passages = _prepare(items, settings)
    unique = list(dict.fromkeys(models))  # a model against itself is generated once
    gen = GenerationSettings(max_new_tokens=request.max_new_tokens, temperature=0.0)
    answers, timing = generate_all(unique, conversations, gen, settings, request.batch_size,
                                   progress=lambda done, total: say(f"generated {done}/{total} answers"))
    say("scoring answers…")
    per_model = [_score_all(items, answers[unique.index(m)], passages) for m in models]
    report = {
        "models": [request.model, request.against],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "suite": {"path": str(suite.path), "digest": suite.digest, "counts": _counts(items), "limit": request.limit},
        "settings": {"max_new_tokens": request.max_new_tokens, "batch_size": request.batch_size, "decoding": "greedy",
                     "runtime_guard": "off", "system_digest": system_digest(settings)},
        "fingerprints": {m: files.fingerprint(m, settings) for m in unique},
        "categories": _categories(per_model),
        "answer_length": {side: _lengths(rows) for side, rows in zip("ab", per_model, strict=False)},
        "generation": timing.to_dict() | {"batched": request.batch_size > 1},
        "eval_loss": _eval_loss(models, settings, say) if request.eval_loss else {"skipped": True},
    }
    report["significant"] = [name for name, row in report["categories"].items() if (row.get("diff") or {}).get("significant")]
    report["paths"] = files.save(report, _drill_down(items, per_model), settings)
    return report


def system_digest(settings: Settings) -> str:
    """Which system prompt the answers were given under (a card made under another one is not reused)."""
    import hashlib

    from studio.models.system_prompt import load_system_prompt

    return hashlib.sha256(load_system_prompt(settings).encode("utf-8")).hexdigest()[:16]


def _counts(items: list[EvalItem]) -> dict[str, int]:
    return {name: n for name in CATEGORIES if (n := sum(1 for i in items if i.category == name))}


def _prepare(items: list[EvalItem], settings: Settings) -> tuple[list[list[dict]], list[list[str]]]:
    """The chat messages of each prompt (knowledge prompts with retrieved references) and their passages."""
    from studio.models.system_prompt import load_system_prompt
    from studio.rag.prompt import system_with_rules, user_turn

    system = load_system_prompt(settings)
    conversations, passages = [], []
    for item in items:
        sources = _sources(item.prompt, settings) if item.category == "knowledge" else []
        user, _ = user_turn(item.prompt, sources)
        conversations.append([{"role": "system", "content": system_with_rules(system, bool(sources))},
                              {"role": "user", "content": user}])
        passages.append([s.text for s in sources])
    return conversations, passages


def _sources(prompt: str, settings: Settings):
    from studio.rag.chat import retrieve_sources
    from studio.rag.seed import ensure_seeded

    ensure_seeded(settings)
    return retrieve_sources(prompt, settings)


def _score_all(items: list[EvalItem], answers, passages: list[list[str]]) -> list[dict]:
    rows = []
    for item, answer, given in zip(items, answers, passages, strict=True):
        guard = guard_answer(answer.text)
        score = score_answer(item, answer.text, guard, given)
        rows.append({"category": item.category, "text": answer.text, "passed": score.passed, "reason": score.reason,
                     "codes": list(guard.codes), "unsafe": guard.violation, "new_tokens": answer.new_tokens,
                     "words": len(answer.text.split()), **score.extra})
    return rows


def _categories(per_model: list[list[dict]]) -> dict:
    names = [n for n in CATEGORIES if any(r["category"] == n for r in per_model[0])]
    out = {}
    for name in [*names, "unsafe"]:
        outcomes = [_outcomes(rows, name) for rows in per_model]
        row: dict = {"higher_is_better": name != "unsafe", "safety": name in SAFETY_CATEGORIES}
        for side, values in zip("ab", outcomes, strict=False):
            row[side] = rate(values)
        if len(outcomes) == 2:
            diff = paired_difference(outcomes[0], outcomes[1])
            row["diff"] = diff
            worse = diff["value"] is not None and diff["significant"] and (diff["value"] < 0) == row["higher_is_better"]
            row["a_worse"] = bool(worse)
        out[name] = row
    return out


def _outcomes(rows: list[dict], name: str) -> list[float]:
    if name == "unsafe":
        return [1.0 if r["unsafe"] else 0.0 for r in rows]
    return [1.0 if r["passed"] else 0.0 for r in rows if r["category"] == name]


def _lengths(rows: list[dict]) -> dict:
    n = len(rows) or 1
    return {"mean_words": round(sum(r["words"] for r in rows) / n, 1),
            "mean_new_tokens": round(sum(r["new_tokens"] for r in rows) / n, 1)}


def _eval_loss(models: list[str], settings: Settings, say) -> dict:
    """Loss on the held-out split of the tuned run (the first model that is a run); an error line otherwise."""
    from studio.compare.metrics import eval_metrics, split_for
    from studio.compare.side_by_side import CompareError

    pair = (models[0], models[-1])
    if any(m.startswith("remote:") for m in pair):  # a hosted model's server gives no token losses
        return {"error": "Eval loss needs the weights; a remote model has none here."}
    try:
        split = split_for(pair, None, None, None, settings)
        say(f"eval loss on the held-out split of {split.dataset}…")
        result = eval_metrics(pair[0], pair[1], split, settings, limit=LOSS_CONVERSATIONS)
    except CompareError as exc:
        return {"error": str(exc)}
    out = {"dataset": result["dataset"], "conversations": result["conversations"], "a": result["a"]["loss"]}
    if len(models) == 2:
        out["b"] = result["b"]["loss"]
    return out


def _drill_down(items: list[EvalItem], per_model: list[list[dict]]) -> list[dict]:
    records = []
    for i, item in enumerate(items):
        record = {"id": item.id, "category": item.category, "prompt": item.prompt}
        for side, rows in zip("ab", per_model, strict=False):
            record[side] = {k: v for k, v in rows[i].items() if k != "category"}
        if len(per_model) == 2:
            record["differs"] = per_model[0][i]["passed"] != per_model[1][i]["passed"] or per_model[0][i]["unsafe"] != per_model[1][i]["unsafe"]
        records.append(record)
    return records
