"""AutoTrain's process plumbing: launch, follow, kill, judge and install, shared by local and Space runs.

``follow_process`` runs AutoTrain in its own process group and publishes its output (train.log,
metrics.jsonl, status.json); ``kill_group`` ends the whole group; ``judge`` reads the result from the log
and the adapter files, never from the exit code (AutoTrain exits 0 when training fails); and
``install_adapter`` swaps the adapter into ``adapter/`` with the studio's model card.
"""

from __future__ import annotations

import codecs
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.train.autotrain_hardware import AUTOTRAIN_VERSION
from studio.train.autotrain_log import AutoTrainLog, Event, split_segments
from studio.train.config import TrainConfig
from studio.train.runs import Run, utc_now
from studio.util.io import atomic_write_text
from studio.util.redact import register_secret

if TYPE_CHECKING:
    from studio.train.autotrain_plan import AutoTrainPlan

HEARTBEAT_S = 30
KILL_GRACE_S = 10
# Never handed to AutoTrain: SPACE_ID/ENDPOINT_ID would make it pause the studio's own Space when it
# finishes (its pause_space()), and the studio's secrets are none of its business.
DROP_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SPACE_ID", "ENDPOINT_ID", "HF_TOKEN",
             "HUGGING_FACE_HUB_TOKEN", "STUDIO_ADMIN_PASSWORD", "STUDIO_RATER_PASSWORD")
NOT_ADAPTER = ("training_args.bin", "training_params.json", "README.md")


def finish(run: Run, state: str, line: str, **fields: Any) -> str:
    run.log(line)
    run.write_status(state=state, finished_at=utc_now(), phase=None, **fields)
    return state


def child_env(venv: Path, token: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """AutoTrain's environment: its venv first on PATH (it runs `accelerate` by name), no studio secrets."""
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
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


def kill_orphan(run: Run, pgid: Any) -> None:
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
        self.run.publish_metrics(record)
        self.run.write_status(step=record["step"], tokens_trained=tokens, heartbeat_at=utc_now())


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
        if item.is_file() and item.name not in NOT_ADAPTER:
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


def final_fields(run: Run, log: AutoTrainLog, plan: AutoTrainPlan) -> dict[str, Any]:
    losses = [m["loss"] for m in run.metrics() if "loss" in m]
    step = max(log.step, log.total_steps)
    return {"step": step, "total_steps": log.total_steps or plan.steps.total_steps,
            "train_runtime_s": log.summary.get("train_runtime"), "final_loss": losses[-1] if losses else None,
            "train_loss": log.summary.get("train_loss"),
            "tokens_trained": min(step * plan.steps.batch_size * plan.steps.gradient_accumulation,
                                  plan.steps.blocks * plan.steps.epochs) * plan.steps.block_size}
