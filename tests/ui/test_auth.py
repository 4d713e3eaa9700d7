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


def _invite(settings, name: str = "Dr. Rivera") -> str:
    from studio.compare.raters import create_invite

    return create_invite(settings, name)["link"].split("?invite=")[1]


def _request(username=None, token=None, hf_user=None):
    from studio.ui.auth import INVITE_COOKIE

    session = {"oauth_info": {"userinfo": {"preferred_username": hf_user}}} if hf_user else {}
    return SimpleNamespace(username=username, session=session, cookies={INVITE_COOKIE: token} if token else {})


def test_an_invite_never_replaces_another_sign_in(settings, monkeypatch):
    """The admin (or anyone signed in) who opens an invite link to try it stays who they are."""
    token = _invite(settings)
    local = caller(_request(token=token), settings)  # local mode: the one admin, whatever the cookie
    assert (local.name, local.role) == ("local-admin", ADMIN)

    s = settings.with_(admin_password="a-secret", rater_password="r-secret")
    assert caller(_request("admin", token), s).role == ADMIN
    assert caller(_request("dr-lee", token), s).name == "dr-lee"
    invited = caller(_request("invite:Dr. Rivera", token), s)  # the session the middleware made for the cookie
    assert (invited.name, invited.role, invited.via) == ("Dr. Rivera", RATER, "invite")

    monkeypatch.setenv("SPACE_ID", "clinic/studio")
    owner = settings.with_(space_author="clinic")
    assert caller(_request(hf_user="clinic", token=token), owner).role == ADMIN
    assert caller(_request(hf_user="bob", token=token), owner).name == "bob"
    assert caller(_request(token=token), owner).name == "Dr. Rivera"  # not otherwise signed in: the invite


def test_an_invite_session_counts_only_while_its_invite_resolves(settings):
    from studio.compare.raters import revoke_invites

    s = settings.with_(admin_password="a-secret", rater_password="r-secret")
    token, other = _invite(s), _invite(s, "Dr. Kim")
    assert not caller(_request("invite:Dr. Rivera"), s).signed_in  # no cookie
    assert not caller(_request("invite:Dr. Rivera", other), s).signed_in  # another rater's cookie
    assert caller(_request("invite:Dr. Rivera", token), s).signed_in
    revoke_invites(s, "Dr. Rivera")
    assert not caller(_request("invite:Dr. Rivera", token), s).signed_in
    check = password_check(s)  # and nobody logs in under that namespace with the rater password
    assert not check("invite:Dr. Kim", "r-secret") and not check("INVITE:x", "r-secret") and check("dr-kim", "r-secret")


def test_an_active_invite_name_cannot_be_used_from_another_sign_in(settings, monkeypatch):
    from studio.compare.raters import revoke_invites
    from studio.ui.auth import require_signed_in

    s = settings.with_(admin_password="a-secret", rater_password="r-secret")
    _invite(s)
    for typed in ("Dr. Rivera", "dr. rivera", "DR. RIVERA"):
        who = caller(_request(typed), s)
        assert not who.signed_in and "belongs to Dr. Rivera" in who.refusal
        with pytest.raises(gr.Error, match="belongs to Dr. Rivera, a rater with a personal invite link"):
            require_signed_in(_request(typed), s)
    assert caller(_request("Dr. Kim"), s).signed_in and caller(_request("admin"), s).is_admin

    monkeypatch.setenv("SPACE_ID", "clinic/studio")
    hf = settings.with_(space_author="clinic")
    _invite(hf, "drkim")
    assert not caller(_request(hf_user="DrKim"), hf).signed_in  # a Hugging Face account of the same name
    revoke_invites(hf, "drkim")
    assert caller(_request(hf_user="DrKim"), hf).signed_in  # the name is free again once the invite is revoked


def test_the_arena_tells_an_invited_rater_how_to_sign_out(settings, monkeypatch):
    from studio.ui.context import AppContext
    from studio.ui.tabs.arena import _name_box

    monkeypatch.setenv("SPACE_ID", "clinic/studio")
    s = settings.with_(public_url="https://clinic.example/")
    box = _name_box(AppContext(s), "", _request(token=_invite(s)))
    assert box.value == "Dr. Rivera" and "https://clinic.example/?invite=logout" in box.info
    assert not getattr(_name_box(AppContext(s), "", _request(hf_user="bob")), "info", None)
    _invite(s, "drlee")
    refused = _name_box(AppContext(s), "", _request(hf_user="DrLee"))
    assert refused.value == "" and "belongs to drlee" in refused.placeholder
