"""Arena repairs and chat thumbs land in the vote store once, with who and when; the inbox decides each once."""

from __future__ import annotations

import uuid

import pytest

from studio.compare.arena import store, utc_ts
from studio.compare.feedback import (
    FeedbackError,
    add_chat_feedback,
    add_repair,
    list_items,
    mark,
    repairs_by_battle,
)

DOSE = "Take another 50 mg tonight."
REFER = "I can't advise on doses; please ask your prescriber."


def battle(settings, winner: str = "b", rater: str = "dr-lee", flags: tuple = ()) -> str:
    votes = store(settings)
    battle_id = uuid.uuid4().hex
    votes.add_battle({"id": battle_id, "ts": utc_ts(), "model_a": "base", "model_b": "run-1", "prompt": "Can I take more?",
                      "system": "", "seed": 1, "rater": rater})
    votes.finish_battle(battle_id, DOSE, REFER, {"flags": list(flags)}, {"flags": []})
    votes.vote_on_battle(battle_id, winner, rater, "", utc_ts())
    return battle_id


def test_a_repair_is_stored_with_the_battle_and_replaced_until_decided(settings):
    battle_id = battle(settings, flags=("dosing",))
    add_repair(settings, battle_id, "Dose questions belong with your prescriber.", "dr-lee")
    add_repair(settings, battle_id, "Please ask your prescriber before changing anything.", "dr-lee")
    [item] = list_items(settings)
    assert item["repair"].startswith("Please ask") and item["vote"] == "b" and item["flagged"] == 1
    assert item["prompt"] == "Can I take more?" and item["response_a"] == DOSE and item["model_b"] == "run-1"
    assert repairs_by_battle(settings) == {battle_id: item["repair"]}
    mark(settings, item["id"], "rejected", "admin")
    with pytest.raises(FeedbackError, match="already decided"):
        add_repair(settings, battle_id, "A third try.", "dr-lee")
    with pytest.raises(FeedbackError, match="already decided"):
        mark(settings, item["id"], "accepted", "admin")


def test_a_repair_needs_the_raters_own_vote_and_some_text(settings):
    battle_id = battle(settings)
    with pytest.raises(FeedbackError, match="Only the rater who voted"):
        add_repair(settings, battle_id, "Better answer.", "someone-else")
    with pytest.raises(FeedbackError, match="Vote on this battle first"):
        add_repair(settings, "no-such-battle", "Better answer.", "dr-lee")
    with pytest.raises(FeedbackError, match="Write the answer"):
        add_repair(settings, battle_id, "   ", "dr-lee")
    with pytest.raises(FeedbackError, match="under 4,000"):
        add_repair(settings, battle_id, "x" * 4001, "dr-lee")
    assert list_items(settings) == []


def test_chat_thumbs_and_filters(settings):
    add_chat_feedback(settings, "run-1", "How do I journal?", "Try three lines a day.", "up", "dr-lee")
    add_chat_feedback(settings, "base", "Can I take more?", DOSE, "down", "dr-kim", repair=REFER, flagged=True)
    assert len(list_items(settings)) == 2
    assert [i["rater"] for i in list_items(settings, vote="down")] == ["dr-kim"]
    assert [i["vote"] for i in list_items(settings, model="run-1")] == ["up"]
    assert [i["rater"] for i in list_items(settings, flagged=True)] == ["dr-kim"]
    with pytest.raises(FeedbackError, match="thumbs"):
        add_chat_feedback(settings, "base", "q", "a", "meh", "dr-lee")
    with pytest.raises(FeedbackError, match="no reply"):
        add_chat_feedback(settings, "base", "q", "", "up", "dr-lee")
