"""Preference pairs from arena votes (and repairs), in TRL's conversational preference format.

A row is ``{"prompt": [{"role": "user", ...}], "chosen": [{"role": "assistant", ...}], "rejected": [...],
"provenance": {"source": "arena", "kind", "vote_id", "battle_id", "rater", "ts", "model_chosen", "model_rejected"}}``.

From each vote (``{"prompt", "response_a", "response_b", "winner", "repair"?, ...}``):

* ``a`` / ``b``: the winner is chosen over the loser;
* ``tie``: no pair (the rater saw no difference);
* ``both_bad``: no pair, unless a repair exists;
* a repair (any winner): the repair is chosen over each shown answer (two rows).

A pair whose chosen and rejected texts are the same is skipped and counted. Votes come from a JSONL
file (errors name the line) or from the studio's vote store, excluded raters left out; a ``repairs``
table or a ``repair`` column is read when the store has one. The written set is de-identified by
``studio.data.deid`` when that module exists; ``deidentified`` says whether it was.

The same module checks a preference JSONL before DPO training (``read_pairs``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.compare.votes import WINNERS
from studio.settings import Settings
from studio.util.errors import UserError

VOTE_REQUIRED = ("prompt", "response_a", "response_b", "winner")
VOTE_OPTIONAL = ("model_a", "model_b", "rater", "ts", "comment", "system", "repair", "battle_id", "vote_id")
PAIR_KEYS = ("prompt", "chosen", "rejected")
PROMPT_ROLES = ("system", "user", "assistant")
SET_REF = "preferences/"  # how a stored preference set is named where a dataset is chosen: preferences/<name>
# Column names a repairs table may use: the vote it repairs, and the repaired answer.


class PreferenceError(UserError, ValueError):
    """Votes or pairs that cannot be used; the message names the line and what to change."""


@dataclass
class PairSet:
    rows: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deidentified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": len(self.rows), **self.counts, "deidentified": self.deidentified}


# --- reading votes ---------------------------------------------------------------------------------
def preference_sets(settings: Settings) -> list[str]:
    """The stored preference sets (the feedback inbox's), as references: ``preferences/<name>``."""
    return [SET_REF + path.stem for path in sorted(settings.preferences_dir.glob("*.jsonl"))]


def preference_set_path(settings: Settings, ref: str) -> Path | None:
    """The file of a ``preferences/<name>`` reference; None when ``ref`` is not one."""
    name = ref[len(SET_REF):] if ref.startswith(SET_REF) else ""
    if not name or "/" in name or name.startswith("."):
        return None
    return settings.preferences_dir / f"{name}.jsonl"


def known_models(settings: Settings) -> set[str]:
    """Names a vote may carry: base, this studio's runs, or a hub id / folder (anything with a slash)."""
    from studio.compare.models import model_choices

    runs = {p.name for p in settings.runs_dir.iterdir() if p.is_dir()} if settings.runs_dir.is_dir() else set()
    return set(model_choices(settings)) | runs


def check_vote(record: Any, where: str, models: set[str] | None = None) -> dict:
    """One vote record, checked; returns it with every known key (absent optional ones are None)."""
    if not isinstance(record, dict):
        raise PreferenceError(f"{where}: expected a JSON object with {', '.join(VOTE_REQUIRED)}.")
    missing = [k for k in VOTE_REQUIRED if not isinstance(record.get(k), str) or not record[k].strip()]
    if missing:
        raise PreferenceError(f"{where}: missing or empty {', '.join(missing)} (each vote needs "
                              f"{', '.join(VOTE_REQUIRED)}; repair is optional).")
    if record["winner"] not in WINNERS:
        raise PreferenceError(f"{where}: winner is {record['winner']!r}; use one of {', '.join(WINNERS)}.")
    for key in ("model_a", "model_b"):
        name = record.get(key)
        if name is None:
            continue
        if not isinstance(name, str) or not name.strip():
            raise PreferenceError(f"{where}: {key} must be a model name.")
        if models is not None and name not in models and "/" not in name:
            raise PreferenceError(f"{where}: {key} {name!r} is not a model this studio knows "
                                  f"(base, a run id in {_short(models)}, or a hub id / folder).")
    repair = record.get("repair")
    if repair is not None and not isinstance(repair, str):
        raise PreferenceError(f"{where}: repair must be text (the corrected answer) or absent.")
    return {k: record.get(k) for k in (*VOTE_REQUIRED, *VOTE_OPTIONAL)}


def _json_lines(text: str):
    """(1-based line number, parsed object or None, error message or None) for each non-empty line.

    split("\\n"), not splitlines(): JSON strings may hold U+2028 and other characters splitlines breaks on."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number}: not valid JSON ({exc.msg})."


def _short(models: set[str]) -> str:
    names = sorted(models)
    return ", ".join(names[:6]) + (f" (+{len(names) - 6} more)" if len(names) > 6 else "")


def read_votes_file(path: Path | str, models: set[str] | None = None) -> list[dict]:
    """Votes from a JSONL file; the first bad line is an error naming it (1-based)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PreferenceError(f"Votes file {path} does not exist; give a votes JSONL (arena export) or 'store'.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PreferenceError(f"Votes file {path} cannot be read ({exc}).") from None
    votes = []
    for number, record, bad_json in _json_lines(text):
        if bad_json:
            raise PreferenceError(bad_json)
        vote = check_vote(record, f"line {number}", models)
        vote["vote_id"] = vote["vote_id"] if vote["vote_id"] is not None else f"line-{number}"
        votes.append(vote)
    return votes


def read_store_votes(settings: Settings) -> list[dict]:
    """The vote store's votes (excluded raters left out), with their ids, the battle's system prompt and the
    raters' better answers from the arena (``studio.compare.feedback``; rejected ones are left out)."""
    from studio.compare.feedback import open_store, repairs_by_battle
    from studio.compare.votes import EXCLUDED

    store = open_store(settings)
    with store.connect() as conn:
        rows = conn.execute(
            "SELECT v.id AS vote_id, v.battle_id, v.model_a, v.model_b, v.winner, v.prompt, v.response_a, v.response_b, "
            "v.rater, v.ts, v.comment, b.system AS system FROM votes v LEFT JOIN battles b ON b.id = v.battle_id "
            f"WHERE casefold(v.rater) NOT IN ({EXCLUDED}) ORDER BY v.id"
        ).fetchall()
    repairs = repairs_by_battle(settings)
    votes = []
    for row in rows:
        vote = dict(row)
        vote["repair"] = repairs.get(vote["battle_id"])
        votes.append(check_vote(vote, f"vote {vote['vote_id']}"))
    return votes


# --- votes -> pairs --------------------------------------------------------------------------------
def pairs_from_votes(votes: list[dict]) -> PairSet:
    out = PairSet(counts={"votes": len(votes), "decisive": 0, "ties": 0, "both_bad": 0, "repairs": 0,
                          "dropped_ties": 0, "dropped_both_bad": 0, "skipped_identical": 0})
    c = out.counts
    for vote in votes:
        winner = vote["winner"]
        c["decisive" if winner in ("a", "b") else "ties" if winner == "tie" else "both_bad"] += 1
        candidates = []
        if winner in ("a", "b"):
            loser = "b" if winner == "a" else "a"
            candidates.append(("vote", vote[f"response_{winner}"], vote.get(f"model_{winner}"),
                               vote[f"response_{loser}"], vote.get(f"model_{loser}")))
        repair = (vote.get("repair") or "").strip()
        if repair:
            c["repairs"] += 1
            candidates += [("repair", repair, "repair", vote[f"response_{side}"], vote.get(f"model_{side}"))
                           for side in ("a", "b")]
        elif winner in ("tie", "both_bad"):
            c["dropped_ties" if winner == "tie" else "dropped_both_bad"] += 1
        for kind, chosen, model_chosen, rejected, model_rejected in candidates:
            if chosen.strip() == rejected.strip():
                c["skipped_identical"] += 1
                continue
            out.rows.append(_row(vote, kind, chosen, model_chosen, rejected, model_rejected))
    return out


def _row(vote: dict, kind: str, chosen: str, model_chosen, rejected: str, model_rejected) -> dict:
    prompt = ([{"role": "system", "content": vote["system"]}] if vote.get("system") else []) + \
        [{"role": "user", "content": vote["prompt"]}]
    provenance = {"source": "arena", "kind": kind, "vote_id": vote.get("vote_id"), "battle_id": vote.get("battle_id"),
                  "rater": vote.get("rater"), "ts": vote.get("ts"), "model_chosen": model_chosen,
                  "model_rejected": model_rejected}
    return {"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}], "provenance": provenance}


def no_pairs_message(pairs: PairSet) -> str:
    c = pairs.counts
    return (f"No preference pairs: of {c['votes']} vote(s), {c['ties']} were ties and {c['both_bad']} both bad "
            f"({c['dropped_ties'] + c['dropped_both_bad']} without a repair), {c['decisive']} decisive"
            + (f", {c['skipped_identical']} pair(s) had identical answers" if c["skipped_identical"] else "")
            + ". Pairs need a vote for a or b, or a repair.")


def deidentify(rows: list[dict]) -> tuple[list[dict], bool]:
    """Rows through ``studio.data.deid``: one call per row (prompt + chosen + rejected as one message list), so a
    name replaced in the prompt is replaced the same way in both answers. -> (rows, True)."""
    from studio.data.deid import deidentify_conversation

    out = []
    for row in rows:
        parts = (row["prompt"], row["chosen"], row["rejected"])
        messages, _ = deidentify_conversation([dict(m) for part in parts for m in part])
        sizes = [len(p) for p in parts]
        split = [messages[:sizes[0]], messages[sizes[0]:sizes[0] + sizes[1]], messages[sizes[0] + sizes[1]:]]
        out.append({**row, **dict(zip(PAIR_KEYS, split, strict=True))})
    return out, True


def write_pairs(path: Path | str, rows: list[dict]) -> Path:
    from studio.util.io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


# --- checking a preference JSONL for training ------------------------------------------------------
def pair_problems(row: Any) -> list[str]:
    """What is wrong with one preference row (TRL's conversational or plain-text layout); empty = fine."""
    if not isinstance(row, dict):
        return ["expected a JSON object with prompt, chosen and rejected."]
    missing = [k for k in PAIR_KEYS if k not in row]
    if missing and "messages" in row:
        return ["this is a conversation (messages) row; method dpo needs prompt/chosen/rejected pairs "
                "(`python -m studio data preferences` makes them from arena votes), or train it with method sft."]
    if missing:
        return [f"missing {', '.join(missing)} (a preference row needs prompt, chosen and rejected)."]
    kinds = {k: isinstance(row[k], str) for k in PAIR_KEYS}
    if len(set(kinds.values())) > 1:
        return ["prompt, chosen and rejected must all be text, or all be message lists (not a mix)."]
    if kinds["prompt"]:
        out = [f"{k} is empty." for k in PAIR_KEYS if not row[k].strip()]
    else:
        out = _messages_problems(row["prompt"], "prompt", PROMPT_ROLES)
        out += _messages_problems(row["chosen"], "chosen", ("assistant",))
        out += _messages_problems(row["rejected"], "rejected", ("assistant",))
        if not out and row["prompt"][-1]["role"] != "user":
            out.append("the prompt must end with a user message (the turn the answers reply to).")
    if not out and _text(row["chosen"]).strip() == _text(row["rejected"]).strip():
        out.append("chosen and rejected are the same text: the pair teaches nothing.")
    return out


def _messages_problems(value: Any, name: str, roles: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not value:
        return [f"{name} must be a non-empty list of messages."]
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in roles:
            return [f"{name}[{i}] must be a message with role {' or '.join(roles)}."]
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            return [f"{name}[{i}] has no text content."]
    return []


def _text(value: str | list[dict]) -> str:
    return value if isinstance(value, str) else "\n".join(m["content"] for m in value)


def read_pairs(path: Path) -> tuple[list[dict], list[str]]:
    """(rows with only prompt/chosen/rejected, errors naming their lines)."""
    rows, errors = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path} cannot be read ({exc})."]
    for number, row, bad_json in _json_lines(text):
        if bad_json:
            errors.append(bad_json)
            continue
        problems = pair_problems(row)
        errors += [f"line {number}: {p}" for p in problems]
        if not problems:
            rows.append({k: row[k] for k in PAIR_KEYS})
    if not rows and not errors:
        errors.append(f"{path} holds no preference pairs.")
    layouts = {isinstance(r["prompt"], str) for r in rows}
    if len(layouts) > 1:
        errors.append("Rows mix plain-text and message-list layouts; use one layout for the whole file.")
    return rows, errors


def looks_like_pairs(path: Path) -> bool:
    """Whether the file's first non-empty line is a preference row (has chosen and rejected)."""
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    return isinstance(row, dict) and "chosen" in row and "rejected" in row
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return False
