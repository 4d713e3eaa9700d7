# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "torch==2.13.0",
#     "transformers==5.24.0",
#     "trl==1.16.0",
#     "peft==0.21.2",
#     "accelerate==1.15.0",
#     "datasets==5.2.0",
#     "huggingface_hub==2.4.0",
#     "pyyaml==6.0.4",
#     "filelock==4.3.1",
# ]
# ///
"""The studio's TRL training as a standalone uv script: what an ``hf-jobs`` run executes on a Jobs GPU.

``huggingface_hub.run_uv_job`` runs this file. The bundle (a private dataset repo the studio uploaded)
holds ``code/studio/`` (the studio's own Python sources, so the job trains through exactly the code
path of the in-process backend, ``studio.train.trl_job.run_trl``), ``config.yaml`` and
``data/train.jsonl`` (and ``data/eval.jsonl``). The token arrives only as the ``HF_TOKEN`` secret in
the environment, never as an argument or a file.

The job writes an ordinary run folder on its own disk and mirrors it to stdout as lines
``@@studio {json}`` (kinds: metrics, status, adapter, final); the studio's follower turns them back into
the same ``metrics.jsonl`` and ``status.json``. Other lines (train.log, already redacted) are plain text.
At the end the adapter is pushed to a private model repo and its name is announced.

Locally, without any Hub: ``python hf_jobs_entry.py --bundle DIR --work DIR --no-push``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

PREFIX = "@@studio "
POLL_S = 2.0
# status.json keys worth mirroring (owner and heartbeat describe the job's own machine, not the run)
STATUS_KEYS = ("state", "step", "total_steps", "epoch", "train_runtime_s", "tokens_trained", "eta_s", "final_loss",
               "final_eval_loss", "train_loss", "data_stats", "preset", "method", "error", "error_tail",
               "final_reward_margin", "final_reward_accuracy")


def emit(kind: str, **payload: Any) -> None:
    print(PREFIX + json.dumps({"kind": kind, **payload}, ensure_ascii=False, default=str), flush=True)


class Mirror:
    """Polls the run folder and prints what is new: metrics records, changed status fields, train.log lines."""

    def __init__(self, run: Any):
        self.run, self.metrics_sent, self.log_sent, self.status_sent = run, 0, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="mirror")

    def start(self) -> Mirror:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            self.flush()

    def flush(self) -> None:
        for line in _lines(self.run.log_path)[self.log_sent:]:
            print(line, flush=True)
            self.log_sent += 1
        for record in self.run.metrics()[self.metrics_sent:]:
            emit("metrics", record=record)
            self.metrics_sent += 1
        status = self.run.status()
        changed = {k: status[k] for k in STATUS_KEYS if k in status and self.status_sent.get(k) != status[k]}
        if changed:
            self.status_sent.update(changed)
            emit("status", fields=changed)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.flush()


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def fetch_bundle(args: argparse.Namespace, token: str | None) -> Path:
    if args.bundle:
        return Path(args.bundle).resolve()
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(args.data_repo, repo_type="dataset", token=token,
                                  local_dir=str(Path(args.work) / "bundle")))


def push_adapter(adapter_dir: Path, repo: str, token: str | None) -> str:
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo, private=True, exist_ok=True)
    info = api.upload_folder(repo_id=repo, folder_path=str(adapter_dir), commit_message="Adapter from a studio hf-jobs run")
    return getattr(info, "oid", None) or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-repo", help="private dataset repo holding the bundle")
    parser.add_argument("--model-repo", help="private model repo the adapter is pushed to")
    parser.add_argument("--bundle", help="a local bundle folder instead of --data-repo (local test runs)")
    parser.add_argument("--run-id", default="job-run")
    parser.add_argument("--work", default="/tmp/studio-job")
    parser.add_argument("--no-push", action="store_true", help="keep the adapter on this machine")
    args = parser.parse_args(argv)
    token = os.environ.get("HF_TOKEN") or None  # the job's secret; never printed
    bundle = fetch_bundle(args, token)
    sys.path.insert(0, str(bundle / "code"))
    os.environ["STUDIO_DATA_DIR"] = str(Path(args.work).resolve() / "data")

    from studio.settings import Settings
    from studio.train.config import TrainConfig
    from studio.train.runs import create_run
    from studio.train.trl_job import run_trl

    settings = Settings.from_env(os.environ)
    config = TrainConfig.load(bundle / "config.yaml")
    config = config.replace(dataset=str(bundle / config.dataset),
                            eval_dataset=str(bundle / config.eval_dataset) if config.eval_dataset else None)
    run = create_run(settings, config, run_id=args.run_id)
    mirror = Mirror(run).start()
    try:
        state = run_trl(run, config, settings)
    finally:
        mirror.stop()
    if state == "succeeded" and not args.no_push:
        revision = push_adapter(run.adapter_dir, args.model_repo, token)
        emit("adapter", repo=args.model_repo, revision=revision)
    emit("final", state=state, run_dir=str(run.dir))
    return 0 if state == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
