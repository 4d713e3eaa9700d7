"""Commands: ``api-keys create|list|revoke``, the keys of the OpenAI-compatible endpoint (``/v1/...``)."""

from __future__ import annotations

import argparse

from studio.compare.cli import _cmd
from studio.settings import Settings

CLI_ACTOR = "cli"  # recorded as who created or revoked a key


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("api-keys", help="API keys for the OpenAI-compatible endpoint /v1/chat/completions.")
    sub = keys.add_subparsers(dest="api_keys_command", metavar="ACTION")
    create = _cmd(sub, "create", _create, "Create a key for a named client (printed once; only its hash is stored).")
    create.add_argument("name")
    _cmd(sub, "list", _list, "Every key's name, state, and who created or revoked it when (never the key).")
    revoke = _cmd(sub, "revoke", _revoke, "Revoke a client's key; it stops working at the next request.")
    revoke.add_argument("name")


def _guarded(action):
    from studio.api.keys import ApiKeyError
    from studio.cli import CommandError

    try:
        return action()
    except ApiKeyError as exc:
        raise CommandError(str(exc), 2) from None


def _create(args: argparse.Namespace, settings: Settings) -> int:
    from studio.api.keys import create_key
    from studio.cli import emit

    created = _guarded(lambda: create_key(settings, args.name, by=CLI_ACTOR))
    emit(args, created, f"API key for {created['name']} (shown only now; store it as a secret):\n{created['key']}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from studio.api.keys import list_keys
    from studio.cli import emit

    rows = list_keys(settings)
    lines = [f"{r['name']}: {r['state']}, created {r['created_at']} by {r['created_by']}"
             f"{', revoked ' + r['revoked_at'] + ' by ' + r['revoked_by'] if r['revoked_at'] else ''}" for r in rows]
    emit(args, {"keys": rows}, "\n".join(lines) or "No API keys yet.")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    from studio.api.keys import revoke_key
    from studio.cli import emit

    count = _guarded(lambda: revoke_key(settings, args.name, by=CLI_ACTOR))
    name = " ".join(args.name.split())
    emit(args, {"name": name, "revoked": count}, f"Revoked the key of {name}.")
    return 0
