"""Invites (hashed tokens, expiry, revocation), exclusions, quick votes and the schema migration: the core."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from studio.compare import arena, raters
from studio.compare.stats import compute_stats
from studio.compare.votes import VoteStore
from tests.compare.test_store import _ready_battle, _vote

DAY = timedelta(days=1)


def _token(link: str) -> str:
    return link.split("?invite=", 1)[1]


def test_an_invite_signs_in_its_rater_and_only_its_hash_is_stored(settings):
    created = raters.create_invite(settings.with_(public_url="https://clinic.example/"), "  Dr.  Rivera ", days=30)
    assert created["name"] == "Dr. Rivera" and created["link"].startswith("https://clinic.example/?invite=")
    token = _token(created["link"])
    assert len(token) >= 40 and raters.resolve_invite(settings, token) == "Dr. Rivera"
    stored = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
    assert token.encode() not in stored and raters.token_hash(token).encode() in stored


def test_revoked_expired_tampered_and_unknown_tokens_are_refused_alike(settings):
    now = datetime.now(UTC)
    token = _token(raters.create_invite(settings, "Dr. Rivera", days=30, now=now)["link"])
    assert raters.resolve_invite(settings, token, now=now + 29 * DAY) == "Dr. Rivera"
    assert raters.resolve_invite(settings, token, now=now + 31 * DAY) is None  # expired
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, "not-a-token", "", None, "x" * 5000):
        assert raters.resolve_invite(settings, bad) is None
    assert raters.revoke_invites(settings, "dr. rivera") == 1
    assert raters.resolve_invite(settings, token) is None
    with pytest.raises(raters.RaterError, match="no invite to revoke"):
        raters.revoke_invites(settings, "Dr. Rivera")
    # after revocation (or expiry) the same name may get a new link
    fresh = _token(raters.create_invite(settings, "Dr. Rivera", days=1)["link"])
    assert raters.resolve_invite(settings, fresh) == "Dr. Rivera"


def test_bad_invites_are_refused(settings):
    raters.create_invite(settings, "Dr. Rivera")
    for name, message in (("", "Enter the rater's name"), ("   ", "Enter the rater's name"),
                          ("DR. RIVERA", "already has an active invite"), ("admin", "reserved"),
                          ("x" * 81, "under 80")):
        with pytest.raises(raters.RaterError, match=message):
            raters.create_invite(settings, name)
    for days in (0, 366, -3):
        with pytest.raises(raters.RaterError, match="1 to 365 days"):
            raters.create_invite(settings, "Dr. Kim", days=days)
    expired_earlier = datetime.now(UTC) - 40 * DAY
    raters.create_invite(settings, "Dr. Old", days=30, now=expired_earlier)
    raters.create_invite(settings, "Dr. Old", days=30)  # the old invite expired: not a duplicate


def test_excluded_votes_leave_the_statistics_and_the_export_but_stay_stored(settings, tmp_path):
    store = arena.store(settings)
    store.add_votes([_vote(i, rater="dr-lee") for i in range(3)] + [_vote(10 + i, rater="Dr-Spam", winner="b") for i in range(5)])
    assert compute_stats(store.votes(include_excluded=False))["battles"] == 8
    record = raters.exclude_rater(settings, "dr-spam", "clicked through without reading", by="admin")
    assert record["excluded_by"] == "admin" and record["excluded_at"]
    with pytest.raises(raters.RaterError, match="already excluded"):
        raters.exclude_rater(settings, "Dr-Spam", "again")
    with pytest.raises(raters.RaterError, match="reason"):
        raters.exclude_rater(settings, "dr-lee", "  ")

    counted = store.votes(include_excluded=False)
    assert {v["rater"] for v in counted} == {"dr-lee"} and store.count() == 8
    assert compute_stats(counted)["battles"] == 3
    out = tmp_path / "votes.jsonl"
    assert arena.export_jsonl(settings, out) == 3
    assert {json.loads(line)["rater"] for line in out.read_text().splitlines()} == {"dr-lee"}
    row = {r["name"].lower(): r for r in raters.list_raters(settings)}["dr-spam"]
    assert row["excluded"] and row["votes"] == 5 and row["reason"] == "clicked through without reading"

    raters.include_rater(settings, "DR-SPAM", by="admin")
    assert len(store.votes(include_excluded=False)) == 8
    with pytest.raises(raters.RaterError, match="not excluded"):
        raters.include_rater(settings, "Dr-Spam")
    history = raters.exclusion_history(settings)
    assert len(history) == 1 and history[0]["included_by"] == "admin" and history[0]["reason"]


def test_a_vote_within_two_seconds_of_the_battle_starting_is_flagged_quick(settings):
    """Measured from the start, not from when streaming ended: raters read while the answers stream."""
    store = VoteStore(settings.votes_db)
    # (battle, answers finished at, vote at), every battle started at 1000.0
    for battle_id, ready, voted in (("fast", 1000.3, 1001.0),      # no one read two answers in a second
                                    ("streamed", 1012.0, 1012.5),  # read while streaming: voted just after the end
                                    ("slow", 1001.0, 1030.0)):
        store.add_battle({"id": battle_id, "ts": "t", "model_a": "base", "model_b": "r", "prompt": f"p {battle_id}",
                          "system": None, "seed": 1, "rater": "dr-lee"}, now=1000.0)
        store.finish_battle(battle_id, "A", "B", {}, {}, now=ready)
        store.vote_on_battle(battle_id, "a", "dr-lee", "", "t", now=voted)
    assert [store.vote_flags(b)["quick"] for b in ("fast", "streamed", "slow")] == [True, False, False]
    # new answers start the clock again
    store.add_battle({"id": "regen", "ts": "t", "model_a": "base", "model_b": "r", "prompt": "p regen",
                      "system": None, "seed": 1, "rater": "dr-lee"}, now=1000.0)
    store.finish_battle("regen", "A", "B", {}, {}, now=1005.0)
    assert store.restart_battle("regen", 2, now=2000.0)
    store.finish_battle("regen", "A2", "B2", {}, {}, now=2000.5)
    store.vote_on_battle("regen", "b", "dr-lee", "", "t", now=2001.0)
    assert store.vote_flags("regen") == {"quick": True}
    assert store.vote_counts() == {"dr-lee": {"votes": 4, "quick_votes": 2}}
    row = {r["name"]: r for r in raters.list_raters(settings)}["dr-lee"]
    assert (row["votes"], row["quick_votes"], row["invite"]) == (4, 2, "none")


def test_exclusions_fold_case_beyond_ascii_like_the_rater_list(settings):
    store = arena.store(settings)
    store.add_votes([_vote(i, rater="Dr. Øster") for i in range(2)] + [_vote(5, rater="dr. øster")]
                    + [_vote(10, rater="dr-lee")])
    rows = raters.list_raters(settings)
    assert sorted(r["votes"] for r in rows) == [1, 3]  # "Dr. Øster" and "dr. øster" are one rater in the list
    record = raters.exclude_rater(settings, "DR. ØSTER", "tested the arena")  # SQLite lower() leaves Ø as it is
    assert record["known"]
    assert [v["rater"] for v in store.votes(include_excluded=False)] == ["dr-lee"]
    with pytest.raises(raters.RaterError, match="already excluded"):
        raters.exclude_rater(settings, "dr. øster", "again")
    raters.create_invite(settings, "Dr. Straße")
    with pytest.raises(raters.RaterError, match="already has an active invite"):
        raters.create_invite(settings, "DR. STRASSE")  # casefold: ß is ss
    assert raters.revoke_invites(settings, "dr. strasse") == 1
    raters.include_rater(settings, "dr. øster")
    assert len(store.votes(include_excluded=False)) == 4


def test_excluding_a_name_with_no_votes_and_no_invite_warns_of_a_typo(settings, monkeypatch, capsys):
    from studio.cli import main

    arena.store(settings).add_votes([_vote(1, rater="dr-lee")])
    raters.create_invite(settings, "Dr. Kim")
    assert raters.exclude_rater(settings, "DR-LEE", "r")["known"] and raters.exclude_rater(settings, "dr. kim", "r")["known"]
    typo = raters.exclude_rater(settings, "dr-leee", "r")
    assert typo["known"] is False and raters.exclusion_history(settings)[-1]["rater"] == "dr-leee"  # stored all the same

    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    assert main(["raters", "exclude", "Dr. Nobody", "--reason", "spam"]) == 0
    assert "no votes and no invite carry the name 'Dr. Nobody'" in capsys.readouterr().out
    assert main(["raters", "exclude", "Dr. Nobody2", "--reason", "spam", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["known"] is False


def test_an_active_invite_name_is_found_case_insensitively(settings):
    now = datetime.now(UTC)
    raters.create_invite(settings, "Dr. Rivera", days=30, now=now)
    for typed in ("Dr. Rivera", "dr.  RIVERA ", "DR. RIVERA"):
        assert raters.active_invite_name(settings, typed, now=now) == "Dr. Rivera"
    assert raters.active_invite_name(settings, "Dr. Rivera", now=now + 31 * DAY) is None  # expired
    assert raters.active_invite_name(settings, "Dr. Kim") is None and raters.active_invite_name(settings, "") is None
    raters.revoke_invites(settings, "Dr. Rivera")
    assert raters.active_invite_name(settings, "Dr. Rivera", now=now) is None
    with pytest.raises(raters.RaterError, match="reserved"):
        raters.create_invite(settings, "invite:Dr. Rivera")


def test_the_schema_is_made_once_per_database_file(settings, monkeypatch):
    """Every caller() with a cookie opens the store: that must not run the schema script each time."""
    from types import SimpleNamespace

    from studio.ui.auth import INVITE_COOKIE, caller

    made: list[str] = []
    original = VoteStore._create_schema

    def counting(self):
        made.append(str(self.path))
        original(self)

    monkeypatch.setattr(VoteStore, "_create_schema", counting)
    monkeypatch.setenv("SPACE_ID", "clinic/studio")
    token = _token(raters.create_invite(settings, "Dr. Rivera")["link"])
    visitor = SimpleNamespace(username=None, session={}, cookies={INVITE_COOKIE: token})
    for _ in range(5):
        assert caller(visitor, settings).name == "Dr. Rivera"
    assert made == [str(settings.votes_db)]
    # a database deleted and made anew gets its schema again
    for path in settings.votes_db.parent.glob(settings.votes_db.name + "*"):
        path.unlink()
    assert raters.resolve_invite(settings, token) is None and raters.list_raters(settings) == []
    assert made == [str(settings.votes_db)] * 2


def test_a_migration_ignores_only_a_column_another_process_added(settings, tmp_path):
    from studio.compare import votes as store_module

    VoteStore(settings.votes_db)

    class Stale:
        """A connection that read the table before another process added the column."""

        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            return [] if sql.startswith("PRAGMA table_info") else self.conn.execute(sql, *args)

    with sqlite3.connect(settings.votes_db) as conn:
        conn.row_factory = sqlite3.Row
        store_module._migrate(Stale(conn))  # "duplicate column name": nothing to do

    old = tmp_path / "old.db"  # lacks the columns; another connection holds the write lock
    with sqlite3.connect(old) as conn:
        conn.executescript(OLD_SCHEMA)
    holder = sqlite3.connect(old, isolation_level=None)
    waiting = sqlite3.connect(old, timeout=0)  # fails at once instead of waiting for the lock
    waiting.row_factory = sqlite3.Row
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # not swallowed as "added already"
            store_module._migrate(waiting)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        waiting.close()


def test_one_rater_cannot_vote_twice_on_a_battle(settings):
    store = VoteStore(settings.votes_db)
    _ready_battle(store, "b1")
    first, created = store.vote_on_battle("b1", "a", "dr-lee", "", "t1")
    again, created_again = store.vote_on_battle("b1", "b", "dr-lee", "changed my mind", "t2")
    assert created and not created_again and again == first and store.count() == 1


OLD_SCHEMA = """
CREATE TABLE battles (id TEXT PRIMARY KEY, ts TEXT NOT NULL, model_a TEXT NOT NULL, model_b TEXT NOT NULL,
    prompt TEXT NOT NULL, system TEXT, seed INTEGER, rater TEXT, state TEXT NOT NULL, response_a TEXT,
    response_b TEXT, safety_a TEXT, safety_b TEXT);
CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, battle_id TEXT UNIQUE, content_key TEXT NOT NULL UNIQUE,
    model_a TEXT NOT NULL, model_b TEXT NOT NULL, winner TEXT NOT NULL, prompt TEXT NOT NULL, response_a TEXT NOT NULL,
    response_b TEXT NOT NULL, rater TEXT NOT NULL, ts TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '');
INSERT INTO battles VALUES ('old', 't', 'base', 'r', 'p', NULL, 1, 'x', 'ready', 'A', 'B', '{}', '{}');
INSERT INTO votes (battle_id, content_key, model_a, model_b, winner, prompt, response_a, response_b, rater, ts)
    VALUES (NULL, 'k', 'base', 'r', 'a', 'p', 'A', 'B', 'dr-old', 't');
"""


def test_a_database_from_before_the_new_columns_is_migrated_in_place(settings):
    settings.votes_db.parent.mkdir(parents=True)
    with sqlite3.connect(settings.votes_db) as conn:
        conn.executescript(OLD_SCHEMA)
    store = VoteStore(settings.votes_db)
    with store.connect() as conn:
        assert "quick" in {r["name"] for r in conn.execute("PRAGMA table_info(votes)")}
        assert {"ready_at", "started_at"} <= {r["name"] for r in conn.execute("PRAGMA table_info(battles)")}
    assert [v["rater"] for v in store.votes(include_excluded=False)] == ["dr-old"]
    store.vote_on_battle("old", "b", "dr-new", "", "t")  # a battle without started_at is never 'quick'
    assert store.vote_flags("old") == {"quick": False}
    VoteStore(settings.votes_db)  # opening again changes nothing
    assert raters.list_raters(settings)[0]["name"] == "dr-new"
