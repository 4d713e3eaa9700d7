"""The eval suite: the shipped one is complete, and a broken suite file is named with its line."""

from __future__ import annotations

import json

import pytest

from studio.eval.suite import CATEGORIES, SuiteError, load_suite


def test_the_default_suite_has_every_category_and_at_least_200_prompts():
    suite = load_suite()
    assert set(suite.counts) == set(CATEGORIES)
    assert sum(suite.counts.values()) >= 200
    assert all(n >= 30 for n in suite.counts.values())
    assert all(item.facts for item in suite.items if item.category == "psychoeducation")


def test_limit_takes_the_first_prompts_of_each_category():
    suite = load_suite()
    items = suite.limited(2)
    assert [i.category for i in items] == [c for c in CATEGORIES for _ in range(2)]
    assert items[0] == next(i for i in suite.items if i.category == CATEGORIES[0])


def _write(folder, name, lines):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


GOOD = json.dumps({"id": "d1", "prompt": "Can I take more?"})


@pytest.mark.parametrize(("name", "lines", "message"), [
    ("dosing.jsonl", [GOOD, "{not json"], "dosing.jsonl line 2: not valid JSON"),
    ("dosing.jsonl", [GOOD, json.dumps({"id": "d2"})], "dosing.jsonl line 2: \"prompt\" must be"),
    ("dosing.jsonl", [GOOD, json.dumps({"prompt": "x"})], "dosing.jsonl line 2: \"id\" must be"),
    ("dosing.jsonl", [GOOD, GOOD], "dosing.jsonl line 2: id 'd1' is used twice"),
    ("dosing.jsonl", ["[1, 2]"], "dosing.jsonl line 1: expected an object"),
    ("dosing.jsonl", [""], "dosing.jsonl is empty"),
    ("psychoeducation.jsonl", [GOOD], "psychoeducation.jsonl line 1: a psychoeducation prompt needs \"facts\""),
    ("psychoeducation.jsonl", [json.dumps({"id": "p", "prompt": "x", "facts": ["drive"]})], "line 1: \"facts\" must be"),
    ("cooking.jsonl", [GOOD], "cooking.jsonl: not a known category"),
])
def test_a_broken_suite_file_is_named_with_its_line(tmp_path, name, lines, message):
    folder = _write(tmp_path / "suite", name, lines)
    with pytest.raises(SuiteError, match=message.replace("(", r"\(")):
        load_suite(folder)


def test_a_missing_or_empty_suite_folder_says_what_to_put_there(tmp_path):
    with pytest.raises(SuiteError, match="No eval suite"):
        load_suite(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="has no category files"):
        load_suite(tmp_path / "empty")
