from pathlib import Path

import pytest

from studio.settings import Settings, SettingsError


def test_defaults_without_environment(monkeypatch, tmp_path):
    monkeypatch.setattr("studio.settings.SPACES_DATA_ROOT", tmp_path / "no-such-dir")
    s = Settings.from_env({})
    assert s.data_dir == Path("studio-data")
    assert s.cache_dir == Path("~/.cache/companion-studio").expanduser()
    assert s.base_model == "embedded"
    assert s.hf_token is None
    assert s.upload_limit_mb == 50


def test_spaces_persistent_storage_is_preferred(monkeypatch, tmp_path):
    monkeypatch.setattr("studio.settings.SPACES_DATA_ROOT", tmp_path)
    assert Settings.from_env({}).data_dir == tmp_path / "companion-studio"


def test_environment_overrides(tmp_path):
    s = Settings.from_env(
        {
            "STUDIO_DATA_DIR": str(tmp_path / "d"),
            "STUDIO_CACHE_DIR": str(tmp_path / "c"),
            "STUDIO_BASE_MODEL": "org/model",
            "HF_TOKEN": "hf_secretsecret",
            "STUDIO_ADMINS": "alice, bob",
            "STUDIO_UPLOAD_LIMIT_MB": "5",
        }
    )
    assert s.data_dir == tmp_path / "d" and s.cache_dir == tmp_path / "c"
    assert s.base_model == "org/model" and s.admins == ("alice", "bob")
    assert s.upload_limit_bytes == 5 * 1024 * 1024
    assert "hf_secret" not in repr(s)


def test_bad_number_names_the_variable():
    with pytest.raises(SettingsError, match="STUDIO_UPLOAD_LIMIT_MB"):
        Settings.from_env({"STUDIO_UPLOAD_LIMIT_MB": "lots"})


def test_unwritable_data_dir_names_path_and_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = Settings.from_env({"STUDIO_DATA_DIR": str(blocker / "sub")})
    with pytest.raises(SettingsError, match="STUDIO_DATA_DIR") as info:
        s.ensure_data_dir()
    assert str(blocker / "sub") in str(info.value)


@pytest.mark.parametrize(("name", "value"), [("STUDIO_UPLOAD_LIMIT_MB", "-5"), ("STUDIO_UPLOAD_LIMIT_MB", "0"),
                                             ("STUDIO_CHROMA_PORT", "70000"), ("STUDIO_MAX_QUEUE", "-1")])
def test_out_of_range_numbers_are_refused_with_the_variable_named(name, value):
    """A negative upload limit used to be accepted (every upload then failed with a confusing size message)."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
