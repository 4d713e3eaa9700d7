"""The run-directory contract: ``<data>/runs/<run_id>/`` is the single source of truth of a run.

Jobs publish through files, not memory, so the UI (polling), the CLI, a second browser and a
restarted process all see the same thing::

    config.yaml     the TrainConfig, secrets removed
    status.json     state, backend, started_at, finished_at, step, total_steps, train_runtime_s,
                    tokens_trained, error, plus the owner (pid, process start time, host)
    metrics.jsonl   one object per log: step, epoch, loss, eval_loss, learning_rate, tokens_per_second, elapsed_s
    train.log       human-readable, secrets redacted
    adapter/        PEFT adapter + tokenizer + model card README.md
    checkpoints/    what resume uses
    STOP            present while a cooperative stop is requested

Every write of status.json is atomic (tmp + rename). A run whose owner process is gone while its
state says running becomes ``interrupted`` (see :func:`mark_interrupted`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from studio.settings import Settings
from studio.train.config import RUN_ID, TrainConfig
from studio.util.errors import UserError
from studio.util.io import append_jsonl, atomic_write_json, read_json
from studio.util.redact import redact

STATES = ("pending", "running", "succeeded", "failed", "cancelled", "interrupted")
ACTIVE_STATES = ("pending", "running")
RESUMABLE_STATES = ("cancelled", "interrupted", "failed")
# A run owned by another host (shared storage, restarted Space) is judged by its heartbeat age.
FOREIGN_HEARTBEAT_TIMEOUT_S = 300


class RunNotFound(UserError, LookupError):
    pass


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def process_marker(pid: int) -> float | None:
    """Start time of process ``pid`` (None if gone or a zombie): tells a live owner from a reused pid."""
    try:
        import psutil

        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return round(proc.create_time(), 2)
    except ImportError:  # pragma: no cover - psutil comes with accelerate
        stat = Path(f"/proc/{pid}/stat")
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return None if fields[0] == "Z" else float(fields[19])
    except Exception:  # psutil.NoSuchProcess, AccessDenied
        return None


def owner_record() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "pid_started": process_marker(pid), "host": socket.gethostname()}


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    state: str
    backend: str
    base_model: str
    dataset: str
    step: int
    total_steps: int
    final_loss: float | None
    duration_s: float | None
    started_at: str | None
    finished_at: str | None = None
    run_name: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Run:
    """Handle on one run directory. Cheap to create; every read goes to the files."""

    def __init__(self, settings: Settings, run_id: str):
        self.settings = settings
        self.run_id = run_id
        self.dir = settings.runs_dir / run_id
        self._lock = threading.RLock()

    # --- paths ---
    config_path = property(lambda self: self.dir / "config.yaml")
    status_path = property(lambda self: self.dir / "status.json")
    metrics_path = property(lambda self: self.dir / "metrics.jsonl")
    log_path = property(lambda self: self.dir / "train.log")
    adapter_dir = property(lambda self: self.dir / "adapter")
    checkpoints_dir = property(lambda self: self.dir / "checkpoints")
    stop_path = property(lambda self: self.dir / "STOP")

    def __repr__(self) -> str:
        return f"Run({self.run_id!r})"

    # --- status ---
    def status(self) -> dict[str, Any]:
        try:
            return read_json(self.status_path, {}) or {}
        except (json.JSONDecodeError, OSError):
            return {}

    def write_status(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into status.json and write it atomically; returns the new status."""
        if "state" in fields and fields["state"] not in STATES:
            raise ValueError(f"Unknown run state {fields['state']!r}; expected one of {STATES}.")
        if isinstance(fields.get("error"), str):
            fields["error"] = redact(fields["error"])
        with self._lock:
            status = self.status()
            status.update(fields)
            status["updated_at"] = utc_now()
            atomic_write_json(self.status_path, status)
        return status

    @property
    def state(self) -> str:
        return self.status().get("state", "pending")

    def claim(self) -> None:
        """Record this process as the run's owner (so a crash can be detected later)."""
        self.write_status(owner=owner_record(), heartbeat_at=utc_now())

    def owner_alive(self, status: dict[str, Any] | None = None) -> bool:
        owner = (status or self.status()).get("owner") or {}
        pid = owner.get("pid")
        if not isinstance(pid, int):
            return False
        if owner.get("host") not in (None, socket.gethostname()):
            beat = parse_time((status or self.status()).get("heartbeat_at"))
            return beat is not None and time.time() - beat < FOREIGN_HEARTBEAT_TIMEOUT_S
        marker = process_marker(pid)
        return marker is not None and (owner.get("pid_started") is None or abs(marker - owner["pid_started"]) < 1.0)

    # --- metrics and log ---
    def append_metrics(self, record: dict[str, Any]) -> None:
        with self._lock:
            append_jsonl(self.metrics_path, record)

    def publish_metrics(self, record: dict[str, Any]) -> None:
        """One metrics.jsonl record and its train.log line, the same for every backend."""
        self.append_metrics(record)
        self.log(", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch"))

    def metrics(self) -> list[dict[str, Any]]:
        try:
            lines = self.metrics_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
        return out

    def log(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        text = "".join(f"[{stamp}] {part}\n" for part in redact(str(line)).splitlines() or [""])
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(text)

    def log_tail(self, lines: int = 40) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 64 * 1024))
                data = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(data.splitlines()[-lines:])

    # --- config, stop, checkpoints ---
    def config(self) -> TrainConfig:
        return TrainConfig.load(self.config_path)

    def request_stop(self) -> None:
        self.stop_path.write_text(utc_now())

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def should_stop(self, event: threading.Event | None = None) -> bool:
        """A stop asked in this process (the event) or by any process (the STOP file: CLI, another worker)."""
        return bool(event and event.is_set()) or self.stop_requested()

    def clear_stop(self) -> None:
        self.stop_path.unlink(missing_ok=True)

    def last_checkpoint(self) -> Path | None:
        """The newest complete ``checkpoint-N`` folder (one with trainer state), or None."""
        if not self.checkpoints_dir.is_dir():
            return None
        done = [p for p in self.checkpoints_dir.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
        done = [p for p in done if p.name.split("-")[-1].isdigit()]
        return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)

    def has_adapter(self) -> bool:
        return (self.adapter_dir / "adapter_config.json").is_file()

    def info(self) -> RunInfo:
        status = self.status()
        runtime = status.get("train_runtime_s")
        started = parse_time(status.get("started_at"))
        if runtime is None and started is not None and status.get("state") == "running":
            runtime = round(time.time() - started, 1)
        return RunInfo(
            run_id=self.run_id,
            state=status.get("state", "pending"),
            backend=status.get("backend", "trl"),
            base_model=status.get("base_model", ""),
            dataset=status.get("dataset", ""),
            step=int(status.get("step") or 0),
            total_steps=int(status.get("total_steps") or 0),
            final_loss=status.get("final_loss"),
            duration_s=runtime,
            started_at=status.get("started_at"),
            finished_at=status.get("finished_at"),
            run_name=status.get("run_name"),
            error=status.get("error"),
        )


