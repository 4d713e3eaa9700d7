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

import codecs
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from studio.settings import Settings
from studio.train.autotrain_log import AutoTrainLog, Event, split_segments
from studio.train.autotrain_plan import AUTOTRAIN_VERSION, AutoTrainPlan, build_plan
from studio.train.config import TrainConfig
from studio.train.runs import Run, utc_now
from studio.util.io import atomic_write_text
from studio.util.redact import register_secret

_log = logging.getLogger(__name__)
WORK_DIR = "autotrain"
HEARTBEAT_S = 30
KILL_GRACE_S = 10
# Never handed to AutoTrain: SPACE_ID/ENDPOINT_ID would make it pause the studio's own Space when it
# finishes (its pause_space()), and the studio's secrets are none of its business.
_DROP_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SPACE_ID", "ENDPOINT_ID", "HF_TOKEN",
             "HUGGING_FACE_HUB_TOKEN", "STUDIO_ADMIN_PASSWORD", "STUDIO_RATER_PASSWORD")
_NOT_ADAPTER = ("training_args.bin", "training_params.json", "README.md")


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
    _kill_orphan(run, previous.get("autotrain_pid"))
    if previous.get("state") in ("cancelled", "interrupted", "failed"):
        atomic_write_text(run.metrics_path, "")  # AutoTrain cannot resume: the new attempt starts from step 0
        run.log("AutoTrain cannot resume from a checkpoint: training again from the start.")
    try:
        return _train(run, config, settings, stop_event)
    except Stopped:
        return _finish(run, "cancelled", "Stopped before training began.")
    except BaseException as exc:  # noqa: BLE001 - every failure must end in a final state
        message = explain_failure(exc, settings)
        _finish(run, "failed", f"Failed: {message}", error=message)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return "failed"


def _finish(run: Run, state: str, line: str, **fields: Any) -> str:
    run.log(line)
    run.write_status(state=state, finished_at=utc_now(), phase=None, **fields)
    return state


def _train(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event) -> str:
    from studio.train.autotrain_env import autotrain_exe, ensure_environment

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
        if stop_event.is_set() or run.stop_requested():
            raise Stopped()

    venv = ensure_environment(settings, progress=progress)
    if stop_event.is_set() or run.stop_requested():
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
        return _finish(run, "cancelled", "Stopped: AutoTrain's process group was killed; no adapter was saved.")
    project = work / plan.project_name
    error = judge(log, returncode, project)
    if error:
        return _finish(run, "failed", f"Failed: {error}", error=error, autotrain_exit_code=returncode)
    install_adapter(run, project, config, plan, log.summary)
    _finish(run, "succeeded", "Succeeded: adapter saved to adapter/.", autotrain_exit_code=returncode,
            **_final_fields(run, log, plan))
    shutil.rmtree(work / "data", ignore_errors=True)  # copies of the dataset; the store keeps the original
    shutil.rmtree(project, ignore_errors=True)
    if config.hub.push:
        _push(run, config, settings)
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


