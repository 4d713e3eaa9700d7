"""Which models can be compared: ``base``, every succeeded training run, registered remote models, or any hub id / path."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from studio.settings import Settings

log = logging.getLogger(__name__)


def succeeded_runs(settings: Settings) -> list[str]:
    """Run ids whose training succeeded and left an adapter, newest first."""
    try:
        from studio.train.runs import list_runs  # written by the training engine; may not exist yet

        runs = list_runs(settings)
    except ImportError:
        return _scan_runs(settings.runs_dir)
    except Exception as exc:  # a broken run dir must not take the Compare tab down
        log.warning("list_runs failed (%s); scanning %s instead", exc, settings.runs_dir)
        return _scan_runs(settings.runs_dir)
    return [run.run_id for run in runs if run.state == "succeeded" and _has_adapter(settings.runs_dir / run.run_id)]


def _has_adapter(run_dir: Path) -> bool:
    return (run_dir / "adapter" / "adapter_config.json").is_file()


def _scan_runs(runs_dir: Path) -> list[str]:
    """The run directory contract: status.json says succeeded and adapter/ holds the adapter."""
    found: list[tuple[float, str]] = []
    if not runs_dir.is_dir():
        return []
    for run_dir in runs_dir.iterdir():
        status_path = run_dir / "status.json"
        if not _has_adapter(run_dir) or not status_path.is_file():
            continue
        try:
            status = json.loads(status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if status.get("state") == "succeeded":
            found.append((status_path.stat().st_mtime, run_dir.name))
    return [name for _, name in sorted(found, reverse=True)]


def model_choices(settings: Settings) -> list[str]:
    """``base``, the finished runs, then the registered hosted models (``remote:<name>``)."""
    return ["base", *succeeded_runs(settings), *_remotes(settings)]


def _remotes(settings: Settings) -> list[str]:
    from studio.models.remote import remote_choices

    try:
        return remote_choices(settings)
    except (OSError, ValueError) as exc:  # a damaged registry must not take the model lists down
        log.warning("The remote model registry could not be read (%s)", exc)
        return []
