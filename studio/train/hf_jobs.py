"""The hf-jobs backend: the studio's TRL training on a Hugging Face Jobs GPU, billed per minute.

``run_hf_jobs(run, config, settings, stop_event)`` has the TRL job's signature and leaves the same run
contract. Launch: check the token and flavor (hf_jobs_plan), upload a bundle (the studio's sources,
the job config and the data) to a private dataset repo, and start ``hf_jobs_entry.py`` with
``run_uv_job``; the token travels only as the job's ``HF_TOKEN`` secret. ``<run>/job.json`` records
the job id, so a restarted studio reattaches (``reattach_candidates`` + the manager's resume) instead
of launching again. Follow: ``fetch_job_logs(follow=True)`` lines become train.log, metrics.jsonl and
status.json; ``inspect_job`` decides the end. COMPLETED downloads the adapter (``succeeded``), ERROR
is ``failed`` with the job's last lines, CANCELED is ``cancelled``, a job that hit ``jobs.timeout``
is ``failed`` with a timeout message. Stop calls ``cancel_job``.

The Jobs API object is injected (``api=``; default ``huggingface_hub.HfApi()``) so tests replay
recorded streams. Nothing here was exercised against the real Jobs service (the build machine is offline).
"""

from __future__ import annotations

import collections
import json
import queue
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from studio.settings import Settings
from studio.train.config import TrainConfig
from studio.train.hf_jobs_entry import PREFIX
from studio.train.hf_jobs_plan import JobsError, build_plan, timeout_seconds
from studio.train.runs import Run, iter_runs, utc_now
from studio.util.io import atomic_write_json, read_json
from studio.util.redact import register_secret

JOB_FILE = "job.json"
POLL_S = 5.0  # seconds between inspect_job calls while the log stream is quiet
CANCEL_WAIT_S = 120  # how long a cancelled job may take to report CANCELED
TAIL_LINES = 15
ENTRY_SCRIPT = Path(__file__).with_name("hf_jobs_entry.py")
_TIMEOUT_WORDS = re.compile(r"time(d)?[ -]?out|deadline|exceeded", re.I)


def default_api() -> Any:
    from huggingface_hub import HfApi

    return HfApi()


def run_hf_jobs(run: Run, config: TrainConfig, settings: Settings, stop_event: threading.Event | None = None,
                api: Any = None) -> str:
    """Launch (or reattach to) the job of ``run`` and follow it to a final state, which is returned."""
    from studio.train.faults import explain_failure

    stop_event = stop_event or threading.Event()
    api = api or default_api()
    previous = run.status()
    run.clear_stop()
    run.claim()
    run.write_status(state="running", backend="hf-jobs", started_at=previous.get("started_at") or utc_now(),
                     finished_at=None, error=None, error_tail=None, phase="preparing")
    try:
        token = _token(settings)
        job = read_job(run)
        if job is None or job.get("settled"):
            job = launch(run, config, settings, api, token)
        else:
            run.log(f"Reattaching to Jobs job {job['job_id']} (launched {job.get('launched_at')}).")
        return follow(run, config, settings, api, job, token, stop_event)
    except BaseException as exc:  # noqa: BLE001 - every failure must end in a final state
        message = explain_jobs_error(exc) or explain_failure(exc, settings)
        run.log(f"Failed: {message}")
        run.write_status(state="failed", finished_at=utc_now(), phase=None, error=message)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return "failed"


def _token(settings: Settings) -> str:
    if not settings.hf_token:
        raise JobsError("backend hf-jobs needs a Hugging Face token with write access (it creates private repos and "
                        "starts a job billed to your account): set HF_TOKEN as a secret of this Space, or in the "
                        "environment for the CLI.")
    register_secret(settings.hf_token)
    return settings.hf_token


def explain_jobs_error(exc: BaseException) -> str | None:
    """A clear message for what the Hub answers about the token; None for anything else."""
    if isinstance(exc, JobsError):
        return str(exc)
    code = getattr(getattr(exc, "response", None), "status_code", None)
    if code == 401:
        return ("The Hugging Face token was refused (expired, revoked or mistyped). Create a new token with write "
                "access at huggingface.co/settings/tokens and update HF_TOKEN.")
    if code == 402:
        return "Hugging Face Jobs needs credits or a payment method on the account (or namespace) that runs the job."
    if code == 403:
        return ("The token may not do this: Jobs needs a write token (fine-grained: 'jobs' and repo write "
                "permissions) for the user or organization in jobs.namespace.")
    return None


