"""`python -m studio ...`: every UI action has a command here; `--json` output is for machines.

Each feature package contributes its commands through a ``register(subparsers)`` function in its
own ``cli`` module, listed in COMMAND_MODULES, so this file stays small. A command handler takes
``(args, settings)`` and returns the exit code. With ``--json`` the last line printed is one JSON
object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from studio.settings import Settings, SettingsError
from studio.util.errors import UserError, public_message
from studio.util.redact import install_log_redaction, redact

COMMAND_MODULES = [
    "studio.models.cli",
    "studio.data.cli",
    "studio.train.cli",
    "studio.train.autotrain_cli",
    "studio.compare.cli",
    "studio.compare.raters_cli",
    "studio.eval.cli",
    "studio.rag.cli",
    "studio.safety.cli",
    "studio.api.cli",
    "studio.models.remote_cli",
]


class CommandError(UserError, RuntimeError):
    """A user-facing failure: printed as one line (or a JSON error) with exit code 1 or 2."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def emit(args: argparse.Namespace, payload: dict, text: str | None = None) -> None:
    """Print the result: a JSON object for --json, else a human line."""
    if getattr(args, "json", False):
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(text if text is not None else json.dumps(payload, indent=2, ensure_ascii=False))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studio",
        description="Companion Studio: curate data, fine-tune, compare and chat with a careful AI companion.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0 if args.command is None else 2
    settings = None
    try:
        settings = Settings.from_env()
        return int(args.handler(args, settings) or 0)
    except (CommandError, SettingsError) as exc:
        return _fail(args, str(exc), getattr(exc, "code", 2), settings)
    except (UserError, ValueError, RuntimeError, OSError) as exc:
        return _fail(args, str(exc) or type(exc).__name__, 1, settings)
    except KeyboardInterrupt:
        return 130


def _fail(args: argparse.Namespace, message: str, code: int, settings: Settings | None) -> int:
    message = redact(message)
    if getattr(args, "json", False):
        # Machines relay this line (a web front end, a job runner): no server paths in it. The person at
        # the terminal still reads the full path on stderr.
        data_dir = settings.data_dir if settings else None
        print(json.dumps({"error": public_message(message, data_dir)}, ensure_ascii=False))
    print(f"error: {message}", file=sys.stderr)
    return code
