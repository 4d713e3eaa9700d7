"""The AutoTrain Advanced backend: the same TrainConfig trained by ``autotrain --config`` in its own venv.

``run_autotrain(run, config, settings, stop_event)`` has the TRL job's signature and leaves the same
run contract (status.json, metrics.jsonl, train.log, adapter/), so Compare and Chat load the result
like any run. Steps: count optimizer steps and refuse/adjust useless configs (autotrain_plan), make
sure the isolated environment exists (autotrain_env), write ``<run>/autotrain/config.yml`` and the
data folder, run AutoTrain without a shell in its own process group, stream its output into
train.log (redacted) and its loss dicts into metrics.jsonl, and judge the result from the log and
the adapter files, never from the exit code (AutoTrain exits 0 when training fails). Stop kills the
whole process group and the run becomes ``cancelled``.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

from studio.settings import Settings
from studio.train.autotrain_hardware import AUTOTRAIN_VERSION
from studio.train.autotrain_log import AutoTrainLog
from studio.train.autotrain_plan import AutoTrainPlan, build_plan
from studio.train.autotrain_process import (
    child_env,
    final_fields,
    finish,
    follow_process,
    install_adapter,
    judge,
    kill_orphan,
)
from studio.train.config import TrainConfig
from studio.train.runs import Run, utc_now
from studio.util.io import atomic_write_text

_log = logging.getLogger(__name__)
WORK_DIR = "autotrain"


class Stopped(Exception):
    """Raised from a progress callback when a stop was requested before training began."""


def run_autotrain(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event | None = None) -> str:
    """Train ``run`` with AutoTrain to a final state (succeeded, failed or cancelled) and return it."""
    from studio.train.faults import explain_failure

    stop_event = stop_event or threading.Event()
    previous = run.status()
    run.clear_stop()
    run.claim()
    run.write_status(state="running", backend="autotrain", started_at=previous.get("started_at") or utc_now(),
                     finished_at=None, error=None, error_tail=None, step=0, total_steps=0, phase="preparing",
                     hardware=config.autotrain.hardware)
    kill_orphan(run, previous.get("autotrain_pid"))
    if previous.get("state") in ("cancelled", "interrupted", "failed"):
        atomic_write_text(run.metrics_path, "")  # AutoTrain cannot resume: the new attempt starts from step 0
        run.log("AutoTrain cannot resume from a checkpoint: training again from the start.")
    try:
        return _train(run, config, settings, stop_event)
    except Stopped:
        return finish(run, "cancelled", "Stopped before training began.")
    except BaseException as exc:  # noqa: BLE001 - every failure must end in a final state
        message = explain_failure(exc, settings)
        finish(run, "failed", f"Failed: {message}", error=message)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return "failed"


def _train(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event) -> str:
    from studio.train.autotrain_env import autotrain_exe, ensure_environment
    from studio.train.export import push_after_run

    plan = build_plan(config, settings, run.run_id)
    run.log(f"AutoTrain Advanced {AUTOTRAIN_VERSION} on {plan.hardware}: {plan.summary()}")
    for note in plan.notes:
        run.log(f"note: {note}")
    run.write_status(total_steps=plan.steps.total_steps, preset=plan.chosen, autotrain_notes=plan.notes)

    def progress(message: str) -> None:
        if message.startswith("Building the AutoTrain environment"):
            _log.warning(message)  # the one line a CLI user sees on stderr during a first-use build
        run.log(message)
        run.write_status(phase="building the AutoTrain environment", heartbeat_at=utc_now())
        if run.should_stop(stop_event):
            raise Stopped()

    venv = ensure_environment(settings, progress=progress)
    if run.should_stop(stop_event):
        raise Stopped()
    work = _prepare_work_dir(run, plan)
    if plan.remote:
        from studio.train.autotrain_spaces import run_on_space

        return run_on_space(run, config, settings, plan, venv, work, stop_event)
    env = child_env(venv, token=settings.hf_token if not Path(plan.base_model).is_dir() else None)
    cmd = [str(autotrain_exe(venv)), "--config", str(work / "config.yml")]
    log = AutoTrainLog(config.logging_steps)
    returncode, cancelled = follow_process(run, cmd, work, env, log, plan, stop_event)
    if cancelled:
        return finish(run, "cancelled", "Stopped: AutoTrain's process group was killed; no adapter was saved.")
    project = work / plan.project_name
    error = judge(log, returncode, project)
    if error:
        return finish(run, "failed", f"Failed: {error}", error=error, autotrain_exit_code=returncode)
    install_adapter(run, project, config, plan, log.summary)
    finish(run, "succeeded", "Succeeded: adapter saved to adapter/.", autotrain_exit_code=returncode,
            **final_fields(run, log, plan))
    shutil.rmtree(work / "data", ignore_errors=True)  # copies of the dataset; the store keeps the original
    shutil.rmtree(project, ignore_errors=True)
    if config.hub.push:  # local runs push from the studio, so the token never reaches AutoTrain's params file
        push_after_run(run, config, settings)
    return "succeeded"


def _prepare_work_dir(run: Run, plan: AutoTrainPlan) -> Path:
    """``<run>/autotrain/``: config.yml and data/{train,valid}.jsonl, fresh for every attempt."""
    work = run.dir / WORK_DIR
    if work.exists():
        shutil.rmtree(work)
    data = work / "data"
    _write_jsonl(data / "train.jsonl", plan.train)
    if plan.valid:
        _write_jsonl(data / "valid.jsonl", plan.valid)
    atomic_write_text(work / "config.yml", plan.yaml_text(str(data.resolve())))
    run.log(f"AutoTrain config written to {work / 'config.yml'}.")
    return work


def _write_jsonl(path: Path, convs: list[list[dict]]) -> None:
    atomic_write_text(path, "".join(json.dumps({"messages": m}, ensure_ascii=False) + "\n" for m in convs))
