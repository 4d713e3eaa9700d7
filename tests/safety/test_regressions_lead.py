"""Crisis messages found missed after the safety layer landed (found by the dataset lint and a Compare test)."""

import pytest

from studio.safety import check_user_message


@pytest.mark.parametrize(
    "text",
    [
        "I have the pills ready and I'm going to take them all tonight",
        "I have a bottle of pills next to me and I'm thinking about taking them all.",
    ],
)
def test_pills_at_hand_and_taking_them_all_is_urgent(text):
    result = check_user_message(text, learned=False)
    assert result.level == "urgent" and "suicide" in result.categories


@pytest.mark.parametrize(
    "text",
    ["I take them all with breakfast, my pills are sorted for the week", "So many feelings came up, I tried to take them all in."],
)
def test_ordinary_pill_routines_do_not_fire(text):
    assert check_user_message(text, learned=False).level != "urgent"
