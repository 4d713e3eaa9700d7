"""One training job at a time per data dir: start, resume and stop runs, in a thread or in the foreground.

The UI starts jobs in a background thread of its own process and polls the run files; the CLI runs
the same job in the foreground. Both go through :class:`TrainingManager`, which

* marks runs orphaned by a dead process as ``interrupted`` when it is created,
* refuses a second start while a run is active (in this process, or another one on the same data
  dir, checked under a file lock) and says which run it is,
* dispatches on ``config.backend`` through ``BACKENDS`` (one line per backend).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from filelock import FileLock

from studio.settings import Settings
from studio.train.config import TrainConfig
from studio.train.runs import (
    RESUMABLE_STATES,
    Run,
    active_run,
    create_run,
    load_run,
    mark_interrupted,
    utc_now,
)
from studio.util.errors import UserError
from studio.util.exiting import on_exit

JobFunction = Callable[[Run, TrainConfig, Settings, threading.Event], str]


def _trl(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event) -> str:
    from studio.train.trl_job import run_trl

    return run_trl(run, config, settings, stop_event)


def _autotrain(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event) -> str:
    from studio.train.autotrain_job import run_autotrain

    return run_autotrain(run, config, settings, stop_event)


def _hf_jobs(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event) -> str:
    from studio.train.hf_jobs import run_hf_jobs

    return run_hf_jobs(run, config, settings, stop_event)


# backend name -> job function(run, config, settings, stop_event) -> final state
BACKENDS: dict[str, JobFunction] = {"trl": _trl, "autotrain": _autotrain, "hf-jobs": _hf_jobs}


class TrainingBusy(UserError, RuntimeError):
    """A run is already active; the message names it."""


class TrainingManager:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._run: Run | None = None
        self._stop = threading.Event()
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
        self.recovered = mark_interrupted(settings)

    # --- queries ---
    def active(self):
        return active_run(self.settings)

    def is_busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- actions ---
    def start(self, config: TrainConfig, background: bool = True) -> Run:
        """Create a run for ``config`` and train it (in a thread, or here until it ends).

        Raises DatasetProblem (before any run exists) when the dataset is missing or invalid, ConfigError
        when init_adapter names no usable run or one trained on another base, and TrainingBusy when
        another run is active.
        """
        from studio.train.preference import init_adapter_run
        from studio.train.training_data import preflight

        preflight(config.dataset, self.settings, config.eval_dataset, config.region, config.method)
        init_adapter_run(config, self.settings)  # ConfigError naming both bases when the adapter does not fit
        with self._claim():
            run = create_run(self.settings, config)
        return self._launch(run, config, background)

    def resume(self, run_id: str, background: bool = True) -> Run:
        """Continue a cancelled, interrupted or failed run from its last checkpoint."""
        with self._claim():
            mark_interrupted(self.settings)
            run = load_run(self.settings, run_id)
            state = run.state
            if state not in RESUMABLE_STATES:
                raise ValueError(f"Run {run_id} is {state}; only {', '.join(RESUMABLE_STATES)} runs can be resumed.")
            config = run.config()
            run.write_status(state="pending", owner=None)
            run.claim()
            run.log(f"Resume requested (was {state}).")
        return self._launch(run, config, background)

    def stop(self, run_id: str | None = None) -> Run:
        """Ask the active (or named) run to stop after its current step. Works across processes."""
        if run_id is None:
            info = self.active()
            if info is None:
                raise ValueError("No run is training right now.")
            run_id = info.run_id
        run = load_run(self.settings, run_id)
        if run.state not in ("pending", "running"):
            raise ValueError(f"Run {run_id} is {run.state}, not running; nothing to stop.")
        run.request_stop()
        run.log("Stop requested.")
        if self._run is not None and self._run.run_id == run_id:
            self._stop.set()
        return run

    def reattach_remote(self) -> str | None:
        """After a restart, follow again an hf-jobs run whose job may still be training on the Hub (its id is in
        ``<run>/job.json``). Costs nothing: a job is never launched here. Returns the run id reattached, if any."""
        from studio.train.hf_jobs import reattach_candidates

        for run_id in reattach_candidates(self.settings)[:1]:  # one job at a time, like every run
            try:
                self.resume(run_id, background=True)
            except (TrainingBusy, ValueError):
                return None
            return run_id
        return None

    def stop_current(self) -> None:
        """Cooperative stop of the job this process runs (e.g. on Ctrl-C), without touching files."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background job of this process; True when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.is_busy()

    # --- internals ---
    @contextlib.contextmanager
    def _claim(self):
        """Hold both locks while checking for an active run and creating/claiming the next one."""
        with self._lock, FileLock(str(self.settings.runs_dir / ".start.lock"), timeout=30):
            self._refuse_if_busy()
            yield

    def _refuse_if_busy(self) -> None:
        mark_interrupted(self.settings)
        info = self.active()
        if info is None and self.is_busy():
            # The job already wrote its final state and is only tidying up (freeing the model,
            # closing the log): give it a moment instead of refusing a resume that raced it.
            self._thread.join(timeout=30)
        self._reconcile()
        info = self.active()
        if self.is_busy() or info is not None:
            rid = info.run_id if info else (self._run.run_id if self._run else "?")
            step = f" (step {info.step}/{info.total_steps})" if info and info.total_steps else ""
            raise TrainingBusy(f"Run {rid} is already training{step}. One job at a time: stop it or wait for it to finish.")

    def _reconcile(self) -> None:
        """A run this process owns that still says running while no job thread is alive lost its final state."""
        info = self.active()
        if info is None or self.is_busy():
            return
        run = load_run(self.settings, info.run_id)
        if (run.status().get("owner") or {}).get("pid") == os.getpid() and self._run is not None:
            run.write_status(state="failed", finished_at=utc_now(),
                             error="The training job ended without recording a result (see train.log). Resume it.")

    def _launch(self, run: Run, config: TrainConfig, background: bool) -> Run:
        if config.backend not in BACKENDS:
            raise ValueError(f"Unknown backend {config.backend!r}; available: {', '.join(BACKENDS)}.")
        self._stop = threading.Event()
        self._run = run
        job = BACKENDS[config.backend]
        if not background:
            job(run, config, self.settings, self._stop)
            return run
        self._thread = threading.Thread(
            target=job, args=(run, config, self.settings, self._stop), daemon=True, name=f"train-{run.run_id}"
        )
        self._thread.start()
        return run


_managers: dict[str, TrainingManager] = {}
_managers_lock = threading.Lock()


def get_manager(settings: Settings) -> TrainingManager:
    """The process-wide manager for this data dir (created on first use, which recovers orphaned runs)."""
    key = str(settings.data_dir.resolve())
    with _managers_lock:
        if key not in _managers:
            _managers[key] = TrainingManager(settings)
        return _managers[key]


@on_exit
def _stop_training() -> None:
    """Stop this process's job and let its step end (see studio.util.exiting); the job records the stop
    as for any other, so the run stays resumable."""
    for manager in list(_managers.values()):
        if manager.is_busy():
            manager.stop_current()
            manager.wait(timeout=120)
