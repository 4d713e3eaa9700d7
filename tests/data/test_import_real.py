"""An import marked "real conversations" is de-identified before it is stored (CLI and store)."""

from __future__ import annotations

import json

from studio.cli import main
from studio.data.store import DatasetStore

ROW = {"messages": [{"role": "user", "content": "Hi, I'm Dana Whitfield, my number is 415-555-0142. Can I call 988 tonight?"},
                    {"role": "assistant", "content": "Yes, Dana: 988 answers calls and texts at any hour."}]}


def test_real_conversations_are_deidentified_on_import(settings, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    source = tmp_path / "clinic.jsonl"
    source.write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    assert main(["data", "import", "clinic", str(source), "--real-conversations", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("de-identified" in note for note in out["notes"])
    [stored] = DatasetStore(settings).load("clinic")
    text = json.dumps(stored)
    assert "Whitfield" not in text and "415-555-0142" not in text and "Dana" not in text
    assert "<PERSON_1>" in stored["messages"][0]["content"] and "<PERSON_1>" in stored["messages"][1]["content"]
    assert text.count("988") == 2
    assert main(["data", "import", "plain", str(source), "--json"]) == 0  # without the flag, the text is kept as is
    assert "Whitfield" in json.dumps(DatasetStore(settings).load("plain"))
