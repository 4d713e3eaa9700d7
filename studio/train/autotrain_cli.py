"""Commands: ``autotrain setup|status|preview``: the AutoTrain backend's environment and generated config.

Training itself is ``python -m studio train --config FILE`` with ``backend: autotrain``; these commands
build the isolated environment ahead of time (progress on stderr), report it, and print the AutoTrain
YAML a config would run with (token shown only as ``${HF_TOKEN}``).
"""

from __future__ import annotations

import argparse

from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    at = subparsers.add_parser("autotrain", help="AutoTrain Advanced backend: build its environment, preview its config.")
    sub = at.add_subparsers(dest="autotrain_command", metavar="ACTION")
    setup = sub.add_parser("setup", help="Build (or check and reuse) AutoTrain's isolated venv (~4 min, 3 GB once).")
    setup.add_argument("--rebuild", action="store_true", help="delete and rebuild it even if it works")
    setup.set_defaults(handler=_setup)
    status = sub.add_parser("status", help="Where the environment is, whether it works, and its versions.")
    status.add_argument("--check", action="store_true", help="also run the import check (a few seconds)")
    status.set_defaults(handler=_status)
    preview = sub.add_parser("preview", help="Print the AutoTrain YAML (with step count and notes) for a TrainConfig.")
    preview.add_argument("--config", required=True, help="YAML file with the TrainConfig")
    preview.set_defaults(handler=_preview)
    for p in (setup, status, preview):
        p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def _setup(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit, progress
    from studio.train.autotrain_env import ensure_environment, environment_status

    ensure_environment(settings, progress=progress, force=args.rebuild)
    status = environment_status(settings)
    emit(args, status, f"AutoTrain environment ready at {status['path']} ({status.get('size_mb')} MB): "
                       f"{status.get('versions')}")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.train.autotrain_env import environment_status

    status = environment_status(settings, check=args.check)
    text = (f"ready at {status['path']}: {status['versions']}" if status["ready"]
            else f"not ready ({status.get('problem') or 'not built yet'}): run `python -m studio autotrain setup`")
    emit(args, status, text)
    return 0 if status["ready"] else 1


def _preview(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.train.autotrain_plan import autotrain_preview
    from studio.train.config import ConfigError, TrainConfig

    try:
        config = TrainConfig.load(args.config)
    except ConfigError as exc:
        raise CommandError(str(exc), 2) from None
    text = autotrain_preview(config, settings)
    emit(args, {"yaml": text}, text.rstrip())
    return 1 if text.startswith("# Cannot build") else 0