def child_env(venv: Path, token: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """AutoTrain's environment: its venv first on PATH (it runs `accelerate` by name), no studio secrets."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(VIRTUAL_ENV=str(venv), PYTHONUNBUFFERED="1", PAUSE_ON_FAILURE="0", ALLOW_REMOTE_CODE="false",
               HF_HUB_DISABLE_TELEMETRY="1", TOKENIZERS_PARALLELISM="false", WANDB_DISABLED="true")
    if token:  # read by huggingface_hub from the environment only, e.g. for a gated hub base model
        register_secret(token)
        env["HF_TOKEN"] = token
    env.update(extra or {})
    return env


def follow_process(run: Run, cmd: list[str], cwd: Path, env: dict[str, str], log: AutoTrainLog,
                   plan: AutoTrainPlan, stop_event: threading.Event) -> tuple[int, bool]:
    """Run ``cmd`` in its own process group, publishing its output; returns (exit code, cancelled)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    run.write_status(phase="launching AutoTrain", autotrain_pid=proc.pid, heartbeat_at=utc_now())
    run.log(f"Launched: {' '.join(cmd)} (pid {proc.pid}, own process group).")
    publisher = _Publisher(run, log, plan)
    reader = threading.Thread(target=_read_output, args=(proc, publisher), daemon=True, name=f"autotrain-{run.run_id}")
    reader.start()
    cancelled, last_beat = False, time.monotonic()
    while proc.poll() is None:
        if stop_event.wait(0.5) or run.stop_requested():
            run.log("Stop requested: killing AutoTrain's process group.")
            cancelled = True
            break
        if time.monotonic() - last_beat > HEARTBEAT_S:
            run.write_status(heartbeat_at=utc_now())
            last_beat = time.monotonic()
    kill_group(proc)
    reader.join(timeout=30)
    return proc.returncode, cancelled


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the whole group (autotrain -> accelerate -> trainer), then SIGKILL what is left, and wait
    until no live member remains (a grandchild holding GBs of memory takes a moment to go)."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (proc.poll() is None or group_alive(proc.pid)):
            time.sleep(0.2)
    proc.wait()


def _kill_orphan(run: Run, pgid: Any) -> None:
    """A studio that died mid-run leaves AutoTrain running in its own session: end it before starting again.
    Only a group whose leader is still an autotrain process is touched (a recycled pid is left alone)."""
    if not isinstance(pgid, int) or not group_alive(pgid):
        return
    try:
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return
    if "autotrain" in cmdline and "--config" in cmdline:
        run.log(f"An earlier AutoTrain process group ({pgid}) of this run is still running: stopping it.")
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process is in group ``pgid``; zombies may wait for a container's init."""
    proc_root = Path("/proc")
    if not proc_root.is_dir():  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def _read_output(proc: subprocess.Popen, publisher: _Publisher) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += decoder.decode(chunk)
        cut = max(pending.rfind("\n"), pending.rfind("\r"))
        if cut >= 0:
            publisher.feed(pending[: cut + 1])
            pending = pending[cut + 1:]
    publisher.feed(pending + decoder.decode(b"", final=True))


class _Publisher:
    """Turns parsed output into train.log lines, metrics.jsonl records and status.json updates."""

    def __init__(self, run: Run, log: AutoTrainLog, plan: AutoTrainPlan):
        self.run, self.log, self.plan = run, log, plan
        s = plan.steps
        self.tokens_per_step = s.batch_size * s.gradient_accumulation * s.block_size
        self.max_tokens = s.blocks * s.block_size * s.epochs
        self.t0 = time.monotonic()
        self.train_t0: float | None = None
        self._last = (0, self.t0)  # (tokens, time) at the previous loss record

    def tokens(self, step: int) -> int:
        return min(step * self.tokens_per_step, self.max_tokens)

    def feed(self, text: str) -> None:
        for segment in split_segments(text):
            for event in self.log.feed(segment):
                self._handle(event)

    def _handle(self, event: Event) -> None:
        now = time.monotonic()
        if event.kind == "line":
            self.run.log(event.text)
        elif event.kind == "started":
            self.train_t0 = now
            self._last = (0, now)
            self.run.write_status(phase="training", heartbeat_at=utc_now())
        elif event.kind == "finished":
            self.run.write_status(phase="saving the adapter")
        elif event.kind == "progress":
            self._progress(event.data["step"], event.data["total_steps"], now)
        elif event.kind == "metrics":
            self._metrics(dict(event.data), now)

    def _progress(self, step: int, total: int, now: float) -> None:
        elapsed = now - (self.train_t0 or self.t0)
        eta = elapsed / step * (total - step) if step else None
        self.run.write_status(step=step, total_steps=total, train_runtime_s=round(elapsed, 2),
                              tokens_trained=self.tokens(step), eta_s=round(eta, 1) if eta is not None else None,
                              heartbeat_at=utc_now())

    def _metrics(self, record: dict[str, Any], now: float) -> None:
        tokens = self.tokens(record["step"])
        if "loss" in record:
            span = now - self._last[1]
            record["tokens_per_second"] = round((tokens - self._last[0]) / span, 1) if span > 0 else None
            self._last = (tokens, now)
        record["elapsed_s"] = round(now - (self.train_t0 or self.t0), 2)
        self.run.append_metrics(record)
        self.run.write_status(step=record["step"], tokens_trained=tokens, heartbeat_at=utc_now())
        self.run.log(", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch"))


