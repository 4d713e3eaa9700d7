"""Who is calling, and may they do this? Enforced inside every handler, not just by hiding tabs.

Modes:
  (a) nothing configured: one local admin; the server binds to 127.0.0.1.
  (b) STUDIO_ADMIN_PASSWORD: login required. "admin" + that password is an admin; with
      STUDIO_RATER_PASSWORD, any other name + that password is a rater (the name is the rater id).
  (c) Spaces OAuth (hf_oauth: true): the Space owner and STUDIO_ADMINS are admins; other signed-in
      users are raters. A visitor who has not signed in is anonymous (``signed_in`` False): they may
      chat where STUDIO_ANONYMOUS_CHAT allows it, and the arena refuses them (``require_signed_in``).

In modes (b) and (c), a valid invite link (studio/ui/invites.py puts its token in an HttpOnly cookie)
signs the browser or API client in as that named rater, but only when it is not otherwise signed in:
an admin or rater who logged in, or a Hugging Face user, stays who they are, and the local admin of
mode (a) is never replaced. The invite is checked against the store on each call, so a revoked or
expired invite stops working at once. ``<public url>/?invite=logout`` clears the cookie (sign-out).

While an invite is active, its name belongs to the invited rater: a password login or a Hugging Face
account of the same name (case-insensitively) is signed in but may not rate or chat under it
(``Caller.refusal``), so the shared rater password cannot be used to vote as an invited rater. With
password login, the invite's Gradio session is the user ``invite:<name>``; such a user counts only
while the request's invite cookie still resolves to that name.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

import gradio as gr

from studio.compare.raters import INVITE_USER_PREFIX, active_invite_name, resolve_invite
from studio.settings import Settings

ADMIN, RATER = "admin", "rater"
LOCAL_ADMIN, ANONYMOUS = "local-admin", "anonymous"
INVITE_COOKIE = "studio_invite"
INVITE_LOGOUT = "logout"  # <public url>/?invite=logout signs an invited rater out
NEEDS_ADMIN = "This action needs an admin. Ask the clinic's studio admin to do it, or sign in as admin."
NEEDS_SIGN_IN = ("Please sign in to rate answers: open your personal invite link from the clinic, "
                 "or sign in with Hugging Face.")
CHAT_NEEDS_SIGN_IN = "Please sign in to chat: open your personal invite link from the clinic, or sign in with Hugging Face."


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    signed_in: bool = True
    via: str = ""                # "local" | "password" | "oauth" | "invite" ("" when not signed in)
    refusal: str | None = None   # why a signed-in name may not rate (it belongs to an invited rater)

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
        if username.casefold().startswith(INVITE_USER_PREFIX):  # the invite sessions' namespace
            return False
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


def invite_token(request: gr.Request | None) -> str | None:
    """The invite token a browser or API client presents (the cookie the invite link set)."""
    try:
        cookies = getattr(request, "cookies", None) or {}
        return cookies.get(INVITE_COOKIE) or None
    except (AttributeError, TypeError):
        return None


def invited_rater(request: gr.Request | None, settings: Settings) -> str | None:
    token = invite_token(request)
    if not token:
        return None
    return resolve_invite(settings, token)


def name_taken(name: str, invite_name: str) -> str:
    return (f"The name '{name}' belongs to {invite_name}, a rater with a personal invite link, so it cannot be "
            "used to rate or chat from another sign-in. If that is you, open your invite link; otherwise sign in "
            "under another name (or ask the clinic's studio admin).")


def _signed_in(name: str, role: str, via: str, settings: Settings) -> Caller:
    """A login or Hugging Face user; a rater whose name is an active invite's is refused (not an admin)."""
    if role != ADMIN:
        taken = active_invite_name(settings, name)
        if taken:
            return Caller(name=name, role=RATER, signed_in=False, via=via, refusal=name_taken(name, taken))
    return Caller(name=name, role=role, via=via)


def _invited(request: gr.Request, settings: Settings, expected: str | None = None) -> Caller:
    """The invited rater, or anonymous; with ``expected`` (the "invite:<name>" session) only that rater."""
    invited = invited_rater(request, settings)
    if invited and (expected is None or invited == expected):
        return Caller(name=invited, role=RATER, via="invite")
    return Caller(name=ANONYMOUS, role=RATER, signed_in=False)


def caller(request: gr.Request | None, settings: Settings) -> Caller:
    mode = auth_mode(settings)
    if mode == "local":  # one local admin, whatever cookie the browser holds
        return Caller(name=LOCAL_ADMIN, role=ADMIN, via="local")
    if request is None:
        return Caller(name=ANONYMOUS, role=RATER, signed_in=False)
    if mode == "password":
        name = getattr(request, "username", None)
        if name and name.startswith(INVITE_USER_PREFIX):  # the session the invite middleware made
            return _invited(request, settings, expected=name[len(INVITE_USER_PREFIX):])
        if name:
            return _signed_in(name, ADMIN if name == ADMIN else RATER, "password", settings)
        return _invited(request, settings)
    name = _oauth_user(request)
    if name:
        admins = {a.lower() for a in settings.admins}
        if settings.space_author:
            admins.add(settings.space_author.lower())
        return _signed_in(name, ADMIN if name.lower() in admins else RATER, "oauth", settings)
    return _invited(request, settings)


def require_admin(request: gr.Request | None, settings: Settings) -> Caller:
    """Raise a visible error (and change nothing) unless the caller is an admin."""
    who = caller(request, settings)
    if not who.is_admin:
        raise gr.Error(NEEDS_ADMIN)
    return who


def require_signed_in(request: gr.Request | None, settings: Settings, message: str = NEEDS_SIGN_IN) -> Caller:
    """Raise a visible error (and change nothing) for a visitor who has not signed in."""
    who = caller(request, settings)
    if not who.signed_in:
        raise gr.Error(who.refusal or message)
    return who
