"""Raters: personal invite links and vote exclusions (core: no gradio).

An invite is a random token (``secrets.token_urlsafe``) handed to one named rater inside a link; the
store keeps only its SHA-256 hash, so neither the database nor a backup can sign anyone in. An invite
expires, and can be revoked. A token that is unknown, tampered with, revoked or expired resolves to
``None``: every refusal looks the same, so it tells nothing that would help guessing.

An exclusion keeps a rater's votes stored but leaves them out of the statistics and the export
(``VoteStore.votes(include_excluded=False)``); who excluded, when and why is recorded, and including
the rater again closes the row instead of deleting it.

Both tables live in the arena's SQLite file (``settings.votes_db``) beside the votes they qualify; their
schema is part of ``studio.compare.votes.SCHEMA``, created once per file. Names compare with
``str.casefold`` (``store.fold``; the SQL ``casefold()`` function is the same), so the exclusions, the
invites and the lists agree on who is who, accents and all.

An invited rater's name is theirs alone while the invite is active: ``studio.ui.auth`` refuses a
password login or a Hugging Face account of the same name (``active_invite_name``), so nobody who
knows the shared rater password can vote as "Dr. Rivera".
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from studio.compare.votes import VoteStore, fold
from studio.settings import Settings
from studio.util.errors import UserError

MAX_RATER_CHARS = 80
MAX_REASON_CHARS = 500
MAX_INVITE_DAYS = 365
TOKEN_BYTES = 32
# Names that mean something else to the studio's sign-in (see studio/ui/auth.py).
RESERVED_NAMES = ("admin", "local-admin", "anonymous")
# With password login, an invited rater's server-side Gradio session is the user "invite:<name>".
INVITE_USER_PREFIX = "invite:"



class RaterError(UserError, ValueError):
    pass


def clean_name(name: str | None, missing: str = "Enter the rater's name.") -> str:
    """One rater name, whitespace collapsed; refused (with ``missing``) when empty, or when too long."""
    name = " ".join((name or "").split())
    if not name:
        raise RaterError(missing)
    if len(name) > MAX_RATER_CHARS:
        raise RaterError(f"Please keep the name under {MAX_RATER_CHARS} characters.")
    return name


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_link(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/?invite={token}"


def _db(settings: Settings) -> VoteStore:
    return VoteStore(settings.votes_db)  # the schema is made once per file and process (see votes.py)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def create_invite(settings: Settings, name: str, days: int = 30, by: str = "admin",
                  now: datetime | None = None) -> dict:
    """A new invite for ``name``. -> {"name", "link", "expires"}: the only time the token is seen."""
    name = clean_name(name)
    if fold(name) in RESERVED_NAMES or fold(name).startswith(INVITE_USER_PREFIX):
        raise RaterError(f"'{name}' is reserved by the studio's sign-in; choose the rater's own name.")
    if not isinstance(days, int) or not 1 <= days <= MAX_INVITE_DAYS:
        raise RaterError(f"An invite lasts from 1 to {MAX_INVITE_DAYS} days.")
    moment = _now(now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = _iso(moment + timedelta(days=days))
    votes = _db(settings)
    with votes.transaction() as conn:
        for row in conn.execute("SELECT expires_at FROM invites WHERE casefold(name) = casefold(?) AND revoked_at IS NULL",
                                (name,)):
            if _parse(row["expires_at"]) > moment:
                raise RaterError(f"'{name}' already has an active invite. Revoke it first to send a new link.")
        conn.execute("INSERT INTO invites (name, token_hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                     (name, token_hash(token), by, _iso(moment), expires))
    return {"name": name, "link": invite_link(settings, token), "expires": expires}


def resolve_invite(settings: Settings, token: str | None, now: datetime | None = None) -> str | None:
    """The rater an active invite token signs in, or None (unknown, tampered, revoked and expired alike)."""
    if not token or len(token) > 200:
        return None
    with _db(settings).connect() as conn:
        row = conn.execute("SELECT name, expires_at FROM invites WHERE token_hash = ? AND revoked_at IS NULL",
                           (token_hash(token),)).fetchone()
    if row is None or _parse(row["expires_at"]) <= _now(now):
        return None
    return row["name"]


def active_invite_name(settings: Settings, name: str | None, now: datetime | None = None) -> str | None:
    """The name of an active (unrevoked, unexpired) invite that ``name`` matches case-insensitively, or None."""
    if not name:
        return None
    moment = _now(now)
    with _db(settings).connect() as conn:
        rows = conn.execute("SELECT name, expires_at FROM invites WHERE casefold(name) = casefold(?) "
                            "AND revoked_at IS NULL", (" ".join(name.split()),)).fetchall()
    return next((row["name"] for row in rows if _parse(row["expires_at"]) > moment), None)


def invite_expiry(settings: Settings, token: str) -> datetime | None:
    with _db(settings).connect() as conn:
        row = conn.execute("SELECT expires_at FROM invites WHERE token_hash = ?", (token_hash(token),)).fetchone()
    return None if row is None else _parse(row["expires_at"])


def revoke_invites(settings: Settings, name: str, by: str = "admin", now: datetime | None = None) -> int:
    """Revoke every unrevoked invite of ``name``. -> how many; refused when there is none."""
    name = clean_name(name)
    with _db(settings).transaction() as conn:
        cur = conn.execute("UPDATE invites SET revoked_by = ?, revoked_at = ? WHERE casefold(name) = casefold(?) "
                           "AND revoked_at IS NULL", (by, _iso(_now(now)), name))
    if cur.rowcount == 0:
        raise RaterError(f"'{name}' has no invite to revoke.")
    return cur.rowcount


def exclude_rater(settings: Settings, name: str, reason: str, by: str = "admin", now: datetime | None = None) -> dict:
    """Leave ``name``'s votes out of the statistics and the export, recording who, when and why.

    -> the record, with ``known``: False when no vote and no invite carry that name (a likely typo; the
    exclusion is stored all the same, so a rater can be excluded before their first vote)."""
    name = clean_name(name)
    reason = " ".join((reason or "").split())
    if not reason:
        raise RaterError("Give a reason for the exclusion (it is recorded).")
    if len(reason) > MAX_REASON_CHARS:
        raise RaterError(f"Please keep the reason under {MAX_REASON_CHARS} characters.")
    record = {"rater": name, "reason": reason, "excluded_by": by, "excluded_at": _iso(_now(now))}
    with _db(settings).transaction() as conn:
        if _open_exclusion(conn, name):
            raise RaterError(f"'{name}' is already excluded.")
        conn.execute("INSERT INTO rater_exclusions (rater, reason, excluded_by, excluded_at) "
                     "VALUES (:rater, :reason, :excluded_by, :excluded_at)", record)
        known = conn.execute("SELECT EXISTS (SELECT 1 FROM votes WHERE casefold(rater) = casefold(:n)) "
                             "OR EXISTS (SELECT 1 FROM invites WHERE casefold(name) = casefold(:n))", {"n": name}).fetchone()[0]
    return {**record, "known": bool(known)}


def unknown_rater_warning(name: str) -> str:
    return (f"Note: no votes and no invite carry the name '{name}' — check the spelling "
            "(the exclusion is recorded all the same; `include` undoes it).")


def include_rater(settings: Settings, name: str, by: str = "admin", now: datetime | None = None) -> dict:
    """Count ``name``'s votes again; the exclusion stays in the history with who re-included them and when."""
    name = clean_name(name)
    with _db(settings).transaction() as conn:
        row = _open_exclusion(conn, name)
        if row is None:
            raise RaterError(f"'{name}' is not excluded.")
        conn.execute("UPDATE rater_exclusions SET included_by = ?, included_at = ? WHERE id = ?",
                     (by, _iso(_now(now)), row["id"]))
    return {"rater": row["rater"], "included_by": by}