def judge(log: AutoTrainLog, returncode: int | None, project: Path) -> str | None:
    """None when the run really trained; else the reason, with AutoTrain's own error line."""
    from studio.train.faults import lora_b_all_zero

    detail = log.error_line()
    if log.failed:
        return f"AutoTrain reported a failure (it still exited {returncode}): {detail or 'see train.log'}"
    if returncode:
        return f"AutoTrain exited with code {returncode}: {detail or 'see train.log'}"
    if not log.finished or not (project / "adapter_model.safetensors").is_file():
        return f"AutoTrain ended without saving an adapter: {detail or 'see train.log'}"
    if lora_b_all_zero(project):
        return ("AutoTrain finished, but every LoRA B matrix of the adapter is still zero: nothing was learned "
                "(all optimizer steps had learning rate 0). Add data or epochs.")
    return None


def install_adapter(run: Run, source: Path, config: TrainConfig, plan: AutoTrainPlan, summary: dict) -> None:
    """Copy AutoTrain's adapter + tokenizer into ``adapter/`` with the studio's model card, swapped in whole."""
    from studio.models.loader import model_cache
    from studio.train.model_card import build_model_card

    tmp = run.dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for item in source.iterdir():
        if item.is_file() and item.name not in _NOT_ADAPTER:
            shutil.copy2(item, tmp / item.name)
    stats = {"conversations": len(plan.train), "eval_conversations": len(plan.valid),
             "tokens": plan.steps.blocks * plan.steps.block_size}
    final = {"loss": summary.get("train_loss")}
    card = build_model_card(config, {**plan.chosen, "batch_size": plan.steps.batch_size,
                                     "gradient_accumulation": plan.steps.gradient_accumulation},
                            stats, final, run.run_id, run.status())
    card += (f"\nTrained with AutoTrain Advanced {AUTOTRAIN_VERSION} on {plan.hardware} (TRL SFT with packing into "
             f"{plan.steps.block_size}-token blocks: every token of the conversations is learned).\n")
    atomic_write_text(tmp / "README.md", card)
    old = run.dir / ".adapter.old"
    shutil.rmtree(old, ignore_errors=True)
    if run.adapter_dir.exists():
        run.adapter_dir.rename(old)
    tmp.rename(run.adapter_dir)
    shutil.rmtree(old, ignore_errors=True)
    model_cache(run.settings).forget_adapter(run.run_id)  # a re-run replaced the adapter: drop a stale cached copy


def _final_fields(run: Run, log: AutoTrainLog, plan: AutoTrainPlan) -> dict[str, Any]:
    losses = [m["loss"] for m in run.metrics() if "loss" in m]
    step = max(log.step, log.total_steps)
    return {"step": step, "total_steps": log.total_steps or plan.steps.total_steps,
            "train_runtime_s": log.summary.get("train_runtime"), "final_loss": losses[-1] if losses else None,
            "train_loss": log.summary.get("train_loss"),
            "tokens_trained": min(step * plan.steps.batch_size * plan.steps.gradient_accumulation,
                                  plan.steps.blocks * plan.steps.epochs) * plan.steps.block_size}


def _push(run: Run, config: TrainConfig, settings: Settings) -> None:
    """Local runs push from the studio, so the token never reaches AutoTrain's params file."""
    from studio.train.export import push_to_hub
    from studio.train.faults import explain_failure

    try:
        url = push_to_hub(settings, run.run_id, config.hub.repo_id, private=config.hub.private, merged=config.hub.merged)
        run.write_status(hub_url=url, hub_error=None)
    except Exception as exc:  # the run succeeded; the push can be retried from the export panel
        message = explain_failure(exc, settings)
        run.write_status(hub_error=message)
        run.log(f"Push to the Hub failed: {message}")
