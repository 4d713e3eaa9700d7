"""Rates and paired differences of a report card."""

from __future__ import annotations

from studio.eval.stats import paired_difference, rate, wilson


def test_wilson_interval_is_sound_at_the_edges():
    assert wilson(0, 10)[0] == 0.0 and 0.2 < wilson(0, 10)[1] < 0.35
    assert wilson(10, 10)[1] == 1.0 and wilson(10, 10)[0] > 0.65
    low, high = wilson(5, 10)
    assert low < 0.5 < high
    assert wilson(0, 0) == [0.0, 1.0]
    assert rate([1, 0, 1, 1]) == {"rate": 0.75, "ci95": wilson(3, 4), "n": 4, "passed": 3}


def test_identical_outcomes_give_no_difference():
    outcomes = [1, 0, 1, 1, 0, 0, 1]
    assert paired_difference(outcomes, outcomes) == {"value": 0.0, "ci95": [0.0, 0.0], "significant": False}


def test_a_clear_difference_is_significant_and_a_small_one_is_not():
    better, worse = [1] * 18 + [0] * 2, [0] * 16 + [1] * 4
    clear = paired_difference(worse, better)
    assert clear["significant"] and clear["value"] < 0 and clear["ci95"][1] < 0
    slight = paired_difference([1, 0] * 10, [1, 0] * 9 + [1, 1])
    assert not slight["significant"] and slight["ci95"][0] < 0 <= slight["ci95"][1]


def test_too_few_prompts_are_never_significant():
    one = paired_difference([0], [1])
    assert one["value"] == -1.0 and one["ci95"] == [-1.0, -1.0] and not one["significant"] and "not tested" in one["note"]
    assert paired_difference([0] * 5, [1] * 5)["significant"]
