"""The one list of models a user can choose: ``base``, every succeeded training run, registered remote models."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from studio.settings import Settings

if TYPE_CHECKING:
    from studio.train.runs import RunInfo

log = logging.getLogger(__name__)


def succeeded_runs(settings: Settings) -> list[RunInfo]:
    """Runs whose training succeeded and left an adapter, newest first (the run folder contract)."""
    from studio.train.runs import list_runs

    try:
        runs = list_runs(settings)
    except OSError as exc:  # an unreadable runs folder must not take every model list down
        log.warning("The runs folder could not be read (%s)", exc)
        return []
    return [run for run in runs if run.state == "succeeded"
            and (settings.runs_dir / run.run_id / "adapter" / "adapter_config.json").is_file()]


def model_options(settings: Settings) -> list[tuple[str, str]]:
    """(label, model ref) for every list that offers models: Chat, Compare, the arena, the report card, /v1."""
    runs = [(f"{run.run_name} ({run.run_id})" if run.run_name and run.run_name != run.run_id else run.run_id,
             run.run_id) for run in succeeded_runs(settings)]
    return [("base", "base"), *runs, *((ref, ref) for ref in _remotes(settings))]


def model_choices(settings: Settings) -> list[str]:
    """``base``, the finished runs, then the registered hosted models (``remote:<name>``)."""
    return [ref for _, ref in model_options(settings)]


def _remotes(settings: Settings) -> list[str]:
    from studio.models.remote import remote_choices

    try:
        return remote_choices(settings)
    except (OSError, ValueError) as exc:  # a damaged registry must not take the model lists down
        log.warning("The remote model registry could not be read (%s)", exc)
        return []
