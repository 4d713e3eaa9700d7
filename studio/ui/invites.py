"""Invite links on the web server: ``<public url>/?invite=<token>`` becomes an HttpOnly cookie.

A small ASGI middleware, given to Gradio's FastAPI app through ``launch(app_kwargs=...)``:

- ``GET /?invite=<token>``: an active invite answers with a redirect to ``/`` (the token leaves the
  address bar) that sets the ``studio_invite`` cookie until the invite expires. Any other token gets
  one and the same refusal page, with no detail that would help guessing.
- The cookie rides on every later request, the browser's and a ``gradio_client``'s alike, and
  ``studio.ui.auth.caller`` checks it against the store on each call: a revoked or expired invite
  stops working at once, and identity reaches the API handlers, not only the page.
- ``GET /?invite=logout`` signs an invited rater out: the cookie is cleared (and, with password login,
  the invite's server-side Gradio session is dropped), then a redirect to ``/``.
- With password login (``STUDIO_ADMIN_PASSWORD``), Gradio's own gate would ask an invited rater for a
  password. For a request whose cookie holds an active invite and that carries no Gradio login of its
  own, the middleware adds a server-side Gradio session (``app.tokens``, the mapping Gradio's
  ``/login`` fills, keyed by the ``access-token[-unsecure]-<app.cookie_id>`` cookies) to the request;
  that session token never leaves the server. A request that did log in (the admin testing a link)
  keeps its own session. When the invite no longer resolves, its session is deleted from ``app.tokens``.
  Those two attributes are Gradio internals: at startup (and on the first request) the middleware
  checks that they exist and logs an error when they do not, since invited raters would then meet the
  password page.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import anyio

from studio.compare.raters import INVITE_USER_PREFIX, invite_expiry, resolve_invite, token_hash
from studio.settings import Settings
from studio.ui.auth import INVITE_COOKIE, INVITE_LOGOUT

log = logging.getLogger(__name__)
GRADIO_SESSION_ATTRS = ("tokens", "cookie_id")  # what password mode borrows from gradio.routes.App
MISSING_INTERNALS = ("Invite links cannot pass the password login: this Gradio's app lacks %s (Gradio internals the "
                     "studio relies on). Invited raters will be asked for a password; give them the rater password "
                     "instead, or pin the Gradio version in requirements.txt.")
NO_STORE = (b"cache-control", b"no-store")

REFUSED_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Companion Studio</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 4em auto;">
<h1>This invite link does not work</h1>
<p>It may have expired or been revoked, or part of it was lost when it was copied.
Ask your clinic's studio admin for a new link.</p></body></html>"""


