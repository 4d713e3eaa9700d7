"""De-identification: planted details replaced, crisis numbers and medicines kept, consistent placeholders, CLI."""

from __future__ import annotations

import json
import re

import pytest

from bench.bench_deid import load_labelled
from studio.cli import main
from studio.data.deid import deidentify_conversation, deidentify_rows, deidentify_text
from studio.data.deid_rules import TYPES
from studio.safety.resources import known_numbers

ROWS = load_labelled()
# Planted names the small spaCy model does not tag (sentence-initial "Marcus Bell", a bare "Marcus?"):
# measured and reported by bench/bench_deid.py. Anything else left behind fails the test.
KNOWN_MISSES = {"Marcus Bell", "Marcus"}


@pytest.fixture(autouse=True)
def _data_dir(settings, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))


@pytest.fixture(scope="module")
def deidentified() -> list[dict]:
    return deidentify_rows(ROWS)[0]


def test_labelled_set_is_big_and_varied():
    kinds = {s["type"] for r in ROWS for s in r["spans"]}
    assert len(ROWS) >= 150 and kinds == set(TYPES)
    assert sum(not r["spans"] for r in ROWS) >= 20
    for row in ROWS:
        for s in row["spans"]:
            assert row["messages"][s["message"]]["content"][s["start"]:s["end"]] == s["text"]


def test_every_planted_detail_is_replaced(deidentified):
    left = []
    for row, out in zip(ROWS, deidentified, strict=True):
        for s in row["spans"]:
            text = out["messages"][s["message"]]["content"]
            if re.search(rf"(?<!\w){re.escape(s['text'])}(?!\w)", text):
                left.append(s["text"])
    assert set(left) <= KNOWN_MISSES, left
    assert len(left) <= 3


def test_crisis_numbers_medicines_and_ketamine_words_survive(deidentified):
    for row, out in zip(ROWS, deidentified, strict=True):
        joined = "\n".join(m["content"] for m in out["messages"])
        assert all(k in joined for k in row["keep"]), (row["keep"], joined)
    text = ("Call " + ", ".join(known_numbers()) + ". Spravato, esketamine, troche, lozenge, infusion, dissociation, "
            "the K-hole, Lexapro, Zoloft, lamotrigine and ondansetron. Samaritans and Lifeline. See 988lifeline.org.")
    assert deidentify_text(text, {}) == (text, [])


def test_rows_without_details_are_unchanged(deidentified):
    for row, out in zip(ROWS, deidentified, strict=True):
        if not row["spans"]:
            assert out["messages"] == row["messages"]


def test_placeholders_are_consistent_within_a_conversation():
    messages = [
        {"role": "user", "content": "I'm Maya Ortiz. My sister Priya Raman drives me. Text 503-555-0187."},
        {"role": "assistant", "content": "Thanks, Maya. Is Priya Raman free on March 3rd?"},
        {"role": "user", "content": "Yes, Priya Raman is free on March 3rd. Same number: (503) 555-0187."},
    ]
    out, replacements = deidentify_conversation(messages)
    assert out[0]["content"] == "I'm <PERSON_1>. My sister <PERSON_2> drives me. Text <PHONE_1>."
    assert out[1]["content"] == "Thanks, <PERSON_1>. Is <PERSON_2> free on <DATE_1>?"
    assert out[2]["content"] == "Yes, <PERSON_2> is free on <DATE_1>. Same number: <PHONE_1>."
    assert {r["placeholder"] for r in replacements} == {"<PERSON_1>", "<PERSON_2>", "<PHONE_1>", "<DATE_1>"}
    assert all(set(r) == {"type", "placeholder", "start", "end", "message"} for r in replacements)
    assert messages[0]["content"].startswith("I'm Maya")  # the input is not modified


def test_second_pass_changes_nothing_and_numbers_continue():
    once, _ = deidentify_conversation([{"role": "user", "content": "Dr. Okafor and Tom Gallagher met on June 14, 1987."}])
    twice, replacements = deidentify_conversation(once)
    assert twice == once and replacements == []
    more, _ = deidentify_conversation([*once, {"role": "user", "content": "Then Grace Kim called."}])
    assert more[-1]["content"] == "Then <PERSON_3> called."


def test_ages_over_89_only():
    text, _ = deidentify_text("My gran is 93 years old, my dad is 64, and the dose was 90 mg.", {})
    assert text == "My gran is <AGE_1> years old, my dad is 64, and the dose was 90 mg."


def test_rows_report_shape():
    rows, report = deidentify_rows(ROWS[:5])
    assert len(rows) == 5 and set(report) == {"rows", "replaced", "by_type"}
    assert report["rows"] == 5 and list(report["by_type"]) == list(TYPES)
    assert report["replaced"] == sum(report["by_type"].values()) > 0


def _run(capsys, *argv) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_json_shape_and_output(tmp_path, capsys):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps({"messages": r["messages"]}) + "\n" for r in ROWS[:4]))
    code, data = _run(capsys, "data", "deidentify", str(src), "--out", str(dst), "--json")
    assert code == 0 and set(data) == {"rows", "replaced", "by_type"} and data["rows"] == 4
    assert set(data["by_type"]) == set(TYPES) and data["replaced"] == sum(data["by_type"].values())
    written = [json.loads(x) for x in dst.read_text().splitlines()]
    assert len(written) == 4 and "Keisha Brown" not in dst.read_text()
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.parametrize(("content", "code", "needle"), [
    (None, 2, "file not found"),
    ('{"messages": [{"role": "user", "content": "hi"}]}\n{nope\n', 1, "line 2: not valid JSON"),
    ('{"messages": [{"role": "user", "content": "hi"}]}\n\n["a list"]\n', 1, 'line 3: expected an object with a "messages" list'),
    ('{"messages": [{"role": "user"}]}\n', 1, 'line 1: message 1 needs a "role" and a text "content"'),
])
def test_cli_bad_input_names_the_line(tmp_path, capsys, content, code, needle):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    if content is not None:
        src.write_text(content)
    got, data = _run(capsys, "data", "deidentify", str(src), "--out", str(dst), "--json")
    assert got == code and needle in data["error"] and not dst.exists()
