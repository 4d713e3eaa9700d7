"""A fake of the huggingface_hub Jobs API (and the few repo calls a Jobs run makes), for offline tests.

Same method names and keyword signatures as ``huggingface_hub.HfApi`` 2.4 (checked by a test). It replays
a recorded log stream: ``jobs_streams/success.log`` is the stdout of a real local run of the packaged job
script (tests/train/test_hf_jobs_script.py, STUDIO_RECORD_JOB_STREAM), with the ``adapter`` line a pushing
job adds; the error, cancel and timeout streams are cut from it. The final stage, its message and the
job's durations are what this fake assumes the Hub reports: they were never observed on the real service.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from huggingface_hub import JobHardwareInfo

STREAMS = Path(__file__).with_name("jobs_streams")
SUCCESS = (STREAMS / "success.log").read_text(encoding="utf-8").splitlines()
HEAD = SUCCESS[:10]  # up to the first logged step
ERROR_LINES = ["Traceback (most recent call last):", '  File "/tmp/studio-job/bundle/code/studio/train/trl_job.py"',
               "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
               '@@studio {"kind": "status", "fields": {"state": "failed", "error": "CUDA out of memory"}}',
               '@@studio {"kind": "final", "state": "failed", "run_dir": "/tmp/studio-job/data/runs/x"}']


@dataclass
class Scenario:
    lines: list[str]
    stage: str = "COMPLETED"
    message: str | None = None
    duration_s: float = 600.0
    wait_for_cancel: bool = False


SCENARIOS = {
    "success": Scenario(SUCCESS),
    "error": Scenario(HEAD + ERROR_LINES, stage="ERROR", message="Job failed with exit code: 1"),
    "cancel": Scenario(HEAD, stage="CANCELED", wait_for_cancel=True),
    "timeout": Scenario(HEAD, stage="ERROR", message="Job timeout"),
    "timeout-silent": Scenario(HEAD, stage="CANCELED", duration_s=7200.0),
}


def hardware(name: str, usd_per_minute: float) -> JobHardwareInfo:
    return JobHardwareInfo(name=name, prettyName=name.upper(), cpu="8 vCPU", ram="32 GB", accelerator=None,
                           unitCostMicroUSD=int(usd_per_minute * 1e6), unitCostUSD=usd_per_minute, unitLabel="minute")


@dataclass
class FakeJobsApi:
    root: Path
    scenario: Scenario = field(default_factory=lambda: SCENARIOS["success"])
    offline_hardware: bool = False
    refuse_with: int | None = None  # an HTTP status run_uv_job answers with (401: expired token)
    calls: list[tuple[str, dict]] = field(default_factory=list)
    jobs: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cancelled = threading.Event()
        self.streamed = threading.Event()
        self.adapter = self.root / "adapter-fixture"

    # --- repos ---
    def whoami(self, token: bool | str | None = None, *, cache: bool = False) -> dict:
        self.calls.append(("whoami", {"token": token}))
        return {"name": "alice", "type": "user"}

    def create_repo(self, repo_id: str, *, token=None, private=None, visibility=None, repo_type=None, exist_ok=False,
                    resource_group_id=None, region=None, space_sdk=None, space_hardware=None, space_sleep_time=None,
                    space_secrets=None, space_variables=None, space_volumes=None, space_template=None):
        self.calls.append(("create_repo", {"repo_id": repo_id, "private": private, "repo_type": repo_type}))
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, *, repo_id: str, folder_path, path_in_repo=None, commit_message=None,
                      commit_description=None, token=None, repo_type=None, revision=None, create_pr=None,
                      parent_commit=None, allow_patterns=None, ignore_patterns=None, delete_patterns=None,
                      run_as_future=False):
        target = self.root / "uploads" / repo_id
        shutil.copytree(folder_path, target, dirs_exist_ok=True)
        self.calls.append(("upload_folder", {"repo_id": repo_id, "repo_type": repo_type, "path": target}))
        return SimpleNamespace(oid="cafe")

    def snapshot_download(self, repo_id: str, *, repo_type=None, revision=None, cache_dir=None, local_dir=None,
                          etag_timeout=10, force_download=False, token=None, local_files_only=False,
                          allow_patterns=None, ignore_patterns=None, max_workers=8, tqdm_class=None, dry_run=False):
        self.calls.append(("snapshot_download", {"repo_id": repo_id, "revision": revision}))
        shutil.copytree(self.adapter, local_dir, dirs_exist_ok=True)
        return str(local_dir)

    # --- jobs ---
    def list_jobs_hardware(self, token: bool | str | None = None) -> list[JobHardwareInfo]:
        if self.offline_hardware:
            raise OSError("offline")
        return [hardware("cpu-basic", 0.000167), hardware("t4-small", 0.00667), hardware("a10g-small", 0.0167),
                hardware("l4x1", 0.0133)]

    def run_uv_job(self, script: str, *, script_args=None, dependencies=None, python=None, image=None, env=None,
                   secrets=None, flavor=None, timeout=None, attempts=None, name=None, labels=None, volumes=None,
                   expose=None, expose_public=None, ssh=False, network_group=None, network_aliases=None,
                   resource_group_id=None, namespace=None, token=None):
        if self.refuse_with:
            raise _http_error(self.refuse_with)
        job_id = f"job{len(self.jobs) + 1:04d}"
        self.jobs[job_id] = dict(script=script, script_args=script_args, dependencies=dependencies, env=env,
                                 secrets=secrets, flavor=flavor, timeout=timeout, name=name, labels=labels,
                                 namespace=namespace, token=token)
        return SimpleNamespace(id=job_id, url=f"https://huggingface.co/jobs/alice/{job_id}")

    def fetch_job_logs(self, *, job_id: str, namespace=None, follow=False, tail=None, token=None):
        self.calls.append(("fetch_job_logs", {"job_id": job_id, "follow": follow}))
        yield from self.scenario.lines
        if self.scenario.wait_for_cancel:
            self.cancelled.wait(timeout=30)
        self.streamed.set()

    def inspect_job(self, *, job_id: str, namespace=None, token=None):
        assert job_id in self.jobs or job_id == "job0001", job_id
        done = self.cancelled.is_set() if self.scenario.wait_for_cancel else self.streamed.is_set()
        stage = self.scenario.stage if done else "RUNNING"
        start = datetime(2026, 12, 1, tzinfo=UTC)
        return SimpleNamespace(id=job_id, status=SimpleNamespace(stage=stage, message=self.scenario.message if done
                                                                 else None), started_at=start,
                               finished_at=start + timedelta(seconds=self.scenario.duration_s) if done else None)

    def cancel_job(self, *, job_id: str, namespace=None, token=None) -> None:
        self.calls.append(("cancel_job", {"job_id": job_id}))
        self.cancelled.set()


def _http_error(code: int) -> Exception:
    from huggingface_hub.errors import HfHubHTTPError

    error = HfHubHTTPError(f"{code} Client Error", response=SimpleNamespace(status_code=code, headers={}, request=None))
    return error


def write_adapter(folder: Path) -> None:
    """A tiny real PEFT-shaped adapter with a non-zero LoRA B (so the 'nothing learned' check passes)."""
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    save_file({"base_model.model.layers.0.q_proj.lora_A.weight": np.ones((8, 4), dtype=np.float32),
               "base_model.model.layers.0.q_proj.lora_B.weight": np.full((4, 8), 0.5, dtype=np.float32)},
              str(folder / "adapter_model.safetensors"))
