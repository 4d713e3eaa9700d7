"""Documented bad inputs from the sweep (/work/shared/reviews/bad-input-sweep.md) through the real CLI
(`python -m studio`, a subprocess): each gets a one-line message, never a traceback, and its `--json`
error names no server path (the data dir becomes names relative to it).

The in-process watcher in tests/conftest.py cannot see a subprocess, so this is the CLI's half of the
"no traceback for a user error" check. Each case costs about one second of interpreter start-up.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

BOMB = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['x'] * 9)}]\n"
               for p, c in [("", "a"), ("a", "b"), ("b", "c"), ("c", "d")])


def _bad_docx(path: Path) -> None:
    """A .docx whose package is fine but whose document.xml is malformed (sweep K12)."""
    from docx import Document

    buf = io.BytesIO()
    Document().save(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            out.writestr(item, b"<w:document><w:body><unclosed>" if item.filename == "word/document.xml" else data)


def _write(tmp: Path, name: str) -> Path:
    path = tmp / name
    if name == "bigcell.csv":  # sweep D12: a cell over the csv module's 128 KB limit
        path.write_text("user,assistant\nq," + "a" * 200_000 + "\n")
    elif name == "deep.jsonl":  # sweep D16: JSON nested 10,000 deep
        path.write_text('{"messages": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    elif name == "bomb.yaml":  # sweep T9: a YAML bomb as a field's value
        path.write_text(BOMB + "learning_rate: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\ndataset: starter\n")
    elif name == "image.jsonl":  # sweep D3: a PNG renamed
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    elif name == "bad.docx":
        _bad_docx(path)
    return path


CASES = [
    ("data import ds1 {tmp}/bigcell.csv", "bigcell.csv"),
    ("data validate {tmp}/deep.jsonl --no-tokens", "line 1: not valid JSON (nested too deeply)"),  # a report
    ("data import ds1 {tmp}/image.jsonl", "binary"),
    ("train --config {tmp}/bomb.yaml", "aliases"),
    ("kb add {tmp}/bad.docx", "bad.docx"),
    ("runs show run-does-not-exist", "No run named run-does-not-exist in runs"),  # used to name <data>/runs
    ("data restore no-such-dataset 1", "no-such-dataset"),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[c.split(" {")[0] for c, _ in CASES])
def test_bad_input_gets_a_message_without_traceback_or_server_path(command, expected, tmp_path):
    data_dir = tmp_path / "data"
    for name in ("bigcell.csv", "deep.jsonl", "bomb.yaml", "image.jsonl", "bad.docx"):
        if name in command:
            _write(tmp_path, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env.update(STUDIO_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    argv = [sys.executable, "-m", "studio", *command.format(tmp=tmp_path).split(), "--json"]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (1, 2), done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    payload = json.loads(last)
    assert expected in (payload.get("error") or payload["errors"][0]["message"]), last
    assert str(data_dir) not in last and str(tmp_path) not in last, last
