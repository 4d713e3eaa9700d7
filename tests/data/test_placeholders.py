"""Region placeholders in training data: rendered from the one resource table, never empty, never guessed."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.data.placeholders import PlaceholderError, region_code, render_rows
from studio.data.validate import validate_conversations
from studio.safety.resources import PLACEHOLDERS, REGIONS, placeholder_values

from .conftest import conv

CRISIS = conv(("system", "If someone may be in danger, share {crisis_line}, or {emergency_number} in an emergency."),
              ("user", "my kid just swallowed one of my troches"),
              ("assistant", "Call {emergency_number} if they are hard to wake, otherwise contact {poison_control} right now."))


def test_every_verified_region_fills_every_placeholder_from_the_table():
    import re

    from studio.data.lint_text import phone_numbers

    for code in ("US", "UK", "IE", "CA", "AU", "NZ"):
        values = placeholder_values(code)
        assert set(values) == set(PLACEHOLDERS), code
        table = {re.sub(r"\D", "", n) for r in REGIONS[code].resources for n in r.numbers}
        for name, text in values.items():
            # Every number a phrase writes is one of the region's verified numbers: nothing new is typed in.
            assert {digits for _, digits in phone_numbers(text)} <= table, (code, name, text)
            assert text.strip(), (code, name)


def test_render_fills_in_the_region_and_counts():
    rendered = render_rows([CRISIS], "UK")
    text = json.dumps(rendered.rows)
    assert "116 123" in text and "999" in text and "NHS 111" in text
    assert "988" not in text and "911" not in text and "{crisis_line}" not in text
    assert rendered.to_dict() == {"rows": 1, "placeholders": {"crisis_line": 1, "emergency_number": 2, "poison_control": 1}}
    assert CRISIS["messages"][2]["content"].startswith("Call {emergency_number}")  # the input is not changed


def test_a_region_without_a_verified_line_is_an_error_not_empty_text():
    with pytest.raises(PlaceholderError, match=r"line 1: placeholder \{poison_control\} has no verified value for region INTL"):
        render_rows([CRISIS], "INTL")
    report = validate_conversations([CRISIS], region="INTL")
    assert [(i.line, i.code) for i in report.errors] == [(1, "placeholder")]


def test_unknown_placeholder_is_a_validation_error_naming_line_and_known_names():
    rows = [conv(("user", "hi"), ("assistant", "hello")), conv(("user", "help"), ("assistant", "Call {crisis_number} now."))]
    report = validate_conversations(rows)
    assert len(report.errors) == 1
    message = report.errors[0].message
    assert message.startswith("line 2:") and "{crisis_number}" in message
    assert all("{" + name + "}" in message for name in PLACEHOLDERS)


def test_unknown_region_lists_the_known_ones():
    assert region_code("gb") == "UK"
    with pytest.raises(PlaceholderError, match="Known regions: US, UK"):
        region_code("Narnia")


def test_other_braces_are_left_alone():
    row = conv(("user", 'my notes say {"mood": 3} and {Sunday}'), ("assistant", "Thanks for sharing your notes."))
    assert validate_conversations([row]).errors == []
    assert render_rows([row], "US").rows == [row]


def test_cli_render_writes_rendered_rows_and_prints_counts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps(CRISIS) + "\n", encoding="utf-8")
    assert main(["data", "render", str(src), "--region", "AU", "--out", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload == {"rows": 1, "placeholders": {"crisis_line": 1, "emergency_number": 2, "poison_control": 1}}
    text = out.read_text(encoding="utf-8")
    assert "13 11 14" in text and "Call 000" in text and "13 11 26" in text and "{crisis_line}" not in text


def test_cli_render_refuses_a_region_without_a_value_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps(CRISIS) + "\n", encoding="utf-8")
    assert main(["data", "render", str(src), "--region", "INTL", "--out", str(out), "--json"]) == 1
    assert "poison_control" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert not out.exists()


def test_train_config_region_round_trips_and_is_checked():
    from studio.train.config import ConfigError, TrainConfig

    config = TrainConfig(dataset="x.jsonl", region="UK")
    assert TrainConfig.from_dict(config.to_dict()).region == "UK"
    with pytest.raises(ConfigError, match="Unknown region 'Mars'"):
        TrainConfig(dataset="x.jsonl", region="Mars")
