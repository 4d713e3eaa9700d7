"""Each import format, auto-detection with an override, and bad input with clear messages."""

from __future__ import annotations

import json

import pytest

from studio.data.files import FileReadError
from studio.data.formats import ImportFailed, load_conversations

NATIVE = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}], "tags": ["t"]}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(rows):
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def test_native_jsonl_is_kept_as_is(tmp_path):
    result = load_conversations(write(tmp_path, "d.jsonl", jsonl([NATIVE, NATIVE])))
    assert result.format == "native" and result.conversations == [NATIVE, NATIVE]


def test_openai_jsonl_drops_extra_keys_and_maps_developer(tmp_path):
    row = {"messages": [{"role": "developer", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "U"}]},
                        {"role": "assistant", "content": "A", "weight": 1}]}
    result = load_conversations(write(tmp_path, "o.jsonl", jsonl([row])))
    assert result.format == "openai"
    assert result.conversations == [{"messages": NATIVE["messages"]}]
    assert any("weight" in note for note in result.notes)


def test_sharegpt(tmp_path):
    row = {"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "U"}, {"from": "gpt", "value": "A"}]}
    result = load_conversations(write(tmp_path, "s.json", json.dumps([row])))  # a JSON array works too
    assert result.format == "sharegpt" and result.conversations == [{"messages": NATIVE["messages"]}]


def test_sharegpt_unknown_speaker_names_row_and_speaker(tmp_path):
    rows = [{"conversations": [{"from": "human", "value": "U"}, {"from": "gpt", "value": "A"}]},
            {"conversations": [{"from": "human", "value": "U"}, {"from": "narrator", "value": "A"}]}]
    with pytest.raises(ImportFailed, match=r"line 2: turn 2 has unknown speaker 'narrator'"):
        load_conversations(write(tmp_path, "s.jsonl", jsonl(rows)))


def test_alpaca_with_input_and_system(tmp_path):
    row = {"instruction": "U", "input": "more", "output": "A", "system": "S"}
    result = load_conversations(write(tmp_path, "a.jsonl", jsonl([row])))
    assert result.format == "alpaca"
    assert result.conversations[0]["messages"][1] == {"role": "user", "content": "U\n\nmore"}


def test_csv_with_optional_system_and_tags(tmp_path):
    text = 'user,assistant,system,tags\n"U, with comma",A,S,"prep; sleep"\n'
    result = load_conversations(write(tmp_path, "c.csv", text))
    assert result.format == "csv"
    assert result.conversations == [{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U, with comma"},
                                                  {"role": "assistant", "content": "A"}], "tags": ["prep", "sleep"]}]


def test_csv_missing_columns_is_named(tmp_path):
    with pytest.raises(ImportFailed, match=r"c.csv: line 1 \(header\) is missing the column\(s\) assistant; found: user, reply"):
        load_conversations(write(tmp_path, "c.csv", "user,reply\nhi,hello\n"))


def test_csv_empty_cell_names_the_line(tmp_path):
    with pytest.raises(ImportFailed, match="line 3: empty assistant cell"):
        load_conversations(write(tmp_path, "c.csv", "user,assistant\nhi,hello\nhey,\n"))


def test_hf_dataset_saved_to_disk(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list([{"instruction": "U", "input": "", "output": "A"}] * 3)
    ds.save_to_disk(str(tmp_path / "hfds"))
    result = load_conversations(tmp_path / "hfds")
    assert result.format == "hf" and len(result.conversations) == 3
    assert result.conversations[0]["messages"] == [{"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}]


def test_hub_id_offline_is_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ImportFailed, match="offline"):
        load_conversations("someone/some-dataset", "hf")


def test_format_override_beats_detection(tmp_path):
    path = write(tmp_path, "d.jsonl", jsonl([{"user": "U", "assistant": "A"}]))
    assert load_conversations(path).format == "csv"  # detected as user/assistant rows
    with pytest.raises(ImportFailed, match="could not be read as sharegpt"):
        load_conversations(path, "sharegpt")


def test_undetectable_rows_say_which_keys(tmp_path):
    with pytest.raises(ImportFailed, match=r"cannot tell the format from line 1 \(keys: prompt, reply\)"):
        load_conversations(write(tmp_path, "x.jsonl", jsonl([{"prompt": "p", "reply": "r"}])))


def test_invalid_json_lines_are_listed(tmp_path):
    text = json.dumps(NATIVE) + "\n\n{oops\n" + json.dumps(NATIVE) + "\n[unclosed\n"
    with pytest.raises(ImportFailed, match=r"2 line\(s\) are not valid JSON: line 3 .*line 5"):
        load_conversations(write(tmp_path, "d.jsonl", text))


@pytest.mark.parametrize("content,needle", [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
                                             (b'{"a": "\xff"}', "not UTF-8 text: byte 0xff at line 1")])
def test_bad_files(tmp_path, content, needle):
    path = tmp_path / "up.jsonl"
    path.write_bytes(content)
    with pytest.raises(FileReadError, match=needle):
        load_conversations(path)


def test_size_limit(tmp_path):
    path = write(tmp_path, "d.jsonl", jsonl([NATIVE] * 50))
    with pytest.raises(FileReadError, match="over the"):
        load_conversations(path, limit_bytes=500)


def test_deep_json_and_huge_csv_cells_get_messages_not_tracebacks():
    """Issue 22: JSON nested 10,000 deep and CSV cells over 128 KB used to raise RecursionError / csv.Error."""
    from studio.data.formats import ImportFailed, parse_json_rows
    from studio.data.formats import _from_csv as from_csv

    with pytest.raises(ImportFailed, match="deep.json: the JSON is nested too deeply"):
        parse_json_rows("[" * 10000 + "]" * 10000, "deep.json")
    with pytest.raises(ImportFailed, match=r"deep.jsonl: 1 line\(s\) are not valid JSON: line 2 \(nested too deeply\)"):
        parse_json_rows('{"messages": []}\n' + '{"a": ' * 10000 + "1" + "}" * 10000 + "\n", "deep.jsonl")
    with pytest.raises(ImportFailed, match="big.csv: line 2: field larger than field limit"):
        from_csv("user,assistant\n" + "x" * 200_000 + ",y\n", "big.csv")
