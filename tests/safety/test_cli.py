"""`python -m studio safety ...`: JSON shapes, batch order, errors a person can act on."""

from __future__ import annotations

import json

import pytest

from studio.cli import main


@pytest.fixture
def run(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STUDIO_REGION", raising=False)
    monkeypatch.delenv("STUDIO_CLINIC_PHONE", raising=False)

    def _run(*argv: str) -> tuple[int, dict]:
        code = main(list(argv))
        lines = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(lines[-1])

    return _run


def test_check_user_json(run):
    code, out = run("safety", "check", "I want to kill myself", "--json", "--rules-only", "--clinic-phone", "555-0100")
    assert code == 0
    (result,) = out["results"]
    assert {"crisis", "level", "categories", "response"} <= set(result)
    assert result["crisis"] is True and result["level"] == "urgent" and "555-0100" in result["response"]


def test_check_assistant_json(run):
    code, out = run("safety", "check", "Take 100 mg tonight.", "--role", "assistant", "--json")
    assert code == 0
    (result,) = out["results"]
    assert {"violation", "codes", "safe_text"} <= set(result)
    assert result["violation"] is True and result["codes"] == ["dosing"]


def test_batch_file_keeps_input_order(run, tmp_path, safety_classifier):
    rows = [
        {"text": "I'm dying to see the results"},
        {"text": "I want to die"},
        {"text": "You have PTSD.", "role": "assistant"},
        {"text": "Everything feels hopeless"},
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out = run("safety", "check", "--file", str(path), "--json")
    assert code == 0
    levels = [r.get("level", r.get("violation")) for r in out["results"]]
    assert levels == ["none", "urgent", True, "concern"]
    assert out["results"][0]["response"] is None


def test_bad_batch_line_names_the_line(run, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"words": "no text"}\n')
    code, out = run("safety", "check", "--file", str(path), "--json")
    assert code == 2 and "bad.jsonl:2" in out["error"] and '"text"' in out["error"]


def test_text_and_file_are_exclusive(run, tmp_path):
    code, out = run("safety", "check", "hi", "--file", str(tmp_path / "x.jsonl"), "--json")
    assert code == 2 and "not both" in out["error"]


def test_eval_json_rules_only(run):
    code, out = run("safety", "eval", "--json", "--rules-only")
    assert code == 0
    assert {"sets", "goals", "blind_first_runs"} <= set(out)
    main = out["sets"]["main"]
    assert 0 <= main["users"]["escalation_recall"]["rate"] <= 1 and 0 <= main["replies"]["false_alarm_rate"]["rate"] <= 1


def test_check_accepts_conversations_and_keeps_the_result_shape(run, tmp_path, safety_classifier):
    rows = [
        {"messages": [{"role": "assistant", "content": "Are you thinking of hurting yourself?"}, {"role": "user", "content": "yes"}]},
        {"messages": [{"role": "assistant", "content": "Did the session go okay?"}, {"role": "user", "content": "yes"}]},
        {"text": "hello"},
    ]
    path = tmp_path / "conv.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out = run("safety", "check", "--file", str(path), "--json")
    assert code == 0
    assert [r["level"] for r in out["results"]] == ["urgent", "none", "none"]
    assert all({"crisis", "level", "categories", "response", "reasons"} <= set(r) for r in out["results"])


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('{"messages": [{"role": "user", "content": 5}]}', "message 1"),
        ('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}', "last message"),
        ('{"messages": "hi"}', "non-empty list"),
        ("[" * 5000, "not valid JSON"),
    ],
)
def test_malformed_conversation_line_names_the_line(run, tmp_path, line, needle):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")
    code, out = run("safety", "check", "--file", str(path), "--json")
    assert code == 2 and "bad.jsonl:2" in out["error"] and needle in out["error"]


def test_template_set_show_reset(run, tmp_path):
    source = tmp_path / "t.md"
    source.write_text("You matter. Call {emergency}.\n{resources}")
    code, out = run("safety", "template", "--set", str(source), "--region", "NZ", "--json")
    assert code == 0 and out["custom"] is True and "1737" in out["rendered"] and out["region"] == "NZ"
    code, out = run("safety", "template", "--reset", "--json")
    assert code == 0 and out["custom"] is False
    code, out = run("safety", "template", "--kind", "overdose", "--region", "AU", "--json")
    assert code == 0 and out["kind"] == "overdose" and "13 11 26" in out["rendered"] and "000" in out["rendered"]
    code, out = run("safety", "template", "--kind", "nope", "--json")
    assert code == 2 and "--kind" in out["error"]
    source.write_text("no placeholders")
    code, out = run("safety", "template", "--set", str(source), "--json")
    assert code == 2 and "{emergency}" in out["error"]
