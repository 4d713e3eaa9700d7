"""What the Train tab shows, computed from the run files only (so a reload or a second browser re-attaches).

``snapshot(settings, run_id)`` reads status.json, metrics.jsonl and train.log and returns plain data:
progress, ETA, throughput, plot points, log tail, and which buttons make sense now.
``dataset_summary`` gives the validation summary shown next to the dataset picker.
"""

from __future__ import annotations

from typing import Any

from studio.settings import Settings
from studio.train.runs import RESUMABLE_STATES, RunNotFound, active_run, list_runs, load_run

HISTORY_HEADERS = ["run", "state", "base", "dataset", "steps", "final loss", "duration (s)", "started"]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def default_run_id(settings: Settings) -> str | None:
    """The run to show when none is selected: the active one, else the newest."""
    info = active_run(settings)
    if info is not None:
        return info.run_id
    runs = list_runs(settings)
    return runs[0].run_id if runs else None


def snapshot(settings: Settings, run_id: str | None) -> dict[str, Any]:
    run_id = run_id or default_run_id(settings)
    empty = {"run_id": None, "state": None, "summary": "No training run yet. Choose a dataset and press Start.",
             "points": [], "log": "", "percent": 0.0, "can_stop": False, "can_resume": False, "can_compare": False,
             "can_export": False}
    if not run_id:
        return empty
    try:
        run = load_run(settings, run_id)
    except RunNotFound as exc:
        return {**empty, "summary": str(exc)}
    status = run.status()
    metrics = run.metrics()
    state = status.get("state", "pending")
    step, total = int(status.get("step") or 0), int(status.get("total_steps") or 0)
    throughput = next((m["tokens_per_second"] for m in reversed(metrics) if m.get("tokens_per_second")), None)
    points = [{"step": m["step"], "loss": m[key], "series": "eval loss" if key == "eval_loss" else "train loss"}
              for m in metrics for key in ("loss", "eval_loss") if isinstance(m.get(key), int | float)]
    percent = round(100 * step / total, 1) if total else 0.0
    parts = [f"**{run.run_id}** · {state}", f"step {step}/{total or '?'} ({percent:.0f}%)"]
    if state == "running" and status.get("job_stage"):  # hf-jobs: SCHEDULING can take minutes before step 1
        parts.append(f"job {status['job_stage'].lower()}")
    if state == "running" and status.get("eta_s") is not None:
        parts.append(f"ETA {_duration(status['eta_s'])}")
    if throughput:
        parts.append(f"{throughput:.0f} tokens/s")
    if status.get("final_loss") is not None:
        parts.append(f"final loss {status['final_loss']:.4f}")
    reward = next((m for m in reversed(metrics) if isinstance(m.get("reward_margin"), int | float)), None)
    if reward is not None:  # preference (DPO) runs
        parts.append(f"reward margin {reward['reward_margin']:.3f}, accuracy {reward.get('reward_accuracy', 0):.0%}")
    summary = " · ".join(parts)
    if status.get("error"):
        summary += f"\n\n⚠️ {status['error']}"
    if status.get("hub_url"):
        summary += f"\n\nPushed to {status['hub_url']}"
    return {
        "run_id": run.run_id, "state": state, "step": step, "total_steps": total, "percent": percent,
        "eta_s": status.get("eta_s"), "tokens_per_second": throughput, "summary": summary, "points": points,
        "log": run.log_tail(40), "error": status.get("error"),
        "can_stop": state in ("pending", "running"), "can_resume": state in RESUMABLE_STATES,
        "can_compare": state == "succeeded" and run.has_adapter(), "can_export": run.has_adapter(),
    }


def history_rows(settings: Settings) -> list[list[Any]]:
    rows = []
    for i in list_runs(settings):
        loss = round(i.final_loss, 4) if isinstance(i.final_loss, int | float) else None
        rows.append([i.run_id, i.state, i.base_model, i.dataset, f"{i.step}/{i.total_steps}", loss,
                     round(i.duration_s, 1) if i.duration_s is not None else None, i.started_at or ""])
    return rows


def dataset_summary(settings: Settings, ref: str | None, method: str = "sft") -> tuple[bool, str]:
    """(trainable, Markdown): example count and warnings, or the errors that block training."""
    from studio.data.schema import DataError
    from studio.data.validate import validate_path
    from studio.train.training_data import DatasetProblem, resolve_dataset

    if not ref:
        return False, "Choose a stored dataset (Dataset tab) or type a JSONL path."
    if method == "dpo":
        from studio.train.training_data import load_pairs

        try:
            return True, f"✅ {len(load_pairs(ref, settings)[1])} preference pairs, no errors."
        except DatasetProblem as exc:
            return False, f"❌ {exc}"
    try:
        report = validate_path(resolve_dataset(ref, settings), lint=False, region=settings.region)
    except (DatasetProblem, DataError) as exc:
        return False, f"❌ {exc}"
    if report.errors:
        shown = "\n".join(f"- {issue.message}" for issue in report.errors[:5])
        return False, f"❌ {len(report.errors)} error(s); training is refused until they are fixed:\n{shown}"
    warn = f", {len(report.warnings)} warning(s) (see the Dataset tab)" if report.warnings else ""
    return True, f"✅ {report.examples} conversations, no errors{warn}."
