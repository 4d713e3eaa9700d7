import logging

import pytest

from studio.settings import SettingsError
from studio.util.io import atomic_write_json, read_json
from studio.util.redact import RedactingFilter, redact, register_secret
from studio.util.schema import STAMP, check_schema
from studio.util.uploads import UploadError, accept_upload, safe_filename


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "status.json"
    atomic_write_json(target, {"state": "running"})
    atomic_write_json(target, {"state": "done"})
    assert read_json(target) == {"state": "done"}
    assert [p.name for p in target.parent.iterdir()] == ["status.json"]


def test_redaction_of_tokens(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    assert "hf_abcdefghijklmnop" not in redact("push failed with hf_abcdefghijklmnop")
    assert "hf_zzzzzzzzzzzz" not in redact("token=hf_zzzzzzzzzzzz")
    register_secret("typed-in-secret-123")
    assert "typed-in-secret-123" not in redact("Authorization: Bearer typed-in-secret-123")
    record = logging.LogRecord("x", logging.INFO, "f", 1, "token %s", ("hf_abcdefghijklmnop",), None)
    RedactingFilter().filter(record)
    assert "hf_abcdefghijklmnop" not in record.getMessage()


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd.txt", "passwd.txt"), ("..\\x\\notes.md", "notes.md"), ("...", "upload"), ("a b?.pdf", "a b_.pdf"),
    # Non-Latin names stay distinct (every non-ASCII character used to become "_", so 安全.md replaced ケア.md).
    ("安全.md", "安全.md"), ("ケア.md", "ケア.md"), ("Café guide.pdf", "Café guide.pdf"), ("हिंदी.md", "हिंदी.md"),
    # A right-to-left override would show "report\u202Efdp.md" as "reportdm.pdf".
    ("report\u202efdp.md", "reportfdp.md"), ("a\x00b\x1b.txt", "ab.txt"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_uploads_checked_and_stored_under_data_dir(settings, tmp_path):
    good = tmp_path / "x.jsonl"
    good.write_text('{"messages": []}\n')
    stored = accept_upload(good, settings, "dataset", original_name="../../evil.jsonl")
    assert stored.parent == (settings.uploads_dir / "dataset").resolve() and stored.name == "evil.jsonl"
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    with pytest.raises(UploadError, match="empty"):
        accept_upload(empty, settings, "dataset")
    with pytest.raises(UploadError, match="not accepted"):
        accept_upload(good, settings, "knowledge", original_name="x.exe")
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    with pytest.raises(UploadError, match="limit"):
        accept_upload(big, settings.with_(upload_limit_mb=1), "dataset")


def test_schema_version_mismatch_is_explained(settings):
    assert check_schema(settings) == 1
    (settings.data_dir / STAMP).write_text("99\n")
    with pytest.raises(SettingsError, match="newer Companion Studio"):
        check_schema(settings)


def test_absolute_model_path_is_not_taken_for_a_run(settings, tmp_path):
    """Regression: runs_dir / "/abs/path" is "/abs/path", which used to be read as a run folder."""
    from studio.models.loader import resolve

    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    ref = resolve(str(model_dir), settings)
    assert ref.base == str(model_dir) and ref.adapter_dir is None
    run = settings.runs_dir / "run-1" / "adapter"
    run.mkdir(parents=True)
    (run / "adapter_config.json").write_text('{"base_model_name_or_path": "embedded"}')
    assert resolve("run-1", settings).adapter_name == "run-1"


def test_adapter_folder_naming_the_public_base_uses_the_embedded_model(settings, tmp_path):
    from studio.models.embedded import HUB_EQUIVALENT
    from studio.models.loader import resolve

    adapter = tmp_path / "exported-adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(f'{{"base_model_name_or_path": "{HUB_EQUIVALENT}"}}')
    assert resolve(str(adapter), settings).base == "embedded"
