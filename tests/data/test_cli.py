"""`python -m studio data ...` in-process: JSON shape, exit codes 0/1/2, convert/split/stats/import."""

from __future__ import annotations

import json

import pytest

from studio.cli import main

GOOD = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}], "tags": ["t"]}


@pytest.fixture(autouse=True)
def _data_dir(settings, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("HF_TOKEN", raising=False)


def run(capsys, *argv) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_validate_exit_codes_and_json(tmp_path, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    code, data = run(capsys, "data", "validate", str(good), "--max-length", "512", "--json")
    assert code == 0 and data["examples"] == 1 and data["errors"] == []
    assert data["stats"]["tokens"]["max_length"] == 512

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(GOOD) + "\n\n{nope\n")
    code, data = run(capsys, "data", "validate", str(bad), "--no-tokens", "--json")
    assert code == 1 and data["errors"] == [{"line": 3, "code": "invalid_json", "message": data["errors"][0]["message"]}]
    assert set(data) == {"examples", "errors", "warnings", "stats"}

    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\x00\xff\x00")
    code, data = run(capsys, "data", "validate", str(binary), "--no-tokens", "--json")
    assert code == 2 and "binary" in data["error"]
    code, data = run(capsys, "data", "validate", str(tmp_path / "missing.jsonl"), "--no-tokens", "--json")
    assert code == 2 and "not found" in data["error"]


def test_convert_with_text_split_and_stats(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("user,assistant,tags\n" + "".join(f"q{i},a{i},t{i % 3}\n" for i in range(10)))
    out = tmp_path / "out.jsonl"
    code, data = run(capsys, "data", "convert", str(src), "--out", str(out), "--with-text", "--json")
    assert code == 0 and data["examples"] == 10
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[0]["text"].startswith("<|im_start|>system") and rows[0]["messages"][0] == {"role": "user", "content": "q0"}

    code, data = run(capsys, "data", "split", str(out), "--eval-fraction", "0.2", "--seed", "3", "--out", str(tmp_path / "s"), "--json")
    assert code == 0 and (data["train"], data["eval"]) == (8, 2)
    assert (tmp_path / "s" / "eval.jsonl").read_text().count("\n") == 2

    code, data = run(capsys, "data", "stats", str(src), "--json")
    assert code == 0 and data["examples"] == 10 and data["tags"] == {"t0": 4, "t1": 3, "t2": 3}
    assert data["tokens"]["min"] > 0


def test_import_list_export_restore(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(GOOD) + "\n")
    code, data = run(capsys, "data", "import", "mine", str(src), "--json")
    assert code == 0 and data["version"] == 1 and data["format"] == "native"
    run(capsys, "data", "import", "mine", str(src), "--append", "--json")
    code, data = run(capsys, "data", "list", "--json")
    assert [(d["name"], d["version"], d["examples"]) for d in data["datasets"]] == [("mine", 2, 2)]
    code, data = run(capsys, "data", "export", "mine@1", "--out", str(tmp_path / "e.jsonl"), "--json")
    assert data["examples"] == 1
    code, data = run(capsys, "data", "restore", "mine", "1", "--json")
    assert data["version"] == 3
    code, data = run(capsys, "data", "stats", "mine", "--no-tokens", "--json")  # stored dataset as input
    assert data["examples"] == 1


def test_import_failure_is_exit_1_with_message(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text("prompt,reply\nx,y\n")
    code, data = run(capsys, "data", "import", "mine", str(src), "--json")
    assert code == 1 and "missing the column(s) user, assistant" in data["error"]


def test_push_without_token_is_a_clear_error(capsys):
    main(["data", "import", "mine", "examples/dataset/companion-starter.jsonl"])
    capsys.readouterr()
    code, data = run(capsys, "data", "push", "mine", "--repo", "someone/data", "--json")
    assert code == 1 and "No Hugging Face token" in data["error"]
