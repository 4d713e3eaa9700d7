"""AutoTrain's ``spaces-*`` backends: train on a private GPU Space so the studio itself can stay on CPU.

``autotrain --config FILE`` with ``backend: spaces-a10g-large`` (for example) does not train here:
it uploads the training data to a private dataset repo ``<user>/autotrain-data-<project>``, creates
a private Docker Space ``<user>/autotrain-<project>`` on that hardware with the token as a Space
secret, and returns. The Space trains, pushes the adapter to ``<user>/<project>`` and pauses itself.
The studio follows the Space's runtime stage and downloads the adapter into the run's ``adapter/``.

The token only ever travels through the environment (``${HF_TOKEN}`` in the YAML); nothing here writes
it to a file. Nothing in this module was exercised against the real Hub (the build machine is offline):
tests cover the generated config, command and environment, and the offline error paths.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from studio.settings import Settings
from studio.train.autotrain_hardware import TOKEN_ENV, USERNAME_ENV, cost_line
from studio.train.config import TrainConfig
from studio.util.redact import error_line

# Runtime stages that mean the Space is no longer training (AutoTrain pauses it when done or failed).
FINISHED_STAGES = ("PAUSED", "STOPPED")
FAILED_STAGES = ("BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "NO_APP_FILE", "DELETING")


class SpacesError(RuntimeError):
    """A Space run cannot start or be followed; the message says what to do."""


def resolve_username(config: TrainConfig, settings: Settings) -> str | None:
    """The Space owner: autotrain.username, else the hub repo's owner, else the Space author running the studio."""
    if config.autotrain.username:
        return config.autotrain.username.strip()
    if config.hub.repo_id:
        return config.hub.repo_id.split("/", 1)[0]
    return settings.space_author


@dataclass(frozen=True)
class SpaceTarget:
    username: str
    project: str

    @property
    def space_id(self) -> str:
        return f"{self.username}/autotrain-{self.project}"

    @property
    def space_url(self) -> str:
        return f"https://huggingface.co/spaces/{self.space_id}"

    @property
    def model_repo(self) -> str:
        return f"{self.username}/{self.project}"

    @property
    def data_repo(self) -> str:
        return f"{self.username}/autotrain-data-{self.project}"


def check_ready(config: TrainConfig, settings: Settings, token: str | None) -> str:
    """Refuse a Space run that cannot work, before anything is created; returns the username."""
    problems = []
    if not token:
        problems.append("a Hugging Face write token (set HF_TOKEN)")
    username = resolve_username(config, settings)
    if not username:
        problems.append("a username (autotrain.username, or hub.repo_id as owner/name)")
    if problems:
        raise SpacesError(f"Training on {config.autotrain.hardware} needs " + " and ".join(problems) + ".")
    return str(username)


def command(autotrain_exe: str, config_path: str) -> list[str]:
    """The argv (no shell) that launches AutoTrain; the same for local and Spaces runs."""
    return [autotrain_exe, "--config", config_path]


def command_env(token: str, username: str) -> dict[str, str]:
    """The variables the YAML's ${HF_TOKEN} / ${HF_USERNAME} read; merged into the child's environment only."""
    return {TOKEN_ENV: token, USERNAME_ENV: username}


def space_state(space_id: str, token: str | None) -> dict[str, Any]:
    """The training Space's stage (BUILDING, RUNNING, PAUSED, ...) or why it could not be read."""
    from huggingface_hub import HfApi

    url = f"https://huggingface.co/spaces/{space_id}"
    try:
        runtime = HfApi(token=token).get_space_runtime(space_id)
    except Exception as exc:  # offline, 401, 404: one line, token scrubbed
        text = error_line(exc)
        return {"space_id": space_id, "url": url, "stage": "UNKNOWN", "error": text}
    return {"space_id": space_id, "url": url, "stage": str(runtime.stage), "hardware": runtime.hardware}


def pause_space(space_id: str, token: str | None) -> str | None:
    """Stop paying for the Space (used by Stop); returns an error line or None."""
    from huggingface_hub import HfApi

    try:
        HfApi(token=token).pause_space(space_id)
    except Exception as exc:
        return error_line(exc)
    return None


def download_adapter(target: SpaceTarget, token: str | None, dest) -> None:
    """Fetch the trained adapter from the model repo AutoTrain pushed to."""
    from huggingface_hub import snapshot_download

    snapshot_download(repo_id=target.model_repo, token=token, local_dir=str(dest),
                      allow_patterns=["adapter_*", "tokenizer*", "special_tokens_map.json", "*.jinja", "README.md"])


def run_on_space(run, config: TrainConfig, settings: Settings, plan, venv, work, stop_event,
                 poll_s: float = 30.0) -> str:
    """Launch AutoTrain with a spaces-* backend, then follow the training Space until it pauses."""
    from studio.train.autotrain_env import autotrain_exe
    from studio.train.autotrain_log import AutoTrainLog
    from studio.train.autotrain_process import child_env, finish, follow_process, install_adapter
    from studio.train.faults import lora_b_all_zero

    token = settings.hf_token
    username = check_ready(config, settings, token)
    target = SpaceTarget(username, plan.project_name)
    run.log(f"Training Space: {target.space_url} ({cost_line(plan.hardware)}) Training data is uploaded to the "
            f"private dataset {target.data_repo}; the adapter is pushed to the private model {target.model_repo}.")
    run.write_status(space_id=target.space_id, space_url=target.space_url, model_repo=target.model_repo)
    log = AutoTrainLog(config.logging_steps)
    env = child_env(venv, extra=command_env(token, username))
    returncode, cancelled = follow_process(run, command(str(autotrain_exe(venv)), str(work / "config.yml")),
                                           work, env, log, plan, stop_event)
    if cancelled:
        pause_space(target.space_id, token)
        return finish(run, "cancelled", "Stopped while creating the training Space (paused it if it existed).")
    if returncode or log.failed or not log.job_id:
        error = f"AutoTrain could not start the training Space: {log.error_line() or f'exit code {returncode}'}"
        return finish(run, "failed", f"Failed: {error}", error=error)
    while not stop_event.wait(poll_s):
        if run.stop_requested():
            break
        state = space_state(target.space_id, token)
        run.write_status(space_stage=state["stage"], space_error=state.get("error"), heartbeat_at=_now())
        if state["stage"] in FAILED_STAGES:
            error = f"The training Space stopped with {state['stage']}: see its logs at {target.space_url}"
            return finish(run, "failed", f"Failed: {error}", error=error)
        if state["stage"] in FINISHED_STAGES:
            download = run.dir / ".space-adapter"
            try:
                download_adapter(target, token, download)
            except Exception as exc:
                error = (f"The training Space paused without a usable model in {target.model_repo} "
                         f"({error_line(exc)}); "
                         f"see the Space's discussion and logs at {target.space_url}")
                return finish(run, "failed", f"Failed: {error}", error=error)
            if lora_b_all_zero(download):
                return finish(run, "failed", "Failed: the Space's adapter has all-zero LoRA B matrices.",
                               error="The adapter trained on the Space learned nothing (all LoRA B matrices are zero).")
            install_adapter(run, download, config, plan, {})
            shutil.rmtree(download, ignore_errors=True)
            return finish(run, "succeeded", f"Succeeded: adapter downloaded from {target.model_repo}.")
    error = pause_space(target.space_id, token)
    return finish(run, "cancelled", "Stopped: " + (f"pausing the Space failed ({error})" if error else "Space paused."))


def _now() -> str:
    from studio.train.runs import utc_now

    return utc_now()