def read_job(run: Run) -> dict[str, Any] | None:
    try:
        job = read_json(run.dir / JOB_FILE, None)
    except (OSError, ValueError):
        return None
    return job if isinstance(job, dict) and job.get("job_id") else None


def _write_job(run: Run, **fields: Any) -> dict[str, Any]:
    job = {**(read_job(run) or {}), **fields}
    atomic_write_json(run.dir / JOB_FILE, job)
    return job


def launch(run: Run, config: TrainConfig, settings: Settings, api: Any, token: str) -> dict[str, Any]:
    plan = build_plan(config, settings, api)
    run.log(f"Hugging Face Jobs: {plan.summary()}")
    run.write_status(jobs_plan=plan.to_dict(), phase="uploading the dataset")
    if config.base_model != "embedded" and Path(config.base_model).expanduser().exists():
        raise JobsError(f"base_model {config.base_model!r} is a folder on this machine; a job can only read "
                        "'embedded' or a Hub model id.")
    owner = config.jobs.namespace or api.whoami(token=token)["name"]
    data_repo, model_repo = f"{owner}/studio-data-{run.run_id}", f"{owner}/studio-adapter-{run.run_id}"
    with tempfile.TemporaryDirectory(prefix="studio-jobs-") as tmp:  # data copies never stay in the run folder
        make_bundle(Path(tmp), config, settings)
        api.create_repo(data_repo, repo_type="dataset", private=True, exist_ok=True, token=token)
        api.upload_folder(repo_id=data_repo, repo_type="dataset", folder_path=tmp, token=token,
                          commit_message=f"Training bundle for {run.run_id}")
    run.log(f"Uploaded the dataset and code bundle to the private dataset repo {data_repo}.")
    info = api.run_uv_job(str(ENTRY_SCRIPT), **job_arguments(run, config, settings, data_repo, model_repo, token))
    job = _write_job(run, job_id=info.id, flavor=config.jobs.flavor, namespace=config.jobs.namespace,
                     data_repo=data_repo, model_repo=model_repo, url=getattr(info, "url", None),
                     launched_at=utc_now(), timeout_s=plan.timeout_seconds, settled=False)
    run.write_status(job_id=info.id, job_url=job["url"], phase="job scheduled")
    run.log(f"Launched Jobs job {info.id} on {config.jobs.flavor} ({job['url'] or 'no url'}).")
    return job


def job_arguments(run: Run, config: TrainConfig, settings: Settings, data_repo: str, model_repo: str,
                  token: str) -> dict[str, Any]:
    """Everything run_uv_job gets besides the script. The token is only ever in ``secrets``."""
    return dict(
        script_args=["--data-repo", data_repo, "--model-repo", model_repo, "--run-id", run.run_id],
        env={"STUDIO_REGION": config.region or settings.region, "STUDIO_CLINIC_NAME": settings.clinic_name,
             "STUDIO_CLINIC_PHONE": settings.clinic_phone, "PYTHONUNBUFFERED": "1", "HF_HUB_DISABLE_TELEMETRY": "1"},
        secrets={"HF_TOKEN": token}, flavor=config.jobs.flavor,
        timeout=timeout_seconds(config.jobs.timeout),  # seconds: the Hub's parser takes no '1.5' without a unit
        namespace=config.jobs.namespace, name=f"studio-{run.run_id}"[:60],
        labels={"app": "companion-studio", "run": run.run_id}, token=token,
    )


def make_bundle(folder: Path, config: TrainConfig, settings: Settings) -> None:
    """``code/studio`` (the sources), ``config.yaml`` (backend trl, data paths inside the bundle) and ``data/``."""
    import studio
    from studio.train.training_data import resolve_dataset

    source = Path(studio.__file__).parent
    shutil.copytree(source, folder / "code" / "studio", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "ui"))
    (folder / "data").mkdir()
    shutil.copyfile(resolve_dataset(config.dataset, settings), folder / "data" / "train.jsonl")
    eval_ref = None
    if config.eval_dataset:
        shutil.copyfile(resolve_dataset(config.eval_dataset, settings), folder / "data" / "eval.jsonl")
        eval_ref = "data/eval.jsonl"
    job_config = config.replace(backend="trl", dataset="data/train.jsonl", eval_dataset=eval_ref,
                                region=config.region or settings.region, hub={"push": False})
    job_config.save(folder / "config.yaml")


