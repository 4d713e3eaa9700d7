"""The arena's SQLite store: battles (which model was shown on which side) and votes.

Many raters vote at once, from threads of one server or from several processes (CLI import while
the app runs), so: WAL mode (readers never block the writer), a generous busy timeout (writers
queue instead of failing), one short ``BEGIN IMMEDIATE`` transaction per write, and a fresh
connection per operation (sqlite3 connections must not be shared between threads).

Each vote is stored exactly once: ``votes.battle_id`` is unique (a double click or a retried
request changes nothing), and ``votes.content_key`` (a hash of the exported fields) is unique too,
so importing the same JSONL twice, or an export back into its own store, adds nothing.

A vote cast within ``QUICK_VOTE_SECONDS`` of the battle starting (``battles.started_at``: the rater
asked for it, or for new answers, and the answers began to stream) is stored but flagged ``quick``
(not read). It is measured from the start, not from when streaming ended, because raters read while
the answers stream. Votes of a rater listed in ``rater_exclusions`` (open row: no ``included_at``) stay
stored but leave the statistics and the export (``votes(include_excluded=False)``). Rater names are
compared with ``str.casefold`` everywhere, in Python and in SQL (the ``casefold()`` function each
connection registers), so "Dr. Øster" and "DR. ØSTER" are one rater in the exclusions and in the lists.

The schema (with the invites table of ``studio.compare.raters``) is created, and older databases gain
the new columns (``ALTER TABLE ... ADD COLUMN``), once per database file and process: opening the
same file again skips it (the file is recognised by path, device and inode, so a database that was
deleted and created anew gets its schema again).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from studio.util.errors import UserError
from studio.util.sqlite import immediate

EXPORT_KEYS = ("model_a", "model_b", "winner", "prompt", "response_a", "response_b", "rater", "ts", "comment")
STATS_KEYS = ("model_a", "model_b", "winner")  # the least a vote needs for statistics
WINNERS = ("a", "b", "tie", "both_bad")
BUSY_TIMEOUT_MS = 60_000
QUICK_VOTE_SECONDS = 2.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS battles (
    id TEXT PRIMARY KEY,
    ts TEXT NOT NULL,
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    prompt TEXT NOT NULL,
    system TEXT,
    seed INTEGER,
    rater TEXT,
    state TEXT NOT NULL,            -- generating | ready | voted
    response_a TEXT,
    response_b TEXT,
    safety_a TEXT,                  -- JSON
    safety_b TEXT
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    battle_id TEXT UNIQUE,
    content_key TEXT NOT NULL UNIQUE,
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
    prompt TEXT NOT NULL,
    response_a TEXT NOT NULL,
    response_b TEXT NOT NULL,
    rater TEXT NOT NULL,
    ts TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rater_exclusions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rater TEXT NOT NULL,
    reason TEXT NOT NULL,
    excluded_by TEXT NOT NULL,
    excluded_at TEXT NOT NULL,
    included_by TEXT,               -- set when the rater's votes count again; the row stays as history
    included_at TEXT
);
CREATE TABLE IF NOT EXISTS invites (   -- studio.compare.raters
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,   -- sha256 of the token; the token itself is never stored
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
"""
# Columns added after the first release: (table, column, declaration). Opened databases gain them.
MIGRATIONS = (
    ("battles", "ready_at", "REAL"),                        # time.time() when both answers were stored
    ("votes", "quick", "INTEGER NOT NULL DEFAULT 0"),       # 1: voted within QUICK_VOTE_SECONDS of started_at
    ("battles", "started_at", "REAL"),                      # time.time() when the battle (or a regeneration) began
)
EXCLUDED = "SELECT casefold(rater) FROM rater_exclusions WHERE included_at IS NULL"
_SCHEMA_READY: set[tuple[str, int, int]] = set()  # (path, st_dev, st_ino) of files whose schema this process made


class StoreError(UserError, ValueError):
    pass


