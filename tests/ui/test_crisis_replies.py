"""Admins edit the crisis replies in the UI (handlers called directly); raters cannot; the header follows the region."""

from types import SimpleNamespace

import gradio as gr
import pytest

from studio.safety import crisis_reply
from studio.ui.context import AppContext
from studio.ui.tabs import crisis_replies


@pytest.fixture
def ctx(settings):
    return AppContext(settings.with_(admin_password="a-secret", rater_password="r-secret", region="UK"))


ADMIN = SimpleNamespace(username="admin")
RATER = SimpleNamespace(username="dr-lee")


def test_admin_saves_previews_and_resets_a_crisis_reply(ctx):
    text, preview = crisis_replies.show(ctx, "overdose", "UK")
    assert "{emergency}" in text and "999" in preview and "988" not in preview
    edited = "Our clinic is here for you. Call {emergency} now.\n{resources}"
    assert "0808" not in crisis_replies.preview(ctx, "abuse", "UK", "x {emergency}")  # refused: no {resources}
    saved_text, saved_preview = crisis_replies.save(ctx, "overdose", "UK", edited, ADMIN)
    assert saved_text.strip() == edited and saved_preview.startswith("Our clinic is here for you. Call 999 now.")
    assert crisis_reply(["overdose"], "UK", settings=ctx.settings).startswith("Our clinic is here for you.")
    assert not crisis_reply(["suicide"], "UK", settings=ctx.settings).startswith("Our clinic")  # other kinds untouched
    crisis_replies.reset(ctx, "overdose", "UK", ADMIN)
    assert not crisis_reply(["overdose"], "UK", settings=ctx.settings).startswith("Our clinic")


def test_raters_cannot_edit_and_invalid_templates_are_refused(ctx):
    with pytest.raises(gr.Error, match="admin"):
        crisis_replies.save(ctx, "suicide", "UK", "Call {emergency}\n{resources}", RATER)
    with pytest.raises(gr.Error, match="resources"):
        crisis_replies.save(ctx, "suicide", "UK", "Call {emergency} now.", ADMIN)


def test_header_line_follows_the_region():
    from studio.safety import header_line

    assert "999" in header_line("UK") and "116 123" in header_line("UK") and "988" not in header_line("UK")
    assert "911" in header_line("US") and "988" in header_line("US")
    assert "000" in header_line("AU") and "13 11 14" in header_line("AU")
