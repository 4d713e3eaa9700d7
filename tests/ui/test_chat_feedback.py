"""Chat ratings: the rated reply is found inside a grouped bubble, and a second click withdraws the rating."""

from __future__ import annotations

from studio.compare.feedback import add_chat_feedback, list_items, retract_chat_rating
from studio.ui.tabs.chat_feedback import _turn_pair

HISTORY = [
    {"role": "user", "content": "How do I journal?"},
    {"role": "assistant", "content": "AI companion, not a therapist.", "metadata": {"title": "About this companion"}},
    {"role": "assistant", "content": "Try three lines a day."},
    {"role": "assistant", "content": "[1] journal.md", "metadata": {"title": "Sources"}},
    {"role": "user", "content": "Thanks"},
    {"role": "assistant", "content": "You're welcome."},
]


def test_the_first_reply_is_rated_even_when_its_bubble_starts_with_the_disclosure():
    assert _turn_pair(HISTORY, 1) == ("How do I journal?", "Try three lines a day.")  # the bubble reports index 1
    assert _turn_pair(HISTORY, 2) == ("How do I journal?", "Try three lines a day.")
    assert _turn_pair(HISTORY, [5, None]) == ("Thanks", "You're welcome.")
    assert _turn_pair(HISTORY, 0) == ("", "") and _turn_pair(HISTORY, 3) == ("", "") and _turn_pair(HISTORY, 9) == ("", "")


def test_switching_or_withdrawing_a_thumb_leaves_one_rating_or_none(settings):
    add_chat_feedback(settings, "base", "How do I journal?", "Try three lines a day.", "up", "dr-lee")
    add_chat_feedback(settings, "base", "How do I journal?", "Try three lines a day.", "down", "dr-lee")
    assert [i["vote"] for i in list_items(settings)] == ["down"]
    assert retract_chat_rating(settings, "dr-lee", "How do I journal?", "Try three lines a day.") == 1
    assert list_items(settings) == []