class InviteMiddleware:
    def __init__(self, app, settings: Settings, password_mode: bool = False):
        self.app = app
        self.settings = settings
        self.password_mode = password_mode
        self._sessions: dict[str, str] = {}  # token hash -> the Gradio session token made for it
        self.sessions_supported: bool | None = None  # checked once, when the first scope shows the Gradio app

    async def __call__(self, scope, receive, send) -> None:
        if self.password_mode and self.sessions_supported is None and scope.get("app") is not None:
            self.sessions_supported = check_gradio_sessions(scope["app"])
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and _is_root(scope):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if any(key == "invite" for key, _ in query):
                await self._redeem(scope, send, query)
                return
        if self.password_mode and self.sessions_supported and scope["type"] in ("http", "websocket"):
            await self._add_gradio_session(scope)
        await self.app(scope, receive, send)

    async def _redeem(self, scope, send, query: list[tuple[str, str]]) -> None:
        token = next(value for key, value in query if key == "invite")
        secure = _is_https(scope)
        if token == INVITE_LOGOUT:
            await self._sign_out(scope, send, query, secure)
            return
        name = await anyio.to_thread.run_sync(resolve_invite, self.settings, token)
        if name is None:
            clear = _cookie("", 0, secure)
            await _respond(send, 403, [(b"content-type", b"text/html; charset=utf-8"), (b"set-cookie", clear), NO_STORE],
                           REFUSED_PAGE.encode("utf-8"))
            return
        expires = await anyio.to_thread.run_sync(invite_expiry, self.settings, token)
        max_age = max(1, int((expires - datetime.now(UTC)).total_seconds())) if expires else 1
        await _respond(send, 303, [(b"location", _home(scope, query)), (b"set-cookie", _cookie(token, max_age, secure)),
                                   NO_STORE], b"")

    async def _sign_out(self, scope, send, query: list[tuple[str, str]], secure: bool) -> None:
        """Clear the invite cookie (and drop the invite's Gradio session), then back to the start page."""
        token = _request_cookies(scope).get(INVITE_COOKIE)
        if token:
            self._drop_session(scope.get("app"), token)
        await _respond(send, 303, [(b"location", _home(scope, query)), (b"set-cookie", _cookie("", 0, secure)), NO_STORE], b"")

    def _drop_session(self, app, token: str) -> None:
        session = self._sessions.pop(token_hash(token), None)
        tokens = getattr(app, "tokens", None)
        if session is not None and isinstance(tokens, dict):
            tokens.pop(session, None)

    async def _add_gradio_session(self, scope) -> None:
        app = scope.get("app")
        cookies = _request_cookies(scope)
        token = cookies.get(INVITE_COOKIE)
        if not token or app is None:
            return
        names = _session_cookie_names(app)
        own = next((cookies[n] for n in names if cookies.get(n)), None)  # the one Gradio reads first
        user = app.tokens.get(own) if own else None
        if user and not user.startswith(INVITE_USER_PREFIX):
            return  # logged in with a password (e.g. the admin trying the link): that login wins
        name = await anyio.to_thread.run_sync(resolve_invite, self.settings, token)
        if name is None:
            self._drop_session(app, token)
            return
        session = self._sessions.setdefault(token_hash(token), secrets.token_urlsafe(32))
        app.tokens[session] = f"{INVITE_USER_PREFIX}{name}"
        _set_cookies(scope, {n: session for n in names})


def check_gradio_sessions(app) -> bool:
    """Whether ``app`` (Gradio's FastAPI app) has what password mode needs; logs an error when it does not."""
    missing = [attr for attr in GRADIO_SESSION_ATTRS if not hasattr(app, attr)]
    if not missing and not isinstance(app.tokens, dict):
        missing = ["a dict app.tokens"]
    if missing:
        log.error(MISSING_INTERNALS, ", ".join(missing))
    return not missing


def _session_cookie_names(app) -> tuple[str, str]:
    # Gradio's /login sets both; get_current_user reads the first, then the second.
    return f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"


def _home(scope, query: list[tuple[str, str]]) -> bytes:
    rest = urlencode([(k, v) for k, v in query if k != "invite"])
    return ((scope.get("root_path") or "") + "/" + (f"?{rest}" if rest else "")).encode("latin-1")


def _is_root(scope) -> bool:
    return scope.get("path", "").rstrip("/") == (scope.get("root_path") or "").rstrip("/")


def _is_https(scope) -> bool:
    forwarded = dict(scope.get("headers") or []).get(b"x-forwarded-proto", b"").decode("latin-1")
    return scope.get("scheme") == "https" or forwarded.split(",")[0].strip() == "https"


def _cookie(value: str, max_age: int, secure: bool) -> bytes:
    # On https, SameSite=None lets the cookie work when the Space is shown inside huggingface.co's frame.
    same_site = "SameSite=None; Secure" if secure else "SameSite=Lax"
    return f"{INVITE_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; {same_site}".encode("latin-1")


def _request_cookies(scope) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                if name:
                    cookies[name] = val
    return cookies


def _set_cookies(scope, values: dict[str, str]) -> None:
    """Set cookies in the request's one Cookie header (Starlette reads only the first), replacing any of those names."""
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"cookie"]
    kept = [part.strip() for k, v in scope.get("headers") or [] if k == b"cookie"
            for part in v.decode("latin-1").split(";") if part.strip() and part.strip().partition("=")[0] not in values]
    joined = "; ".join([*kept, *(f"{name}={value}" for name, value in values.items())])
    scope["headers"] = [*headers, (b"cookie", joined.encode("latin-1"))]


async def _respond(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def middleware(settings: Settings, password_mode: bool):
    """The entry for ``launch(app_kwargs={"middleware": [...]})``."""
    from starlette.middleware import Middleware

    return Middleware(InviteMiddleware, settings=settings, password_mode=password_mode)
