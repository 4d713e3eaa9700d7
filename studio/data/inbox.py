"""The feedback inbox: turn therapists' repairs and votes into training rows, de-identified, with provenance.

* ``preview``: an item as the admin sees it, de-identified, with what was replaced;
* ``accept_sft``: one conversation (the person's message, then the repair or the approved answer)
  appended as a new version of a stored dataset;
* ``accept_preference``: ``{"prompt", "chosen", "rejected"}`` rows (TRL's conversational preference
  format) appended to ``<data>/preferences/<name>.jsonl``;
* ``reject``.

Each item is decided once (``studio.compare.feedback.mark``); rows carry ``provenance`` (source,
feedback id, battle id, rater, vote, time).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading

from studio.compare.feedback import FeedbackError, get_item, mark, reopen
from studio.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
_append_lock = threading.Lock()


def _deidentify(messages: list[dict]) -> tuple[list[dict], list]:
    from studio.data.deid import deidentify_conversation

    return deidentify_conversation(messages)


def _approved_answer(item: dict) -> str:
    """The assistant turn an SFT row gets: the repair, else the answer the rater approved."""
    if item["repair"]:
        return item["repair"]
    chosen = {"a": item["response_a"], "b": item["response_b"], "up": item["response_a"]}.get(item["vote"])
    if not chosen:
        raise FeedbackError(f"Item {item['id']} has no approved answer ({item['vote']} without a repair); "
                            "accept it into a preference set or reject it.")
    return chosen


def _pairs(item: dict) -> list[tuple[str, str]]:
    """(chosen, rejected) answer pairs of an item; none for ties and approvals without a repair."""
    answers = {"a": item["response_a"], "b": item["response_b"]}
    if item["source"] == "chat":
        return [(item["repair"], item["response_a"])] if item["repair"] and item["vote"] == "down" else []
    if item["vote"] in answers:
        loser = answers["b" if item["vote"] == "a" else "a"]
        return [(item["repair"] or answers[item["vote"]], loser)]
    return [(item["repair"], answer) for answer in answers.values() if item["repair"] and answer] if item["repair"] else []


def provenance(item: dict) -> dict:
    return {k: item[k] for k in ("source", "battle_id", "rater", "vote", "ts") if item.get(k)} | {"feedback_id": item["id"]}


def preview(settings: Settings, item_id: int) -> dict:
    item = get_item(settings, item_id)
    shown = [{"role": "user", "content": item["prompt"]}, {"role": "assistant", "content": item["response_a"]}]
    if item["response_b"]:
        shown.append({"role": "assistant", "content": item["response_b"]})
    if item["repair"]:
        shown.append({"role": "assistant", "content": item["repair"]})
    clean, replaced = _deidentify(shown)
    return {"item": item, "messages": clean, "replaced": replaced}


def accept_sft(settings: Settings, item_id: int, dataset: str, admin: str) -> dict:
    from studio.data.store import DatasetStore

    _check_new(get_item(settings, item_id))
    name = _checked_name(dataset, "dataset")
    with _decided(settings, item_id, admin, f"dataset:{name}") as item:
        messages, replaced = _deidentify([{"role": "user", "content": item["prompt"]},
                                          {"role": "assistant", "content": _approved_answer(item)}])
        row = {"messages": messages, "tags": ["feedback"], "provenance": provenance(item)}
        version = DatasetStore(settings).save(name, [row], append=True, note=f"feedback item {item_id}", author=admin,
                                              source="feedback inbox")
    return {"dataset": name, "version": version, "replaced": len(replaced)}


def accept_preference(settings: Settings, item_id: int, pref_set: str, admin: str) -> dict:
    from studio.util.io import atomic_write_text

    _check_new(get_item(settings, item_id))
    name = _checked_name(pref_set, "preference set")
    path = preference_path(settings, name)
    with _decided(settings, item_id, admin, f"preferences:{name}") as item:
        pairs = _pairs(item)
        if not pairs:
            raise FeedbackError(f"Item {item_id} makes no preference pair ({item['vote']} without a repair).")
        rows = []
        for chosen, rejected in pairs:
            (user, good, bad), _ = _deidentify([{"role": "user", "content": item["prompt"]},
                                                {"role": "assistant", "content": chosen},
                                                {"role": "assistant", "content": rejected}])
            rows.append({"prompt": [user], "chosen": [good], "rejected": [bad], "provenance": provenance(item)})
        with _append_lock:
            old = path.read_text(encoding="utf-8") if path.is_file() else ""
            atomic_write_text(path, old + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return {"preference_set": name, "path": str(path), "rows": len(rows)}


@contextlib.contextmanager
def _decided(settings: Settings, item_id: int, admin: str, target: str):
    """Mark the item accepted first (a second click is refused), then read it again: once accepted, a rater
    can no longer change its repair, so the row is built from what is stored. Reopened if anything fails."""
    mark(settings, item_id, "accepted", admin, target)
    try:
        yield get_item(settings, item_id)
    except BaseException:
        reopen(settings, item_id)
        raise


def reject(settings: Settings, item_id: int, admin: str) -> None:
    mark(settings, item_id, "rejected", admin)


def preference_path(settings: Settings, name: str):
    return settings.preferences_dir / f"{_checked_name(name, 'preference set')}.jsonl"


def _check_new(item: dict) -> None:
    if item["status"] != "new":
        raise FeedbackError(f"Feedback item {item['id']} was already {item['status']}.")


def _checked_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name) or ".." in name:
        raise FeedbackError(f"Give the {what} a name of letters, digits, '.', '_' or '-' (up to 80 characters).")
    return name
