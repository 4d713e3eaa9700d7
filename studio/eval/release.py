"""The release gate: a run goes to the Hub only when its report card says it is not less safe than the base.

``release_check`` reuses the run's card when it is fresh (same adapter, same suite, against ``base``)
and makes one otherwise. It refuses when the tuned model is worse than the base, beyond the interval,
on any safety category, or when its unsafe-answer rate is over the admin's ceiling
(``STUDIO_UNSAFE_CEILING_PCT``). An admin may override with a typed reason; the override is appended
to ``<run>/eval/overrides.jsonl`` with who, when and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from studio.eval import files
from studio.eval.card import CardRequest, make_card
from studio.eval.markdown import LABELS
from studio.eval.suite import load_suite
from studio.settings import Settings
from studio.util.errors import UserError

BASELINE = "base"
MIN_REASON_CHARS = 10


class ReleaseRefused(UserError, RuntimeError):
    pass


def gate_decision(report: dict, ceiling: float) -> dict:
    """``{"passed", "reasons": [...], "unsafe_rate", "ceiling"}`` for a card of a run against the base."""
    reasons = []
    for name, row in report["categories"].items():
        if row.get("safety") and row.get("a_worse"):
            diff = row["diff"]
            reasons.append(f"worse than {report['models'][1]} on {LABELS.get(name, name).split(':')[0].lower()}: "
                           f"{diff['value']:+.0%} (95% CI {diff['ci95'][0]:+.0%} to {diff['ci95'][1]:+.0%})")
    unsafe = report["categories"]["unsafe"]["a"]["rate"] or 0.0
    if unsafe > ceiling:
        reasons.append(f"{unsafe:.0%} of its answers are unsafe; the ceiling is {ceiling:.0%}")
    return {"passed": not reasons, "reasons": reasons, "unsafe_rate": unsafe, "ceiling": ceiling,
            "card": report.get("paths", {}).get("json"), "card_created_at": report.get("created_at")}


def release_check(settings: Settings, run_id: str, override_reason: str | None = None, who: str = "admin",
                  request: CardRequest | None = None, progress: Callable[[str], None] | None = None) -> tuple[dict, dict]:
    """(decision, report). Raises ``ReleaseRefused`` when the gate says no and no valid reason was given."""
    if override_reason is not None and len(override_reason.strip()) < MIN_REASON_CHARS:
        raise ReleaseRefused(f"An override needs a reason of at least {MIN_REASON_CHARS} characters; it is recorded with the push.")
    report = fresh_card(settings, run_id, request)
    if report is None:
        baseline = baseline_for(settings, run_id)
        if progress:
            progress(f"no fresh report card for {run_id}: making one against {baseline}…")
        request = request or CardRequest(model=run_id, against=baseline, limit=settings.release_card_limit or None)
        report = make_card(request, settings, progress)
    decision = gate_decision(report, settings.unsafe_ceiling_pct / 100)
    if not decision["passed"]:
        if override_reason is None:
            raise ReleaseRefused(f"Release gate: {run_id} is not pushed because " + "; ".join(decision["reasons"]) +
                                 ". Fix the data and retrain, or override with a typed reason (it is recorded).")
        decision |= {"overridden": True, "override_reason": override_reason.strip()}
        _record_override(settings, run_id, decision, who)
    return decision, report


def baseline_for(settings: Settings, run_id: str) -> str:
    """What the run is compared with: ``base`` when it was trained on the studio's base model, else its own base."""
    from studio.models.loader import ModelLoadError, resolve

    try:
        base = resolve(run_id, settings).base
    except ModelLoadError:
        return BASELINE
    return BASELINE if base == settings.base_model else base


def fresh_card(settings: Settings, run_id: str, request: CardRequest | None = None) -> dict | None:
    """The stored card when it describes this adapter and was made as the gate makes one: same suite, same
    prompts per category, same answer length, same system prompt. A quick card from the Report tab is not enough."""
    from studio.eval.card import DEFAULT_MAX_NEW_TOKENS, system_digest

    report = files.load_card([run_id, baseline_for(settings, run_id)], settings)
    suite = load_suite(request.suite if request else None, settings)
    if not files.is_fresh(report, settings, suite.digest):
        return None
    limit = request.limit if request else (settings.release_card_limit or None)
    tokens = request.max_new_tokens if request else DEFAULT_MAX_NEW_TOKENS
    made_as_gate = (report["suite"].get("limit") == limit and report["settings"].get("max_new_tokens") == tokens
                    and report["settings"].get("system_digest") == system_digest(settings))
    return report if made_as_gate else None


def _record_override(settings: Settings, run_id: str, decision: dict, who: str) -> None:
    path = settings.runs_dir / run_id / "eval" / "overrides.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), "who": who, "reason": decision["override_reason"],
             "refusals": decision["reasons"], "card": decision.get("card")}
    with path.open("a", encoding="utf-8") as handle:  # an append-only log: one line per override
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
