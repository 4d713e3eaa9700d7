"""The vote store under concurrent writers (threads and processes), idempotent votes, JSONL export/import."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading

import pytest

from studio.compare import arena
from studio.compare.votes import EXPORT_KEYS, StoreError, VoteStore

WRITERS, VOTES_EACH = 6, 15


def _vote(i: int, rater: str = "dr-lee", winner: str = "a") -> dict:
    return {"model_a": "base", "model_b": "run-1", "winner": winner, "prompt": f"prompt {i}", "response_a": f"A{i}",
            "response_b": f"B{i}", "rater": rater, "ts": f"2026-01-01T00:00:{i % 60:02d}Z", "comment": ""}


def _ready_battle(store: VoteStore, battle_id: str) -> None:
    store.add_battle({"id": battle_id, "ts": "2026-01-01T00:00:00Z", "model_a": "base", "model_b": "run-1",
                      "prompt": f"prompt for {battle_id}", "system": None, "seed": 1, "rater": "x"})
    store.finish_battle(battle_id, "answer A", "answer B", {"flags": []}, {"flags": []})


def _process_writer(path: str, writer: int) -> None:
    store = VoteStore(path)
    for i in range(VOTES_EACH):
        battle_id = f"p{writer}-{i}"
        _ready_battle(store, battle_id)
        store.vote_on_battle(battle_id, "b", f"proc-{writer}", "", "2026-01-01T00:00:00Z")
        store.vote_on_battle(battle_id, "tie", f"proc-{writer}", "retry", "2026-01-01T00:00:01Z")  # a double click


def test_wal_mode_and_busy_timeout(settings):
    store = VoteStore(settings.votes_db)
    with store.connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def test_many_threads_and_processes_store_each_vote_exactly_once(settings):
    path = str(settings.votes_db)
    VoteStore(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(path, w)) for w in range(3)]
    for proc in procs:
        proc.start()
    errors: list[BaseException] = []

    def thread_writer(writer: int) -> None:
        try:
            store = VoteStore(path)
            for i in range(VOTES_EACH):
                battle_id = f"t{writer}-{i}"
                _ready_battle(store, battle_id)
                # two raters' browsers racing on the same battle id: only the first vote counts
                for winner in ("a", "both_bad"):
                    store.vote_on_battle(battle_id, winner, f"thread-{writer}", "", "2026-01-01T00:00:00Z")
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for proc in procs:
        proc.join(timeout=300)
        assert proc.exitcode == 0
    assert not errors
    votes = VoteStore(path).votes()
    assert len(votes) == (WRITERS + 3) * VOTES_EACH
    by_rater = {}
    for vote in votes:
        by_rater.setdefault(vote["rater"], set()).add(vote["winner"])
    assert by_rater["thread-0"] == {"a"} and by_rater["proc-0"] == {"b"}  # the first vote of each battle won
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(DISTINCT battle_id) FROM votes").fetchone()[0] == len(votes)


def test_vote_needs_finished_answers_and_known_battle(settings):
    store = VoteStore(settings.votes_db)
    store.add_battle({"id": "b1", "ts": "t", "model_a": "base", "model_b": "r", "prompt": "p", "system": None,
                      "seed": 1, "rater": "x"})
    with pytest.raises(StoreError, match="finish"):
        store.vote_on_battle("b1", "a", "x", "", "t")
    with pytest.raises(StoreError, match="does not exist"):
        store.vote_on_battle("nope", "a", "x", "", "t")
    with pytest.raises(StoreError, match="Unknown vote"):
        store.vote_on_battle("b1", "maybe", "x", "", "t")


def test_export_has_exactly_the_issue_keys_and_import_is_idempotent(settings, tmp_path):
    store = arena.store(settings)
    store.add_votes([_vote(i, winner=w) for i, w in enumerate(["a", "b", "tie", "both_bad"])])
    _ready_battle(store, "b-live")
    store.vote_on_battle("b-live", "a", "dr-kim", "clear and kind", "2026-01-02T10:00:00Z")
    out = tmp_path / "votes.jsonl"
    assert arena.export_jsonl(settings, out) == 5
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(list(line) == list(EXPORT_KEYS) for line in lines)
    assert lines[-1]["comment"] == "clear and kind" and lines[-1]["response_a"] == "answer A"

    # into its own store: nothing new; into a fresh store: all of them, once
    assert arena.import_jsonl(settings, out) == {"read": 5, "added": 0, "skipped": 5}
    other = settings.with_(data_dir=tmp_path / "other")
    assert arena.import_jsonl(other, out)["added"] == 5
    assert arena.import_jsonl(other, out)["added"] == 0
    assert arena.store(other).votes() == store.votes()


def test_import_rejects_a_bad_line_and_adds_nothing(settings, tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = json.dumps(_vote(1))
    broken = json.dumps({**_vote(2), "winner": "A"})
    bad.write_text(good + "\n" + broken + "\n")
    with pytest.raises(arena.ArenaError, match="line 2: winner is 'A'"):
        arena.import_jsonl(settings, bad)
    bad.write_text(good + "\n{not json\n")
    with pytest.raises(arena.ArenaError, match="line 2: not valid JSON"):
        arena.import_jsonl(settings, bad)
    missing = {k: v for k, v in _vote(3).items() if k != "rater"}
    bad.write_text(json.dumps(missing) + "\n")
    with pytest.raises(arena.ArenaError, match="missing keys rater"):
        arena.import_jsonl(settings, bad)
    assert arena.store(settings).count() == 0
