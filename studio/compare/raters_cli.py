"""Commands: ``raters invite|list|revoke|exclude|include``, the twins of the Arena tab's Raters panel."""

from __future__ import annotations

import argparse

from studio.compare.cli import _cmd
from studio.settings import Settings

CLI_ACTOR = "cli"  # recorded as who created, revoked, excluded or included


def register(subparsers: argparse._SubParsersAction) -> None:
    raters = subparsers.add_parser("raters", help="Invite links for named raters, and whose votes count.")
    sub = raters.add_subparsers(dest="raters_command", metavar="ACTION")
    invite = _cmd(sub, "invite", _invite, "Create a personal invite link for a named rater (printed once; only its hash is stored).")
    invite.add_argument("name")
    invite.add_argument("--days", type=int, default=30, help="how long the link works (1-365 days, default 30)")
    _cmd(sub, "list", _list, "Raters with their invite state, votes, quick (unread) votes and exclusion.")
    revoke = _cmd(sub, "revoke", _revoke, "Revoke a rater's invite links; they stop working at once.")
    revoke.add_argument("name")
    exclude = _cmd(sub, "exclude", _exclude, "Leave a rater's votes out of the statistics and the export (kept stored).")
    exclude.add_argument("name")
    exclude.add_argument("--reason", required=True, help="why (recorded with who and when)")
    include = _cmd(sub, "include", _include, "Count an excluded rater's votes again.")
    include.add_argument("name")


def _guarded(action):
    """Run a core action; a refusal becomes a one-line error with exit code 2."""
    from studio.cli import CommandError
    from studio.compare.raters import RaterError

    try:
        return action()
    except RaterError as exc:
        raise CommandError(str(exc), 2) from None


def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.compare.raters import create_invite

    created = _guarded(lambda: create_invite(settings, args.name, args.days, by=CLI_ACTOR))
    emit(args, created, f"Invite for {created['name']} (until {created['expires']}); send it to them only:\n{created['link']}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.compare.raters import list_raters

    rows = list_raters(settings)
    lines = [f"{r['name']}: invite {r['invite']}{' until ' + r['expires'] if r['expires'] else ''}, {r['votes']} votes "
             f"({r['quick_votes']} quick){', EXCLUDED: ' + r['reason'] if r['excluded'] else ''}" for r in rows]
    emit(args, {"raters": rows}, "\n".join(lines) or "No raters yet.")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.compare.raters import revoke_invites

    count = _guarded(lambda: revoke_invites(settings, args.name, by=CLI_ACTOR))
    emit(args, {"name": args.name.strip(), "revoked": count}, f"Revoked {count} invite(s) of {args.name.strip()}.")
    return 0


def _exclude(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.compare.raters import exclude_rater, unknown_rater_warning

    record = _guarded(lambda: exclude_rater(settings, args.name, args.reason, by=CLI_ACTOR))
    text = f"{record['rater']}'s votes no longer count (they stay stored)."
    emit(args, record, text if record["known"] else f"{text}\n{unknown_rater_warning(record['rater'])}")
    return 0


def _include(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.compare.raters import include_rater

    record = _guarded(lambda: include_rater(settings, args.name, by=CLI_ACTOR))
    emit(args, record, f"{record['rater']}'s votes count again.")
    return 0