class _LineFeed:
    """Reads ``fetch_job_logs(follow=True)`` in a thread (it blocks) so stop requests are seen meanwhile."""

    def __init__(self, api: Any, job: dict[str, Any], token: str, skip: int = 0):
        self.lines: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        self.seen = 0
        self._args = dict(job_id=job["job_id"], namespace=job.get("namespace"), follow=True, token=token)
        self._api, self._skip = api, skip
        threading.Thread(target=self._read, daemon=True, name=f"jobs-logs-{job['job_id']}").start()

    def _read(self) -> None:
        try:
            for index, line in enumerate(self._api.fetch_job_logs(**self._args)):
                if index >= self._skip:  # a reconnect replays from the start
                    self.lines.put(line)
        except Exception as exc:  # noqa: BLE001 - a dropped stream is reopened; the stage decides the end
            self.lines.put(exc)
        finally:
            self.ended.set()
            self.lines.put(None)


class _Publisher:
    """Turns job log lines into the run files, exactly as a local run writes them."""

    def __init__(self, run: Run):
        self.run, self.tail = run, collections.deque(maxlen=TAIL_LINES)
        self.adapter: dict[str, Any] | None = None
        self.final_state: str | None = None

    def line(self, text: str) -> None:
        text = str(text).rstrip("\n")
        if not text.startswith(PREFIX):
            self.tail.append(text)
            self.run.log(f"job: {text}")
            return
        try:
            event = json.loads(text[len(PREFIX):])
        except json.JSONDecodeError:
            self.run.log(f"job: {text}")
            return
        kind = event.get("kind")
        if kind == "metrics" and isinstance(event.get("record"), dict):
            self.run.append_metrics(event["record"])
        elif kind == "status" and isinstance(event.get("fields"), dict):
            fields = {k: v for k, v in event["fields"].items() if k != "state"}  # the follower owns the state
            self.run.write_status(**fields, heartbeat_at=utc_now())
        elif kind == "adapter":
            self.adapter = event
        elif kind == "final":
            self.final_state = event.get("state")


def follow(run: Run, config: TrainConfig, settings: Settings, api: Any, job: dict[str, Any], token: str,
           stop_event: threading.Event) -> str:
    """Follow ``job`` until the Hub reports a final stage, then settle the run's state."""
    from studio.util.io import atomic_write_text

    atomic_write_text(run.metrics_path, "")  # the log stream replays from the start: rebuild, no duplicates
    publisher = _Publisher(run)
    feed = _LineFeed(api, job, token)
    cancelled_at: float | None = None
    inspected = 0.0
    while True:
        try:
            item = feed.lines.get(timeout=POLL_S)
        except queue.Empty:
            item = None
        if isinstance(item, str):
            feed.seen += 1
            publisher.line(item)
        elif isinstance(item, Exception):  # reopened below while the job runs; inspect_job raises what is fatal
            run.log(f"The job's log stream broke off ({type(item).__name__}); reconnecting.")
        stopping = cancelled_at is None and run.should_stop(stop_event)
        if not (stopping or feed.ended.is_set() or time.monotonic() - inspected >= POLL_S):
            continue  # inspect_job at most every POLL_S while lines flow
        inspected = time.monotonic()
        if stopping:
            run.log(f"Stop requested: cancelling Jobs job {job['job_id']}.")
            api.cancel_job(job_id=job["job_id"], namespace=job.get("namespace"), token=token)
            cancelled_at = time.monotonic()
        info = api.inspect_job(job_id=job["job_id"], namespace=job.get("namespace"), token=token)
        stage = str(getattr(info.status, "stage", "") or "").split(".")[-1].upper()
        run.write_status(job_stage=stage, heartbeat_at=utc_now(), phase=f"job {stage.lower()}")
        if stage in ("COMPLETED", "ERROR", "CANCELED", "DELETED"):
            _drain(feed, publisher)
            return settle(run, config, settings, api, job, token, info, stage, publisher, cancelled_at is not None)
        if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_WAIT_S:
            return _final(run, job, "cancelled", "Cancel sent; the Hub had not confirmed it yet. Check the job page.")
        if feed.ended.is_set() and feed.lines.empty():  # the stream dropped while the job still runs: reopen
            feed = _LineFeed(api, job, token, skip=feed.seen)


def _drain(feed: _LineFeed, publisher: _Publisher) -> None:
    """Lines already read when the stage turned final (the end of the training log) still count."""
    feed.ended.wait(timeout=30)
    while True:
        try:
            item = feed.lines.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, str):
            feed.seen += 1
            publisher.line(item)


