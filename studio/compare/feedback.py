"""Therapists' feedback: arena repairs ("what I would have said") and chat thumbs, in the vote store.

Every item keeps the prompt, the answers, the vote, the repair, the rater and the time, in a
``feedback`` table of the arena's SQLite file (same WAL and one-transaction-per-write rules as the
votes). The admin inbox lists items and decides each once: accepted into a dataset as an SFT
conversation (the repair, or the approved answer, as the assistant turn), accepted into a preference
set, or rejected. Whatever enters a dataset is de-identified first (``studio.data.deid``) and carries
its provenance.
"""

from __future__ import annotations

import threading
from pathlib import Path

from studio.compare.arena import ArenaError, store, utc_ts
from studio.settings import Settings

MAX_REPAIR_CHARS = 4000
CHAT_VOTES = ("up", "down")
STATUSES = ("new", "accepted", "rejected")
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,            -- arena | chat
    battle_id TEXT,                  -- arena only
    model_a TEXT NOT NULL,           -- chat: the model that answered
    model_b TEXT,
    prompt TEXT NOT NULL,
    response_a TEXT NOT NULL,
    response_b TEXT,
    vote TEXT NOT NULL,              -- arena: a | b | tie | both_bad; chat: up | down
    repair TEXT NOT NULL DEFAULT '',
    flagged INTEGER NOT NULL DEFAULT 0,  -- an answer carried safety flags
    rater TEXT NOT NULL,
    ts TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    decided_by TEXT,
    decided_at TEXT,
    target TEXT                      -- the dataset or preference set it went into
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_one_repair_per_battle ON feedback(battle_id, rater) WHERE battle_id IS NOT NULL;
"""
_ready: set[Path] = set()
_ready_lock = threading.Lock()


class FeedbackError(ArenaError):
    pass


def open_store(settings: Settings):
    """The vote store, with the feedback table created (once per file and process)."""
    votes = store(settings)
    with _ready_lock:
        if votes.path not in _ready:
            with votes.connect() as conn:
                conn.executescript(SCHEMA)
            _ready.add(votes.path)
    return votes


def _clean_repair(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_REPAIR_CHARS:
        raise FeedbackError(f"Please keep the better answer under {MAX_REPAIR_CHARS:,} characters.")
    return text


def add_repair(settings: Settings, battle_id: str, repair: str, rater: str) -> dict:
    """After voting, the rater's better answer for that battle (saving again replaces it)."""
    repair = _clean_repair(repair)
    if not repair:
        raise FeedbackError("Write the answer you would have given, or edit the winning one, then save.")
    votes = open_store(settings)
    battle = votes.battle((battle_id or "").strip())
    vote = _vote_of(votes, battle_id)
    if not battle or not vote:
        raise FeedbackError("Vote on this battle first; the better answer is saved with your vote.")
    if vote["rater"] != rater:
        raise FeedbackError("Only the rater who voted on this battle can add the better answer.")
    row = {"source": "arena", "battle_id": battle["id"], "model_a": battle["model_a"], "model_b": battle["model_b"],
           "prompt": battle["prompt"], "response_a": battle["response_a"] or "", "response_b": battle["response_b"] or "",
           "vote": vote["winner"], "repair": repair, "flagged": int(_flagged(battle)), "rater": rater, "ts": utc_ts()}
    with votes.transaction() as conn:
        conn.execute("DELETE FROM feedback WHERE battle_id = ? AND rater = ? AND status = 'new'", (battle["id"], rater))
        cur = conn.execute(f"INSERT OR IGNORE INTO feedback ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                           tuple(row.values()))
        if not cur.rowcount:
            raise FeedbackError("This battle's better answer was already decided by an admin; it cannot change now.")
    return row


def add_chat_feedback(settings: Settings, model: str, prompt: str, answer: str, vote: str, rater: str,
                      repair: str = "", flagged: bool = False) -> dict:
    """A thumbs up or down on one chat reply, with an optional better answer."""
    if vote not in CHAT_VOTES:
        raise FeedbackError("Give a thumbs up or a thumbs down.")
    if not (prompt or "").strip() or not (answer or "").strip():
        raise FeedbackError("There is no reply to rate yet.")
    row = {"source": "chat", "battle_id": None, "model_a": model or "base", "model_b": None, "prompt": prompt.strip(),
           "response_a": answer.strip(), "response_b": None, "vote": vote, "repair": _clean_repair(repair),
           "flagged": int(bool(flagged)), "rater": rater, "ts": utc_ts()}
    with open_store(settings).transaction() as conn:
        conn.execute(_SAME_CHAT_RATING, (rater, row["prompt"], row["response_a"]))  # up, then down: one rating
        cur = conn.execute(f"INSERT INTO feedback ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                           tuple(row.values()))
    return row | {"id": cur.lastrowid}


_SAME_CHAT_RATING = ("DELETE FROM feedback WHERE source = 'chat' AND status = 'new' AND rater = ? AND prompt = ? "
                     "AND response_a = ?")


def retract_chat_rating(settings: Settings, rater: str, prompt: str, answer: str) -> int:
    """The person clicked their thumb again: their undecided rating of that reply is withdrawn."""
    with open_store(settings).transaction() as conn:
        return conn.execute(_SAME_CHAT_RATING, (rater, (prompt or "").strip(), (answer or "").strip())).rowcount


def set_chat_repair(settings: Settings, item_id: int, repair: str, rater: str) -> None:
    """The better answer for a rated chat reply, by the person who rated it, while it awaits review."""
    repair = _clean_repair(repair)
    with open_store(settings).transaction() as conn:
        cur = conn.execute("UPDATE feedback SET repair = ? WHERE id = ? AND rater = ? AND source = 'chat' AND status = 'new'",
                           (repair, int(item_id), rater))
    if not cur.rowcount:
        raise FeedbackError("Rate the reply first (thumbs up or down); then the better answer can be saved.")


def list_items(settings: Settings, status: str | None = "new", model: str | None = None, rater: str | None = None,
               vote: str | None = None, flagged: bool | None = None) -> list[dict]:
    clauses, params = [], []
    for column, value in (("status", status), ("rater", rater), ("vote", vote)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if model:
        clauses.append("(model_a = ? OR model_b = ?)")
        params += [model, model]
    if flagged is not None:
        clauses.append("flagged = ?")
        params.append(int(flagged))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    with open_store(settings).connect() as conn:
        rows = conn.execute(f"SELECT * FROM feedback{where} ORDER BY id DESC", params).fetchall()
    return [dict(r) for r in rows]


def get_item(settings: Settings, item_id: int) -> dict:
    with open_store(settings).connect() as conn:
        row = conn.execute("SELECT * FROM feedback WHERE id = ?", (int(item_id),)).fetchone()
    if row is None:
        raise FeedbackError(f"No feedback item {item_id}.")
    return dict(row)


def mark(settings: Settings, item_id: int, status: str, admin: str, target: str = "") -> None:
    """Decide an item once; a second decision is refused (two admins clicking at once)."""
    if status not in STATUSES[1:]:
        raise FeedbackError(f"Unknown decision {status!r}.")
    with open_store(settings).transaction() as conn:
        cur = conn.execute("UPDATE feedback SET status = ?, decided_by = ?, decided_at = ?, target = ? "
                           "WHERE id = ? AND status = 'new'", (status, admin, utc_ts(), target or None, int(item_id)))
    if not cur.rowcount:
        raise FeedbackError(f"Feedback item {item_id} was already decided.")


def reopen(settings: Settings, item_id: int) -> None:
    """Undo a decision whose write failed (the dataset could not be saved): the item is new again."""
    with open_store(settings).transaction() as conn:
        conn.execute("UPDATE feedback SET status = 'new', decided_by = NULL, decided_at = NULL, target = NULL "
                     "WHERE id = ?", (int(item_id),))


def repairs_by_battle(settings: Settings) -> dict[str, str]:
    """battle id -> the latest repair written for it (for preference pairs)."""
    with open_store(settings).connect() as conn:
        rows = conn.execute("SELECT battle_id, repair FROM feedback WHERE source = 'arena' AND repair != '' "
                            "AND status != 'rejected' ORDER BY id").fetchall()
    return {r["battle_id"]: r["repair"] for r in rows}


def winning_answer(settings: Settings, battle_id: str) -> str:
    """The answer the vote chose (empty for a tie or both bad): the starting point of a repair."""
    votes = open_store(settings)
    battle, vote = votes.battle((battle_id or "").strip()), _vote_of(votes, battle_id)
    if not battle or not vote or vote["winner"] not in ("a", "b"):
        return ""
    return battle[f"response_{vote['winner']}"] or ""


def _vote_of(votes, battle_id: str) -> dict | None:
    with votes.connect() as conn:
        row = conn.execute("SELECT winner, rater FROM votes WHERE battle_id = ?", ((battle_id or "").strip(),)).fetchone()
    return dict(row) if row else None


def _flagged(battle: dict) -> bool:
    """True when either stored answer carried safety flags (the store decodes the safety JSON)."""
    return any((battle.get(key) or {}).get("flags") for key in ("safety_a", "safety_b"))
