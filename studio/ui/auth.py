"""Who is calling, and may they do this? Enforced inside every handler, not just by hiding tabs.

Modes:
  (a) nothing configured: one local admin; the server binds to 127.0.0.1.
  (b) STUDIO_ADMIN_PASSWORD: login required. "admin" + that password is an admin; with
      STUDIO_RATER_PASSWORD, any other name + that password is a rater (the name is the rater id).
  (c) Spaces OAuth (hf_oauth: true): the Space owner and STUDIO_ADMINS are admins; other signed-in
      users are raters.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

import gradio as gr

from studio.settings import Settings

ADMIN, RATER = "admin", "rater"
NEEDS_ADMIN = "This action needs an admin. Ask the clinic's studio admin to do it, or sign in as admin."


@dataclass(frozen=True)
class Caller:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def auth_mode(settings: Settings) -> str:
    if settings.admin_password:
        return "password"
    # On a Space, visitors sign in with Hugging Face (hf_oauth: true); without a sign-in they are
    # anonymous raters, so a public Space never hands out admin rights by default.
    if os.environ.get("SPACE_ID"):
        return "oauth"
    return "local"


def password_check(settings: Settings):
    """The callable for ``launch(auth=...)`` in mode (b); constant-time comparisons."""

    def check(username: str, password: str) -> bool:
        username, password = (username or "").strip(), password or ""
        if username == ADMIN:
            return hmac.compare_digest(password, settings.admin_password or "")
        if settings.rater_password and username:
            return hmac.compare_digest(password, settings.rater_password)
        return False

    return check


def _oauth_user(request: gr.Request) -> str | None:
    session = getattr(request, "session", None) or {}
    info = session.get("oauth_info") or {}
    user = (info.get("userinfo") or {}).get("preferred_username")
    return user or getattr(request, "username", None)


def caller(request: gr.Request | None, settings: Settings) -> Caller:
    mode = auth_mode(settings)
    if mode == "local":
        return Caller(name="local-admin", role=ADMIN)
    if request is None:
        return Caller(name="anonymous", role=RATER)
    if mode == "password":
        name = getattr(request, "username", None) or "anonymous"
        return Caller(name=name, role=ADMIN if name == ADMIN else RATER)
    name = _oauth_user(request) or "anonymous"
    admins = {a.lower() for a in settings.admins}
    if settings.space_author:
        admins.add(settings.space_author.lower())
    return Caller(name=name, role=ADMIN if name.lower() in admins else RATER)


def require_admin(request: gr.Request | None, settings: Settings) -> Caller:
    """Raise a visible error (and change nothing) unless the caller is an admin."""
    who = caller(request, settings)
    if not who.is_admin:
        raise gr.Error(NEEDS_ADMIN)
    return who
