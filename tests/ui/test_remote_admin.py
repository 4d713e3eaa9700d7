"""The Arena tab's "Remote models" panel: handlers called directly; admins register and remove, raters cannot."""

from types import SimpleNamespace

import gradio as gr
import pytest

from studio.compare.models import model_choices
from studio.ui.context import AppContext
from studio.ui.tabs import remote_admin

ADMIN = SimpleNamespace(username="admin")
RATER = SimpleNamespace(username="dr-lee")


@pytest.fixture
def ctx(settings):
    return AppContext(settings.with_(admin_password="a-secret", rater_password="r-secret"))


def test_admin_registers_and_removes_a_remote_model_that_becomes_a_choice(ctx, monkeypatch):
    monkeypatch.setenv("LLAMA_KEY", "hf_notARealKeyButLongEnough")
    note, listing = remote_admin.add(ctx, "llama", "https://router.huggingface.co/v1/", "meta-llama/Llama-3.1-8B-Instruct",
                                     "LLAMA_KEY", ADMIN)
    assert "remote:llama" in note and "LLAMA_KEY (set)" in listing and "router.huggingface.co/v1 " in listing
    assert "remote:llama" in model_choices(ctx.settings)
    stored = (ctx.settings.data_dir / "remote" / "models.json").read_text()
    assert "hf_notARealKey" not in stored
    with pytest.raises(gr.Error, match="already registered"):
        remote_admin.add(ctx, "llama", "https://x/v1", "m", "", ADMIN)
    with pytest.raises(gr.Error, match="NAME of an environment variable"):
        remote_admin.add(ctx, "other", "https://x/v1", "m", "hf_abc def", ADMIN)
    note, listing = remote_admin.remove(ctx, "remote:llama", ADMIN)
    assert "Removed" in note and listing == "No remote models yet."
    assert "remote:llama" not in model_choices(ctx.settings)


def test_raters_cannot_register_list_or_remove(ctx):
    for call in (lambda: remote_admin.add(ctx, "x", "https://x/v1", "m", "", RATER),
                 lambda: remote_admin.remove(ctx, "x", RATER), lambda: remote_admin.table(ctx, RATER)):
        with pytest.raises(gr.Error, match="admin"):
            call()
