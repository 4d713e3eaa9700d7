"""Login modes and role decisions (the endpoints themselves are covered in test_roles.py)."""

from types import SimpleNamespace

import gradio as gr
import pytest

from studio.ui.app import launch_kwargs
from studio.ui.auth import ADMIN, RATER, auth_mode, caller, password_check, require_admin


def test_local_mode_is_single_admin_on_loopback(settings, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    assert auth_mode(settings) == "local"
    assert caller(None, settings).role == ADMIN
    kwargs = launch_kwargs(settings)
    assert kwargs["server_name"] == "127.0.0.1" and "auth" not in kwargs


def test_password_mode(settings, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    s = settings.with_(admin_password="a-secret", rater_password="r-secret")
    assert auth_mode(s) == "password"
    kwargs = launch_kwargs(s)
    assert kwargs["server_name"] == "0.0.0.0"
    check = kwargs["auth"]
    assert check("admin", "a-secret") and not check("admin", "r-secret")
    assert check("dr-lee", "r-secret") and not check("dr-lee", "a-secret") and not check("", "r-secret")
    assert caller(SimpleNamespace(username="admin"), s).role == ADMIN
    rater = caller(SimpleNamespace(username="dr-lee"), s)
    assert rater.role == RATER and rater.name == "dr-lee"
    with pytest.raises(gr.Error, match="admin"):
        require_admin(SimpleNamespace(username="dr-lee"), s)


def test_password_mode_without_rater_password_admits_only_admin(settings):
    check = password_check(settings.with_(admin_password="a-secret"))
    assert check("admin", "a-secret") and not check("someone", "a-secret")


def test_oauth_mode_space_owner_and_listed_admins(settings, monkeypatch):
    monkeypatch.setenv("OAUTH_CLIENT_ID", "x")
    monkeypatch.setenv("SPACE_ID", "clinic/studio")
    s = settings.with_(space_author="clinic", admins=("Alice",))

    def req(user):
        return SimpleNamespace(username=None, session={"oauth_info": {"userinfo": {"preferred_username": user}}})

    assert auth_mode(s) == "oauth"
    assert caller(req("clinic"), s).role == ADMIN
    assert caller(req("alice"), s).role == ADMIN
    assert caller(req("bob"), s).role == RATER
    assert caller(None, s).role == RATER


def test_who_has_signed_in(settings, monkeypatch):
    """Locally the one admin is signed in; on a Space a visitor without a sign-in or invite is not."""
    from studio.compare.raters import create_invite
    from studio.ui.auth import INVITE_COOKIE, require_signed_in

    assert caller(None, settings).signed_in
    monkeypatch.setenv("SPACE_ID", "clinic/studio")
    visitor = SimpleNamespace(username=None, session={}, cookies={})
    assert not caller(visitor, settings).signed_in and not caller(None, settings).signed_in
    with pytest.raises(gr.Error, match="invite link"):
        require_signed_in(visitor, settings)
    signed = SimpleNamespace(username=None, session={"oauth_info": {"userinfo": {"preferred_username": "bob"}}})
    assert require_signed_in(signed, settings).name == "bob"
    token = create_invite(settings, "Dr. Rivera")["link"].split("?invite=")[1]
    invited = caller(SimpleNamespace(username=None, session={}, cookies={INVITE_COOKIE: token}), settings)
    assert (invited.name, invited.role, invited.signed_in) == ("Dr. Rivera", RATER, True)
    assert not caller(SimpleNamespace(username=None, session={}, cookies={INVITE_COOKIE: token + "x"}), settings).signed_in