def new_run_id() -> str:
    return f"run-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def create_run(settings: Settings, config: TrainConfig, run_id: str | None = None) -> Run:
    """Make the run folder with config.yaml and a ``pending`` status owned by this process."""
    settings.runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(20):
        rid = run_id or new_run_id()
        try:
            (settings.runs_dir / rid).mkdir()
            break
        except FileExistsError:
            if run_id:
                raise ValueError(f"Run {run_id} already exists; choose another id.") from None
    else:  # pragma: no cover - 20 collisions of a 16-bit suffix within a second
        raise RuntimeError("Could not allocate a run id; try again.")
    run = Run(settings, rid)
    config.save(run.config_path)
    run.write_status(
        state="pending", backend=config.backend, base_model=config.base_model, dataset=config.dataset,
        run_name=config.run_name, created_at=utc_now(), started_at=None, finished_at=None, step=0,
        total_steps=0, train_runtime_s=None, tokens_trained=0, error=None, owner=owner_record(),
    )
    run.log(f"Run {rid} created (backend {config.backend}, base {config.base_model}, dataset {config.dataset}).")
    return run


def load_run(settings: Settings, run_id: str) -> Run:
    run_id = (run_id or "").strip()
    if not RUN_ID.match(run_id):
        raise RunNotFound(f"'{run_id}' is not a valid run id (see `python -m studio runs list`).")
    run = Run(settings, run_id)
    if not run.status_path.is_file():
        raise RunNotFound(f"No run named {run_id} in {settings.runs_dir} (see `python -m studio runs list`).")
    return run


def iter_runs(settings: Settings) -> list[Run]:
    if not settings.runs_dir.is_dir():
        return []
    runs = [Run(settings, p.name) for p in settings.runs_dir.iterdir() if p.is_dir() and (p / "status.json").is_file()]
    return sorted(runs, key=lambda r: (r.status().get("created_at") or "", r.run_id), reverse=True)


def list_runs(settings: Settings) -> list[RunInfo]:
    """All runs, newest first."""
    return [run.info() for run in iter_runs(settings)]


def mark_interrupted(settings: Settings) -> list[str]:
    """Turn runs that claim to be pending/running but whose owner process is gone into ``interrupted``."""
    changed = []
    for run in iter_runs(settings):
        status = run.status()
        if status.get("state") in ACTIVE_STATES and not run.owner_alive(status):
            run.write_status(
                state="interrupted", finished_at=utc_now(),
                error="The process running this job stopped unexpectedly (killed, crashed or restarted). "
                "Resume it to continue from the last checkpoint.",
            )
            run.log("Marked interrupted: its process is gone.")
            changed.append(run.run_id)
    return changed


def active_run(settings: Settings) -> RunInfo | None:
    """The run currently pending or running with a live owner, if any."""
    for run in iter_runs(settings):
        status = run.status()
        if status.get("state") in ACTIVE_STATES and run.owner_alive(status):
            return run.info()
    return None
