"""API keys for the OpenAI-compatible endpoint (core: no gradio, no web framework).

An admin creates a key for a named client (``python -m studio api-keys create NAME``); the key is a
random token (``secrets.token_urlsafe``) shown once. The store keeps only its SHA-256 hash, as the
rater invites do (``studio.compare.raters``), so neither the database nor a backup can call the API.
A key can be revoked; an unknown, tampered or revoked key resolves to ``None``, all alike.

The keys live in their own SQLite file (``settings.api_keys_db``): WAL mode, a busy timeout and a
fresh connection per operation, like the arena's store, since the server and the CLI share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

from studio.settings import Settings
from studio.util.errors import UserError
from studio.util.sqlite import immediate

KEY_PREFIX = "sk-studio-"  # recognisable in a config file, and by the log redaction pattern
TOKEN_BYTES = 32
MAX_NAME_CHARS = 80
MAX_KEY_CHARS = 200
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_name ON api_keys (name);
"""


class ApiKeyError(UserError, ValueError):
    pass


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ApiKeyError("Give the key a name (who or what will use it, e.g. 'clinic-app').")
    if len(name) > MAX_NAME_CHARS:
        raise ApiKeyError(f"Please keep the key's name under {MAX_NAME_CHARS} characters.")
    return name


def _iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@contextlib.contextmanager
def _connect(settings: Settings, write: bool = False) -> Iterator[sqlite3.Connection]:
    path = settings.api_keys_db
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        if not write:
            yield conn
            return
        with immediate(conn):
            yield conn
    finally:
        conn.close()


def create_key(settings: Settings, name: str, by: str = "admin") -> dict:
    """A new key for ``name``. -> {"name", "key"}: the only time the key is seen."""
    name = clean_name(name)
    key = KEY_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    with _connect(settings, write=True) as conn:
        if conn.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
            raise ApiKeyError(f"'{name}' already has an active key. Revoke it first, or choose another name.")
        conn.execute("INSERT INTO api_keys (name, key_hash, created_by, created_at) VALUES (?, ?, ?, ?)",
                     (name, key_hash(key), by, _iso()))
    return {"name": name, "key": key}


def resolve_key(settings: Settings, key: str | None) -> str | None:
    """The name of the active key ``key``, or None (missing, unknown, tampered and revoked alike)."""
    if not key or len(key) > MAX_KEY_CHARS:
        return None
    with _connect(settings) as conn:
        row = conn.execute("SELECT name FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                           (key_hash(key),)).fetchone()
    return None if row is None else row["name"]


def revoke_key(settings: Settings, name: str, by: str = "admin") -> int:
    """Revoke ``name``'s active key(s); they stop working at the next request. -> how many."""
    name = clean_name(name)
    with _connect(settings, write=True) as conn:
        cur = conn.execute("UPDATE api_keys SET revoked_by = ?, revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                           (by, _iso(), name))
    if cur.rowcount == 0:
        raise ApiKeyError(f"'{name}' has no active key to revoke. `api-keys list` shows the names.")
    return cur.rowcount


def list_keys(settings: Settings) -> list[dict]:
    """Every key ever made (never the key itself): name, state, who made or revoked it and when."""
    with _connect(settings) as conn:
        rows = conn.execute("SELECT name, created_by, created_at, revoked_by, revoked_at FROM api_keys ORDER BY id").fetchall()
    return [{**dict(row), "state": "revoked" if row["revoked_at"] else "active"} for row in rows]