def content_key(vote: dict) -> str:
    canonical = json.dumps({k: vote.get(k) for k in EXPORT_KEYS}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def validate_vote(record: dict, where: str = "") -> dict:
    """Check one exported/imported vote object; return it with exactly EXPORT_KEYS."""
    clean = _checked_vote(record, where, EXPORT_KEYS)
    clean["comment"] = clean["comment"] or ""
    return clean


def validate_stats_vote(record: dict, where: str = "") -> dict:
    """Like validate_vote, but only STATS_KEYS are required: statistics can run on a bare
    ``{"model_a", "model_b", "winner"}`` file. Absent or null fields come back as None."""
    return _checked_vote(record, where, STATS_KEYS)


def _checked_vote(record: dict, where: str, required: tuple[str, ...]) -> dict:
    prefix = f"{where}: " if where else ""
    if not isinstance(record, dict):
        raise StoreError(f"{prefix}expected a JSON object per line.")
    missing = [k for k in required if k not in record]
    if missing:
        raise StoreError(f"{prefix}missing keys {', '.join(missing)} (each vote needs {', '.join(required)}).")
    if record["winner"] not in WINNERS:
        raise StoreError(f"{prefix}winner is {record['winner']!r}; use one of {', '.join(WINNERS)}.")
    for key in EXPORT_KEYS:
        optional = key == "comment" or key not in required
        if optional and record.get(key) is None:
            continue
        if not isinstance(record[key], str):
            raise StoreError(f"{prefix}{key} must be a string.")
    return {k: record.get(k) for k in EXPORT_KEYS}


class VoteStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        if _file_key(self.path) not in _SCHEMA_READY:
            self._create_schema()

    def _create_schema(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.executescript(SCHEMA)
            _migrate(conn)
        _SCHEMA_READY.add(_file_key(self.path))

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.create_function("casefold", 1, fold, deterministic=True)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable across app crashes in WAL mode
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front so it cannot deadlock later."""
        with self.connect() as conn, immediate(conn):
            yield conn

    # --- battles ---
    def add_battle(self, battle: dict, now: float | None = None) -> None:
        """Store a new battle; ``now`` (default: the clock) is its start, which the ``quick`` flag counts from."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO battles (id, ts, model_a, model_b, prompt, system, seed, rater, state, started_at) "
                "VALUES (:id, :ts, :model_a, :model_b, :prompt, :system, :seed, :rater, 'generating', :started_at)",
                {**battle, "started_at": _now(now)},
            )

    def battle(self, battle_id: str) -> dict | None:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM battles WHERE id = ?", (battle_id,)).fetchone()
        if row is None:
            return None
        data = dict(row)
        for key in ("safety_a", "safety_b"):
            data[key] = json.loads(data[key]) if data[key] else None
        return data

    def restart_battle(self, battle_id: str, seed: int, now: float | None = None) -> bool:
        """Back to 'generating' with a new seed and a new start, unless it was voted on (then nothing changes)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE battles SET state = 'generating', seed = ?, response_a = NULL, response_b = NULL, ready_at = NULL, "
                "started_at = ? WHERE id = ? AND state != 'voted'",
                (seed, _now(now), battle_id),
            )
            return cur.rowcount == 1

    def finish_battle(self, battle_id: str, response_a: str, response_b: str, safety_a: dict, safety_b: dict,
                      now: float | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE battles SET state = 'ready', response_a = ?, response_b = ?, safety_a = ?, safety_b = ?, "
                "ready_at = ? WHERE id = ? AND state = 'generating'",
                (response_a, response_b, json.dumps(safety_a), json.dumps(safety_b), _now(now), battle_id),
            )

    # --- votes ---
    def vote_on_battle(self, battle_id: str, winner: str, rater: str, comment: str, ts: str,
                       now: float | None = None) -> tuple[dict, bool]:
        """Record the vote for a ready battle; a second vote on it returns the first. -> (vote, created).

        ``now`` (default: the clock) decides the ``quick`` flag against the battle's ``started_at``."""
        if winner not in WINNERS:
            raise StoreError(f"Unknown vote {winner!r}; use one of {', '.join(WINNERS)}.")
        with self.transaction() as conn:
            existing = conn.execute("SELECT * FROM votes WHERE battle_id = ?", (battle_id,)).fetchone()
            if existing is not None:
                return _vote_dict(existing), False
            battle = conn.execute("SELECT * FROM battles WHERE id = ?", (battle_id,)).fetchone()
            if battle is None:
                raise StoreError("This battle does not exist (it may belong to another studio). Start a new battle.")
            if battle["state"] != "ready":
                raise StoreError("Both answers must finish before you vote.")
            vote = {
                "model_a": battle["model_a"], "model_b": battle["model_b"], "winner": winner,
                "prompt": battle["prompt"], "response_a": battle["response_a"], "response_b": battle["response_b"],
                "rater": rater, "ts": ts, "comment": comment or "",
            }
            started_at = battle["started_at"]  # None for a battle stored before the column existed: never quick
            quick = started_at is not None and _now(now) - float(started_at) < QUICK_VOTE_SECONDS
            _insert_vote(conn, vote, battle_id, quick)
            conn.execute("UPDATE battles SET state = 'voted' WHERE id = ?", (battle_id,))
        return vote, True

    def add_votes(self, votes: list[dict]) -> int:
        """Store imported votes in one transaction; votes already stored are skipped. -> how many were added."""
        clean = [validate_vote(vote, f"vote {i}") for i, vote in enumerate(votes, start=1)]
        with self.transaction() as conn:
            return sum(_insert_vote(conn, vote, None) for vote in clean)

    def votes(self, include_excluded: bool = True) -> list[dict]:
        """Every vote, or (``include_excluded=False``) only those of raters who count: for statistics and export."""
        where = "" if include_excluded else f" WHERE casefold(rater) NOT IN ({EXCLUDED})"
        with self.connect() as conn:
            rows = conn.execute(f"SELECT * FROM votes{where} ORDER BY id").fetchall()
        return [_vote_dict(row) for row in rows]

    def vote_counts(self) -> dict[str, dict]:
        """Per rater (as stored): how many votes, and how many were quick (cast before the answers could be read)."""
        with self.connect() as conn:
            rows = conn.execute("SELECT rater, COUNT(*) AS votes, SUM(quick) AS quick FROM votes GROUP BY rater").fetchall()
        return {row["rater"]: {"votes": int(row["votes"]), "quick_votes": int(row["quick"] or 0)} for row in rows}

    def vote_flags(self, battle_id: str) -> dict | None:
        with self.connect() as conn:
            row = conn.execute("SELECT quick FROM votes WHERE battle_id = ?", (battle_id,)).fetchone()
        return None if row is None else {"quick": bool(row["quick"])}

    def count(self) -> int:
        with self.connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0])


def _insert_vote(conn: sqlite3.Connection, vote: dict, battle_id: str | None, quick: bool = False) -> bool:
    cur = conn.execute(
        "INSERT OR IGNORE INTO votes (battle_id, content_key, model_a, model_b, winner, prompt, response_a, "
        "response_b, rater, ts, comment, quick) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (battle_id, content_key(vote), *(vote[k] for k in EXPORT_KEYS), int(quick)),
    )
    return cur.rowcount == 1


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a database from an older release lacks; existing rows get the column's default."""
    for table, column, declaration in MIGRATIONS:
        present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            except sqlite3.OperationalError as exc:
                if "duplicate column name" not in str(exc).lower():  # e.g. "database is locked" must surface
                    raise
                # another process added it first


def fold(name):
    """How rater names compare (Python and SQL alike): ``str.casefold``, which folds non-ASCII letters too."""
    return name.casefold() if isinstance(name, str) else name


def _file_key(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_dev, stat.st_ino)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _vote_dict(row: sqlite3.Row) -> dict:
    return {k: row[k] for k in EXPORT_KEYS}
