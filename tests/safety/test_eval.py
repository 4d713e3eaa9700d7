"""The evaluation report: per level and category with 95% intervals, every set found, style-held-out CV."""

from __future__ import annotations

import pytest

from studio.safety import evaluate


def test_wilson_interval_is_sane():
    assert evaluate.wilson(0, 0)["rate"] is None
    full = evaluate.wilson(20, 20)
    assert full["rate"] == 1.0 and full["ci95"][1] == 1.0 and 0.8 < full["ci95"][0] < 0.9
    half = evaluate.wilson(50, 100)
    assert half["ci95"][0] < 0.5 < half["ci95"][1]


def test_every_labelled_set_is_found():
    sets = evaluate.find_sets(evaluate.EVAL_DIR)
    assert {"main", "holdout", "holdout2", "holdout3"} <= set(sets)
    assert set(sets["main"]) >= {"user", "reply"}
    assert "corpus" not in sets


@pytest.fixture(scope="module")
def rules_report():
    return evaluate.run(learned=False, cv=False)


def test_report_shape(rules_report):
    main = rules_report["sets"]["main"]
    users = main["users"]
    for key in ("escalation_recall", "urgent_recall", "false_alarm_rate", "per_category", "errors"):
        assert key in users
    assert set(users["urgent_recall"]) == {"rate", "n", "ci95"}
    assert {"suicide", "overdose", "abuse_danger", "ego_death", "idiom"} <= set(users["per_category"])
    assert {"recall", "false_alarm_rate", "per_category"} <= set(main["replies"])
    assert rules_report["blind_first_runs"]["holdout"]["commit"] == "3e19853"


def test_conversation_sets_are_scored(tmp_path):
    (tmp_path / "conversations.jsonl").write_text(
        '{"messages": [{"role": "assistant", "content": "Did it go ok?"}, {"role": "user", "content": "yes"}], "label": "none"}\n'
    )
    report = evaluate.run(tmp_path, learned=False, cv=False)
    block = report["sets"]["main"]["conversations"]
    assert block["all_cases_right"] is True and block["cases_right"]["n"] == 1


@pytest.mark.slow
def test_full_report_with_style_cross_validation(settings, safety_classifier):
    report = evaluate.run(settings=settings, cv=True)
    cv = report["style_cv"]
    assert cv["users"]["overall"]["escalation_recall"]["n"] >= 1500
    assert len(cv["users"]["per_style_accuracy"]) >= 8
    assert 0 <= cv["replies"]["overall"]["recall"]["rate"] <= 1
    text = evaluate.summary_text(report)
    assert "style-held-out CV users" in text and "holdout2 users" in text
