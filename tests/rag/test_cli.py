"""`python -m studio kb ...` and `chat` with the JSON shapes from the issue (run in-process)."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from tests.rag.helpers import make_pdf


@pytest.fixture
def cli(settings, monkeypatch, capsys):
    for key in ("STUDIO_CHROMA_HOST", "STUDIO_CHROMA_PORT", "STUDIO_EMBEDDER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))

    def run(*argv):
        code = main(list(argv))
        out = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(out[-1]) if out else None

    return run


def test_kb_commands(cli, tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("# Aftercare\n\nRest after the session. Do not drive until the next day.\n")
    pdf = make_pdf(tmp_path / "book.pdf", ["Preparing: arrange a ride home.", "Aftercare: drink water."])

    assert cli("kb", "add", str(guide), str(pdf), "--json") == (
        0, {"added": ["guide.md", "book.pdf"], "unchanged": [], "replaced": [], "chunks": 3})
    assert cli("kb", "add", str(guide), "--json")[1]["unchanged"] == ["guide.md"]

    code, listing = cli("kb", "list", "--json")
    assert code == 0
    docs = {d["doc"]: d for d in listing["documents"]}
    assert set(docs) == {"guide.md", "book.pdf"}
    assert set(docs["book.pdf"]) == {"doc", "chunks", "pages", "added_at"}
    assert (docs["book.pdf"]["pages"], docs["guide.md"]["pages"]) == (2, None)

    code, found = cli("kb", "query", "can I drive after the session", "--k", "2", "--json")
    assert code == 0 and len(found["results"]) == 2
    top = found["results"][0]
    assert set(top) == {"doc", "page", "heading", "score", "text"}
    assert (top["doc"], top["page"], top["heading"]) == ("guide.md", None, "Aftercare")
    assert cli("kb", "query", "drink water", "--k", "1", "--json")[1]["results"][0]["page"] == 2

    assert cli("kb", "remove", "book.pdf", "--json") == (0, {"removed": "book.pdf", "chunks": 2})
    assert [d["doc"] for d in cli("kb", "list", "--json")[1]["documents"]] == ["guide.md"]


def test_kb_errors_are_json_and_exit_nonzero(cli, tmp_path):
    scan = make_pdf(tmp_path / "scan.pdf", [""])
    code, payload = cli("kb", "add", str(scan), "--json")
    assert code == 1 and "no extractable text" in payload["error"]
    code, payload = cli("kb", "remove", "nothing.md", "--json")
    assert code == 1 and "No document named" in payload["error"]
    assert cli("kb", "list", "--json") == (0, {"documents": []})


def test_chat_crisis_prompt_answers_without_a_model(cli):
    code, payload = cli("chat", "--prompt", "I have the pills ready and I am going to end my life tonight",
                        "--model", "no-such-org/no-such-model", "--rag", "--json")
    assert code == 0 and set(payload) == {"text", "sources"}
    assert "988" in payload["text"] and payload["sources"] == []


@pytest.mark.slow
def test_chat_with_rag_returns_sources(cli, embedded_model_dir, tmp_path):
    guide = tmp_path / "aftercare.md"
    guide.write_text("# Aftercare\n\nAfter a ketamine session, rest at home, drink water and eat something light. Do not drive "
                     "until the next day after a full night's sleep.\n")
    cli("kb", "add", str(guide), "--json")
    # A question the 135M model answers harmlessly in 16 tokens: an answer the output guard replaces loses its
    # citations by design (the guard flagged the truncated answer to "Can I drive ...?" here).
    code, payload = cli("chat", "--prompt", "How should I rest after my ketamine session?", "--rag", "--max-new-tokens", "16", "--json")
    assert code == 0 and payload["text"].strip()
    assert payload["sources"][0] == {"doc": "aftercare.md", "page": None}
