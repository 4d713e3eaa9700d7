"""`python -m studio data preferences`: arena votes (and repairs) -> prompt/chosen/rejected pairs."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.compare.feedback import add_repair
from studio.compare.raters import exclude_rater
from studio.compare.votes import VoteStore
from studio.data.preferences import pair_problems, pairs_from_votes, read_pairs

DEFER = "Dosing is a question for your prescribing clinician; I can help you write it down for them."
DOSE = "Take 50 mg more than last time."


def vote(winner: str, i: int = 1, **extra) -> dict:
    return {"model_a": "base", "model_b": "base", "winner": winner, "prompt": f"How much should I take? ({i})",
            "response_a": DEFER if winner != "b" else DOSE, "response_b": DOSE if winner != "b" else DEFER,
            "rater": "dr-lee", "ts": f"2026-01-01T00:00:{i:02d}Z", "comment": "", **extra}


@pytest.fixture(autouse=True)
def _data_dir(settings, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("HF_TOKEN", raising=False)


def run(capsys, *argv) -> tuple[int, dict, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out.strip().splitlines()[-1]), captured.err


def write_votes(path, votes) -> str:
    path.write_text("".join(json.dumps(v) + "\n" for v in votes), encoding="utf-8")
    return str(path)


def test_decisive_votes_become_pairs_ties_dropped_with_provenance(tmp_path, capsys):
    votes = write_votes(tmp_path / "votes.jsonl", [vote("a", 1), vote("b", 2), vote("tie", 3), vote("both_bad", 4)])
    out = tmp_path / "pairs.jsonl"
    code, data, err = run(capsys, "data", "preferences", "--votes", votes, "--out", str(out), "--json")
    assert code == 0, data
    assert data["pairs"] == 2 and data["votes"] == 4 and data["decisive"] == 2 and data["ties"] == 1
    assert data["both_bad"] == 1 and data["dropped_ties"] == 1 and data["dropped_both_bad"] == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["chosen"] for r in rows] == [[{"role": "assistant", "content": DEFER}]] * 2  # b won vote 2: DEFER too
    assert [r["rejected"][0]["content"] for r in rows] == [DOSE, DOSE]
    assert rows[0]["prompt"] == [{"role": "user", "content": "How much should I take? (1)"}]
    assert rows[1]["provenance"] == {"source": "arena", "kind": "vote", "vote_id": "line-2", "battle_id": None,
                                     "rater": "dr-lee", "ts": "2026-01-01T00:00:02Z", "model_chosen": "base",
                                     "model_rejected": "base"}
    assert data["deidentified"] is True
    assert read_pairs(out) == ([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows], [])


def test_both_bad_with_a_repair_gives_two_rows_with_the_repair_chosen():
    repair = "I can't advise on doses. Your clinician can, and I can help you prepare the question."
    pairs = pairs_from_votes([vote("both_bad", 1, repair=repair, response_a="Take 2 pills.", vote_id=7),
                              vote("both_bad", 2), vote("a", 3, repair=repair)])
    both_bad = [r for r in pairs.rows if r["provenance"]["vote_id"] == 7]
    assert [r["chosen"][0]["content"] for r in both_bad] == [repair, repair]
    assert {r["rejected"][0]["content"] for r in both_bad} == {"Take 2 pills.", DOSE}
    assert all(r["provenance"]["kind"] == "repair" and r["provenance"]["model_chosen"] == "repair" for r in both_bad)
    # a decisive vote with a repair: winner over loser, and the repair over each answer
    assert [r["provenance"]["kind"] for r in pairs.rows[2:]] == ["vote", "repair", "repair"]
    assert pairs.counts["repairs"] == 2 and pairs.counts["dropped_both_bad"] == 1 and len(pairs.rows) == 5


def test_store_votes_leave_excluded_raters_out_and_read_repairs(settings, tmp_path, capsys):
    store = VoteStore(settings.votes_db)
    for i, (rater, winner) in enumerate([("dr-lee", "a"), ("dr-quick", "b"), ("dr-lee", "both_bad")], start=1):
        bid = f"battle-{i}"
        store.add_battle({"id": bid, "ts": "2026-01-01T00:00:00Z", "model_a": "base", "model_b": "base",
                          "prompt": f"prompt {i}", "system": "You are a careful AI companion." if i == 1 else None,
                          "seed": 1, "rater": rater})
        store.finish_battle(bid, f"answer A{i}", f"answer B{i}", {}, {})
        store.vote_on_battle(bid, winner, rater, "", f"2026-01-0{i}T00:00:00Z")
    exclude_rater(settings, "dr-quick", "voted before reading")
    add_repair(settings, "battle-3", "A careful repaired answer.", "dr-lee")  # the rater's better answer in the arena
    out = tmp_path / "pairs.jsonl"
    code, data, _ = run(capsys, "data", "preferences", "--votes", "store", "--out", str(out), "--json")
    assert code == 0, data
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert data["votes"] == 2 and data["pairs"] == 3 and data["repairs"] == 1
    assert {r["provenance"]["rater"] for r in rows} == {"dr-lee"}
    assert rows[0]["prompt"][0] == {"role": "system", "content": "You are a careful AI companion."}
    assert rows[0]["provenance"]["battle_id"] == "battle-1" and isinstance(rows[0]["provenance"]["vote_id"], int)
    assert [r["chosen"][0]["content"] for r in rows[1:]] == ["A careful repaired answer."] * 2


def test_bad_votes_name_the_line(tmp_path, capsys):
    missing = write_votes(tmp_path / "m.jsonl", [vote("a", 1), {"prompt": "p", "winner": "a"}])
    code, data, _ = run(capsys, "data", "preferences", "--votes", missing, "--out", str(tmp_path / "o.jsonl"), "--json")
    assert code == 2 and data["error"].startswith("line 2: missing or empty response_a, response_b")
    unknown = write_votes(tmp_path / "u.jsonl", [vote("a", 1), vote("b", 2), vote("a", 3, model_b="gpt-9")])
    code, data, _ = run(capsys, "data", "preferences", "--votes", unknown, "--out", str(tmp_path / "o.jsonl"), "--json")
    assert code == 2 and data["error"].startswith("line 3: model_b 'gpt-9' is not a model this studio knows")
    assert not (tmp_path / "o.jsonl").exists()


def test_no_decisive_votes_says_how_many_were_ties_or_both_bad(tmp_path, capsys):
    votes = write_votes(tmp_path / "v.jsonl", [vote("tie", 1), vote("tie", 2), vote("both_bad", 3)])
    code, data, _ = run(capsys, "data", "preferences", "--votes", votes, "--out", str(tmp_path / "o.jsonl"), "--json")
    assert code == 1 and "of 3 vote(s), 2 were ties and 1 both bad" in data["error"]


def test_pair_rows_are_checked_for_training():
    good = {"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "x"}],
            "rejected": [{"role": "assistant", "content": "y"}]}
    assert pair_problems(good) == [] and pair_problems({"prompt": "q", "chosen": "x", "rejected": "y"}) == []
    assert "missing rejected" in pair_problems({"prompt": "q", "chosen": "x"})[0]
    assert "not a mix" in pair_problems({**good, "chosen": "x"})[0]
    assert "same text" in pair_problems({**good, "rejected": good["chosen"]})[0]
    assert "role assistant" in pair_problems({**good, "chosen": [{"role": "user", "content": "x"}]})[0]
    assert "end with a user message" in pair_problems({**good, "prompt": [{"role": "assistant", "content": "q"}]})[0]
