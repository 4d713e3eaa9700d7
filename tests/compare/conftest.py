"""Fixtures for Compare tests: one data dir with a real, freshly trained LoRA run, shared by the session
(the model cache is per data dir, so sharing it loads the embedded model once)."""

from __future__ import annotations

import os

import pytest

from studio.settings import Settings
from tests.compare.helpers import make_run

RUN_ID = "run-test-lora"


@pytest.fixture(scope="session")
def tuned_settings(tmp_path_factory, embedded_model_dir) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env["STUDIO_DATA_DIR"] = str(tmp_path_factory.mktemp("compare") / "data")
    settings = Settings.from_env(env)
    make_run(settings, RUN_ID)
    return settings
