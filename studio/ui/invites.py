"""Invite links on the web server: ``<public url>/?invite=<token>`` becomes an HttpOnly cookie.

A small ASGI middleware, given to Gradio's FastAPI app through ``launch(app_kwargs=...)``:

- ``GET /?invite=<token>``: an active invite answers with a redirect to ``/`` (the token leaves the
  address bar) that sets the ``studio_invite`` cookie until the invite expires. Any other token gets
  one and the same refusal page, with no detail that would help guessing.
- The cookie rides on every later request, the browser's and a ``gradio_client``'s alike, and
  ``studio.ui.auth.caller`` checks it against the store on each call: a revoked or expired invite
  stops working at once, and identity reaches the API handlers, not only the page.
- With password login (``STUDIO_ADMIN_PASSWORD``), Gradio's own gate would ask an invited rater for a
  password. For a request whose cookie holds an active invite, the middleware adds a server-side
  Gradio session (``app.tokens``, the mapping Gradio's ``/login`` fills) to the request; that session
  token never leaves the server.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import anyio

from studio.compare.raters import invite_expiry, resolve_invite, token_hash
from studio.settings import Settings
from studio.ui.auth import INVITE_COOKIE

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

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and _is_root(scope):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if any(key == "invite" for key, _ in query):
                await self._redeem(scope, send, query)
                return
        if self.password_mode and scope["type"] in ("http", "websocket"):
            await self._add_gradio_session(scope)
        await self.app(scope, receive, send)

    async def _redeem(self, scope, send, query: list[tuple[str, str]]) -> None:
        token = next(value for key, value in query if key == "invite")
        name = await anyio.to_thread.run_sync(resolve_invite, self.settings, token)
        secure = _is_https(scope)
        if name is None:
            clear = _cookie("", 0, secure)
            await _respond(send, 403, [(b"content-type", b"text/html; charset=utf-8"), (b"set-cookie", clear)],
                           REFUSED_PAGE.encode("utf-8"))
            return
        expires = await anyio.to_thread.run_sync(invite_expiry, self.settings, token)
        max_age = max(1, int((expires - datetime.now(UTC)).total_seconds())) if expires else 1
        rest = urlencode([(k, v) for k, v in query if k != "invite"])
        location = (scope.get("root_path") or "") + "/" + (f"?{rest}" if rest else "")
        await _respond(send, 303, [(b"location", location.encode("latin-1")), (b"set-cookie", _cookie(token, max_age, secure)),
                                   (b"cache-control", b"no-store")], b"")

    async def _add_gradio_session(self, scope) -> None:
        app = scope.get("app")
        token = _request_cookies(scope).get(INVITE_COOKIE)
        if not token or app is None or not hasattr(app, "tokens") or not hasattr(app, "cookie_id"):
            return
        name = await anyio.to_thread.run_sync(resolve_invite, self.settings, token)
        if name is None:
            return
        session = self._sessions.setdefault(token_hash(token), secrets.token_urlsafe(32))
        app.tokens[session] = f"invite:{name}"
        _add_cookie(scope, f"access-token-unsecure-{app.cookie_id}", session)


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


def _add_cookie(scope, name: str, value: str) -> None:
    """Append a cookie to the request's one Cookie header (Starlette reads only the first)."""
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"cookie"]
    existing = "; ".join(v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"cookie")
    joined = f"{existing}; {name}={value}" if existing else f"{name}={value}"
    scope["headers"] = [*headers, (b"cookie", joined.encode("latin-1"))]


async def _respond(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def middleware(settings: Settings, password_mode: bool):
    """The entry for ``launch(app_kwargs={"middleware": [...]})``."""
    from starlette.middleware import Middleware

    return Middleware(InviteMiddleware, settings=settings, password_mode=password_mode)