def settle(run: Run, config: TrainConfig, settings: Settings, api: Any, job: dict[str, Any], token: str,
           info: Any, stage: str, publisher: _Publisher, we_cancelled: bool) -> str:
    message = str(getattr(info.status, "message", "") or "")
    if stage in ("ERROR", "CANCELED") and not we_cancelled and timed_out(info, job, message):
        return _final(run, job, "failed", f"The job ran out of time: jobs.timeout is {config.jobs.timeout} and the "
                      "Hub stopped it before training finished (no adapter). Raise jobs.timeout or choose a faster "
                      "flavor; the estimate before launch is only a guide.", publisher)
    if stage == "CANCELED":
        return _final(run, job, "cancelled", "Stopped: the job was cancelled on Hugging Face Jobs; no adapter.")
    if stage == "DELETED":
        return _final(run, job, "failed", "The job was deleted on the Hub before it finished.", publisher)
    if stage == "ERROR":
        detail = f" ({message})" if message else ""
        return _final(run, job, "failed", f"The job failed on Hugging Face Jobs{detail}. Its last log lines:\n"
                      + "\n".join(publisher.tail), publisher)
    return _complete(run, config, settings, api, job, token, publisher)


def timed_out(info: Any, job: dict[str, Any], message: str) -> bool:
    if _TIMEOUT_WORDS.search(message):
        return True
    started, finished = getattr(info, "started_at", None), getattr(info, "finished_at", None)
    limit = job.get("timeout_s")
    if started is None or finished is None or not limit:
        return False
    return (finished - started).total_seconds() >= 0.98 * limit


def _complete(run: Run, config: TrainConfig, settings: Settings, api: Any, job: dict[str, Any], token: str,
              publisher: _Publisher) -> str:
    from studio.train.faults import lora_b_all_zero

    if publisher.final_state not in (None, "succeeded"):
        return _final(run, job, "failed", f"The job ended with state {publisher.final_state}. Its last log lines:\n"
                      + "\n".join(publisher.tail), publisher)
    repo = (publisher.adapter or {}).get("repo") or job["model_repo"]
    run.write_status(phase="downloading the adapter")
    download_adapter(run, api, repo, token, (publisher.adapter or {}).get("revision") or None)
    if lora_b_all_zero(run.adapter_dir):
        return _final(run, job, "failed", "The job finished but every LoRA B matrix is still zero: nothing was "
                      "learned. Check the learning rate and that at least one optimizer step ran.")
    final = {k: v for k, v in run.status().items() if k.startswith("final_")}
    _final(run, job, "succeeded", f"Succeeded: adapter downloaded from {repo} into adapter/.", eta_s=0,
           adapter_repo=repo, **final)
    if config.hub.push:
        from studio.train.export import push_after_run

        push_after_run(run, config, settings)
    return "succeeded"


def download_adapter(run: Run, api: Any, repo: str, token: str, revision: str | None) -> None:
    """Into ``adapter.partial/`` first, then renamed: a half-downloaded adapter never looks like one."""
    partial = run.dir / "adapter.partial"
    shutil.rmtree(partial, ignore_errors=True)
    api.snapshot_download(repo, repo_type="model", revision=revision, local_dir=str(partial), token=token)
    shutil.rmtree(partial / ".cache", ignore_errors=True)
    if not (partial / "adapter_config.json").is_file():
        shutil.rmtree(partial, ignore_errors=True)
        raise JobsError(f"The job completed but {repo} holds no adapter_config.json; nothing to install.")
    shutil.rmtree(run.adapter_dir, ignore_errors=True)
    partial.rename(run.adapter_dir)


def _final(run: Run, job: dict[str, Any], state: str, line: str, publisher: _Publisher | None = None,
           **fields: Any) -> str:
    run.log(line)
    error = line if state == "failed" else None
    tail = "\n".join(publisher.tail) if publisher is not None and state == "failed" else None
    run.write_status(state=state, finished_at=utc_now(), phase=None, error=error, error_tail=tail, **fields)
    _write_job(run, settled=True, settled_state=state)
    return state


def reattach_candidates(settings: Settings) -> list[str]:
    """Interrupted hf-jobs runs whose job was never settled: following them again costs nothing."""
    out = []
    for run in iter_runs(settings):
        job = read_job(run)
        if run.state == "interrupted" and job is not None and not job.get("settled"):
            out.append(run.run_id)
    return out
