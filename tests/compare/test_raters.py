"""Invites (hashed tokens, expiry, revocation), exclusions, quick votes and the schema migration: the core."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from studio.compare import arena, raters
from studio.compare.stats import compute_stats
from studio.compare.store import VoteStore
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


def test_a_vote_within_two_seconds_of_the_answers_is_flagged_quick(settings):
    store = VoteStore(settings.votes_db)
    for battle_id, delay in (("fast", 0.5), ("read", 30.0)):
        store.add_battle({"id": battle_id, "ts": "t", "model_a": "base", "model_b": "r", "prompt": f"p {battle_id}",
                          "system": None, "seed": 1, "rater": "dr-lee"})
        store.finish_battle(battle_id, "A", "B", {}, {}, now=1000.0)
        store.vote_on_battle(battle_id, "a", "dr-lee", "", "t", now=1000.0 + delay)
    assert store.vote_flags("fast") == {"quick": True} and store.vote_flags("read") == {"quick": False}
    assert store.vote_counts() == {"dr-lee": {"votes": 2, "quick_votes": 1}}
    row = {r["name"]: r for r in raters.list_raters(settings)}["dr-lee"]
    assert (row["votes"], row["quick_votes"], row["invite"]) == (2, 1, "none")


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
        assert "ready_at" in {r["name"] for r in conn.execute("PRAGMA table_info(battles)")}
    assert [v["rater"] for v in store.votes(include_excluded=False)] == ["dr-old"]
    store.vote_on_battle("old", "b", "dr-new", "", "t")  # a battle without ready_at is never 'quick'
    assert store.vote_flags("old") == {"quick": False}
    VoteStore(settings.votes_db)  # opening again changes nothing
    assert raters.list_raters(settings)[0]["name"] == "dr-new"
