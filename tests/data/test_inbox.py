"""The feedback inbox: items become de-identified training rows with provenance, each decided once."""

from __future__ import annotations

import json

import pytest

from studio.compare.feedback import FeedbackError, add_chat_feedback, add_repair, list_items
from studio.data.inbox import accept_preference, accept_sft, preference_path, preview, reject
from studio.data.store import DatasetStore
from tests.compare.test_feedback import DOSE, battle

PII_REPAIR = ("Maria, I hear you. Please ask Dr. Alvarez at the clinic before changing anything; you can reach "
              "them at 415-555-0199. If you feel unsafe, call or text 988.")


def test_an_arena_repair_becomes_a_deidentified_sft_row_with_provenance(settings):
    battle_id = battle(settings, winner="b")
    add_repair(settings, battle_id, PII_REPAIR, "dr-lee")
    [item] = list_items(settings)
    shown = preview(settings, item["id"])
    text = json.dumps(shown["messages"])
    assert "Alvarez" not in text and "415-555-0199" not in text and "988" in text and shown["replaced"]
    out = accept_sft(settings, item["id"], "clinic-repairs", "admin")
    [row] = DatasetStore(settings).load("clinic-repairs")
    assert out == {"dataset": "clinic-repairs", "version": 1, "replaced": out["replaced"]} and out["replaced"] >= 2
    assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
    assert "Alvarez" not in row["messages"][1]["content"] and "988" in row["messages"][1]["content"]
    assert row["provenance"] | {"ts": None} == {"source": "arena", "battle_id": battle_id, "rater": "dr-lee", "vote": "b",
                                                "feedback_id": item["id"], "ts": None}
    with pytest.raises(FeedbackError, match="already accepted"):
        accept_sft(settings, item["id"], "clinic-repairs", "admin")
    assert list_items(settings, status="accepted")[0]["target"] == "dataset:clinic-repairs"


def test_votes_and_repairs_become_preference_pairs(settings):
    decisive = battle(settings, winner="b")
    add_repair(settings, decisive, "Please ask your prescriber first.", "dr-lee")
    both_bad = battle(settings, winner="both_bad")
    add_repair(settings, both_bad, "That question belongs with your care team.", "dr-lee")
    chat = add_chat_feedback(settings, "base", "Can I take more?", DOSE, "down", "dr-kim", repair="Ask your prescriber.")
    items = {i["battle_id"] or "chat": i["id"] for i in list_items(settings)}
    assert accept_preference(settings, items[decisive], "pairs", "admin")["rows"] == 1
    assert accept_preference(settings, items[both_bad], "pairs", "admin")["rows"] == 2  # the repair beats both answers
    assert accept_preference(settings, chat["id"], "pairs", "admin")["rows"] == 1
    rows = [json.loads(line) for line in preference_path(settings, "pairs").read_text().splitlines()]
    assert len(rows) == 4
    assert all(set(r) == {"prompt", "chosen", "rejected", "provenance"} for r in rows)
    assert rows[0]["prompt"] == [{"role": "user", "content": "Can I take more?"}]
    assert rows[0]["chosen"][0]["content"] == "Please ask your prescriber first." and rows[0]["rejected"][0]["content"] == DOSE
    assert rows[-1]["provenance"]["source"] == "chat"


def test_what_cannot_become_a_row_is_refused_and_reject_is_final(settings):
    tie = battle(settings, winner="tie")
    add_repair(settings, tie, "Both were fine, but I'd add: ask your prescriber.", "dr-lee")
    up = add_chat_feedback(settings, "base", "How do I journal?", "Three lines a day.", "up", "dr-kim")
    with pytest.raises(FeedbackError, match="no preference pair"):
        accept_preference(settings, up["id"], "pairs", "admin")
    with pytest.raises(FeedbackError, match="name of letters"):
        accept_sft(settings, up["id"], "../escape", "admin")
    assert list_items(settings, status="new")  # a refused accept leaves the items waiting
    reject(settings, up["id"], "admin")
    with pytest.raises(FeedbackError, match="already"):
        reject(settings, up["id"], "admin")
    assert not preference_path(settings, "pairs").exists()
