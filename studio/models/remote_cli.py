"""Commands: ``remote add|list|remove``, hosted models offered as ``remote:<name>`` everywhere a model is chosen.

A refusal (``RemoteError``, a ValueError) is printed by ``studio.cli.main`` as one line, exit code 1."""

from __future__ import annotations

import argparse

from studio.compare.cli import _cmd
from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    remote = subparsers.add_parser("remote", help="Hosted models (Inference Providers, Endpoints, TGI, vLLM, another studio).")
    sub = remote.add_subparsers(dest="remote_command", metavar="ACTION")
    add = _cmd(sub, "add", _add, "Register an OpenAI-compatible model as remote:NAME (the key stays in the environment).")
    add.add_argument("name")
    add.add_argument("--base-url", required=True, help="e.g. https://router.huggingface.co/v1 or http://host:7860/v1")
    add.add_argument("--model-id", required=True, help="the model id that server knows")
    add.add_argument("--key-env", default="", help="NAME of the environment variable holding the key (never the key)")
    _cmd(sub, "list", _list, "The registered remote models, and whether each one's key variable is set here.")
    remove = _cmd(sub, "remove", _remove, "Unregister remote:NAME.")
    remove.add_argument("name")


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.models.remote import add_remote

    model = add_remote(settings, args.name, args.base_url, args.model_id, args.key_env)
    emit(args, model.to_dict(), f"Registered {model.ref}: {model.model_id} at {model.base_url}"
         f"{' (key from $' + model.key_env + ')' if model.key_env else ''}.")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.models.remote import list_remotes

    rows = [m.to_dict() for m in list_remotes(settings)]
    lines = [f"{r['ref']}: {r['model_id']} at {r['base_url']}"
             f"{', key from $' + r['key_env'] + (' (set)' if r['key_set'] else ' (NOT set)') if r['key_env'] else ''}"
             for r in rows]
    emit(args, {"models": rows}, "\n".join(lines) or "No remote models yet.")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.models.remote import remove_remote

    model = remove_remote(settings, args.name)
    emit(args, {"removed": model.ref}, f"Removed {model.ref}.")
    return 0