def _open_exclusion(conn, name: str):
    return conn.execute("SELECT * FROM rater_exclusions WHERE casefold(rater) = casefold(?) AND included_at IS NULL",
                        (name,)).fetchone()


def exclusion_history(settings: Settings) -> list[dict]:
    with _db(settings).connect() as conn:
        return [dict(row) for row in conn.execute("SELECT * FROM rater_exclusions ORDER BY id")]


def list_raters(settings: Settings, now: datetime | None = None) -> list[dict]:
    """Everyone who has an invite or a vote: invite state, votes, quick (unread) votes, exclusion."""
    moment = _now(now)
    votes = _db(settings)
    rows: dict[str, dict] = {}

    def row_for(name: str) -> dict:
        return rows.setdefault(fold(name), {"name": name, "invite": "none", "expires": None, "votes": 0,
                                              "quick_votes": 0, "excluded": False, "reason": None})

    with votes.connect() as conn:
        for invite in conn.execute("SELECT * FROM invites ORDER BY id"):  # the newest invite of a name wins
            row = row_for(invite["name"])
            state = "revoked" if invite["revoked_at"] else ("active" if _parse(invite["expires_at"]) > moment else "expired")
            row.update(invite=state, expires=invite["expires_at"])
        for exclusion in conn.execute("SELECT * FROM rater_exclusions WHERE included_at IS NULL"):
            row_for(exclusion["rater"]).update(excluded=True, reason=exclusion["reason"])
    for name, counts in votes.vote_counts().items():
        row = row_for(name)
        row["votes"] += counts["votes"]
        row["quick_votes"] += counts["quick_votes"]
    return sorted(rows.values(), key=lambda r: fold(r["name"]))
