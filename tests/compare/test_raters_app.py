"""Invite links and anonymous visitors against the launched app, through gradio_client.

The app runs as on a Space (SPACE_ID set, so Hugging Face sign-in mode) unless a test says otherwise;
battles use the session's tuned run (copied into each test's data dir) and 8 new tokens.
"""

from __future__ import annotations

import logging
import shutil

import httpx
import pytest

from studio.compare import arena, raters
from studio.ui.app import build_app, launch_kwargs
from studio.ui.auth import INVITE_COOKIE
from tests.compare.conftest import RUN_ID
from tests.conftest import free_port

PROMPT = "How do I rest after a session?"
# With SYSTEM=spaces in-process, gradio's Spaces hot-reload thread stops at once ("`spaces` package is required");
# the server itself runs normally. That thread's exception is not this feature's.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture
def space_app(settings, tuned_settings, monkeypatch, caplog):
    # What a Space with hf_oauth: true receives (as in tests/ui/test_space_startup.py); the provider is never contacted.
    import gradio.oauth

    for key, value in (("SYSTEM", "spaces"), ("SPACE_ID", "clinic/companion-studio"), ("GRADIO_ANALYTICS_ENABLED", "False")):
        monkeypatch.setenv(key, value)
    for key, value in (("OAUTH_CLIENT_ID", "test-client"), ("OAUTH_CLIENT_SECRET", "test-secret"),
                       ("OAUTH_SCOPES", "openid profile"), ("OPENID_PROVIDER_URL", "http://127.0.0.1:9")):
        monkeypatch.setattr(gradio.oauth, key, value)  # gradio reads these once, at import
    caplog.set_level(logging.DEBUG)
    shutil.copytree(tuned_settings.runs_dir / RUN_ID, settings.runs_dir / RUN_ID)
    arena.ArenaConfig(models=["base", RUN_ID], max_new_tokens=8, temperature=0.0).save(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.with_(public_url=url)
    demo = build_app(settings)
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(settings, host="127.0.0.1", port=port))
    yield settings, url
    demo.close()


def open_link(link: str) -> httpx.Response:
    return httpx.get(link, follow_redirects=False, timeout=30)


def client_for(url: str, cookie: str | None = None, extra: dict | None = None):
    from gradio_client import Client

    cookies = {**({INVITE_COOKIE: cookie} if cookie else {}), **(extra or {})}
    return Client(url + "/", verbose=False, httpx_kwargs={"cookies": cookies} if cookies else None)


def stored(settings) -> tuple[int, int]:
    with arena.store(settings).connect() as conn:
        return (conn.execute("SELECT COUNT(*) FROM battles").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0])


@pytest.mark.slow
def test_an_invite_link_signs_in_its_rater_and_the_token_stays_out_of_files_and_logs(space_app, caplog, capfd):
    settings, url = space_app
    created = raters.create_invite(settings, "Dr. Rivera", days=30)
    token = created["link"].split("?invite=")[1]
    answer = open_link(created["link"])
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.cookies[INVITE_COOKIE]
    assert "httponly" in answer.headers["set-cookie"].lower()

    rater = client_for(url, cookie)
    battle_id = rater.predict(PROMPT, None, "someone else", api_name="/arena_battle")[0]
    reveal = rater.predict(battle_id, "tie", "", "someone else", api_name="/arena_vote")[0]
    assert "Dr. Rivera" in reveal
    assert [v["rater"] for v in arena.store(settings).votes()] == ["Dr. Rivera"]
    assert raters.list_raters(settings)[0]["votes"] == 1

    # The token is nowhere on disk under the data dir, nor in the log or the console output.
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert token not in caplog.text and token not in out and token not in err


def test_an_anonymous_visitor_on_a_space_cannot_battle_or_vote(space_app):
    settings, url = space_app
    visitor = client_for(url)
    with pytest.raises(Exception, match="invite link") as refused:
        visitor.predict(PROMPT, None, "I am a doctor", api_name="/arena_battle")
    assert type(refused.value).__name__ == "AppError"
    store = arena.store(settings)
    _ready(store)
    for call in (lambda: visitor.predict("b-ready", "a", "", "me", api_name="/arena_vote"),
                 lambda: visitor.predict("b-ready", api_name="/arena_regenerate")):
        with pytest.raises(Exception, match="sign in"):
            call()
    assert stored(settings) == (1, 0)  # only the battle this test stored itself; no vote


def test_revoked_expired_tampered_and_unknown_links_get_the_same_refusal(space_app):
    from datetime import UTC, datetime, timedelta

    settings, url = space_app
    live = raters.create_invite(settings, "Dr. Kim", days=30)["link"]
    cookie = open_link(live).cookies[INVITE_COOKIE]
    revoked_link = raters.create_invite(settings, "Dr. Revoked", days=30)["link"]
    raters.revoke_invites(settings, "Dr. Revoked")
    expired_link = raters.create_invite(settings, "Dr. Expired", days=30, now=datetime.now(UTC) - timedelta(days=31))["link"]
    tampered_link = live[:-2] + ("xy" if not live.endswith("xy") else "zz")
    unknown_link = f"{url}/?invite=not-a-real-token"
    answers = [open_link(link) for link in (revoked_link, expired_link, tampered_link, unknown_link)]
    assert {a.status_code for a in answers} == {403}
    assert len({a.text for a in answers}) == 1 and "expired or been revoked" in answers[0].text
    assert all(INVITE_COOKIE + "=;" in a.headers["set-cookie"] for a in answers)  # a stale cookie is cleared
    assert all(a.headers["cache-control"] == "no-store" for a in answers)

    _ready(arena.store(settings))
    raters.revoke_invites(settings, "Dr. Kim")  # a rater who already holds the cookie is refused at once
    with pytest.raises(Exception, match="invite link"):
        client_for(url, cookie).predict("b-ready", "a", "", "Dr. Kim", api_name="/arena_vote")
    assert stored(settings) == (1, 0)


def test_invite_links_work_with_password_login_too(settings, monkeypatch):
    """With STUDIO_ADMIN_PASSWORD the invited rater gets past Gradio's login without a password."""
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    s = settings.with_(admin_password="admin-pw-123")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    demo = build_app(s)
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(s, host="127.0.0.1", port=port))
    try:
        link = raters.create_invite(s.with_(public_url=url), "Dr. Rivera")["link"]
        cookie = open_link(link).cookies[INVITE_COOKIE]
        _ready(arena.store(s))
        reveal = client_for(url, cookie).predict("b-ready", "b", "", "typed", api_name="/arena_vote")[0]
        assert "Dr. Rivera" in reveal and [v["rater"] for v in arena.store(s).votes()] == ["Dr. Rivera"]
        # no cookie and no password: Gradio's gate still holds
        assert httpx.get(f"{url}/config", timeout=30).status_code == 401
        assert httpx.get(f"{url}/config", cookies={INVITE_COOKIE: cookie}, timeout=30).status_code == 200

        # the admin who opens the link to try it stays the admin
        login = httpx.post(f"{url}/login", data={"username": "admin", "password": "admin-pw-123"}, timeout=30)
        admin = client_for(url, cookie, extra=dict(login.cookies))
        assert "Dr. Rivera" in admin.predict(api_name="/raters_list")
        # signing out clears the invite cookie; the browser is back at the password page
        out = httpx.get(f"{url}/?invite=logout", cookies={INVITE_COOKIE: cookie}, follow_redirects=False, timeout=30)
        assert out.status_code == 303 and out.headers["set-cookie"].startswith(f"{INVITE_COOKIE}=; Max-Age=0")
    finally:
        demo.close()


def _ready(store) -> None:
    store.add_battle({"id": "b-ready", "ts": "t", "model_a": "base", "model_b": RUN_ID, "prompt": "p", "system": None,
                      "seed": 1, "rater": "x"})
    store.finish_battle("b-ready", "answer A", "answer B", {"flags": []}, {"flags": []})


# --- the invite middleware itself, driven as Starlette drives it (no server) ---


def _through(middleware, query: str = "", cookies: dict | None = None, app=None) -> tuple[list[dict], list[dict]]:
    """One GET / through the middleware. -> (messages it answered with, scopes it passed on to the app)."""
    import anyio

    header = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    scope = {"type": "http", "method": "GET", "path": "/", "root_path": "", "scheme": "http",
             "query_string": query.encode(), "headers": [(b"cookie", header.encode())] if header else [], "app": app}
    sent, passed = [], []

    async def app_(scope, receive, send):
        passed.append(scope)

    async def send(message):
        sent.append(message)

    middleware.app = app_
    anyio.run(middleware, scope, None, send)
    return sent, passed


def _headers(sent: list[dict]) -> dict[bytes, bytes]:
    return dict(sent[0]["headers"])


def _request_cookies(scope) -> dict[str, str]:
    from studio.ui.invites import _request_cookies

    return _request_cookies(scope)


@pytest.fixture
def password_middleware(settings):
    from gradio.routes import App

    from studio.ui.invites import InviteMiddleware

    app = App()  # Gradio's own app: the test breaks when its tokens / cookie_id go away
    return InviteMiddleware(None, settings.with_(admin_password="pw"), password_mode=True), app


def test_sign_out_clears_the_cookie_and_the_invite_session(password_middleware):
    middleware, app = password_middleware
    token = raters.create_invite(middleware.settings, "Dr. Rivera")["link"].split("?invite=")[1]
    _, (scope,) = _through(middleware, cookies={INVITE_COOKIE: token}, app=app)
    session = _request_cookies(scope)[f"access-token-{app.cookie_id}"]
    assert app.tokens[session] == "invite:Dr. Rivera"

    sent, passed = _through(middleware, "invite=logout", {INVITE_COOKIE: token}, app)
    headers = _headers(sent)
    assert not passed and sent[0]["status"] == 303 and headers[b"location"] == b"/"
    assert headers[b"set-cookie"].startswith(f"{INVITE_COOKIE}=; Max-Age=0".encode())
    assert headers[b"cache-control"] == b"no-store" and session not in app.tokens
    sent, _ = _through(middleware, "invite=logout")  # without a cookie: the same answer
    assert sent[0]["status"] == 303


def test_a_password_login_keeps_its_own_session_when_an_invite_cookie_comes_along(password_middleware):
    middleware, app = password_middleware
    token = raters.create_invite(middleware.settings, "Dr. Rivera")["link"].split("?invite=")[1]
    app.tokens["admin-session"] = "admin"
    mine = {f"access-token-{app.cookie_id}": "admin-session", INVITE_COOKIE: token}
    _, (scope,) = _through(middleware, cookies=mine, app=app)
    assert _request_cookies(scope) == mine and app.tokens == {"admin-session": "admin"}
    # a stale login (the server restarted) does not hide the invite
    _, (scope,) = _through(middleware, cookies={f"access-token-{app.cookie_id}": "gone", INVITE_COOKIE: token}, app=app)
    assert app.tokens[_request_cookies(scope)[f"access-token-{app.cookie_id}"]] == "invite:Dr. Rivera"


def test_the_session_of_a_revoked_invite_is_deleted(password_middleware):
    middleware, app = password_middleware
    token = raters.create_invite(middleware.settings, "Dr. Rivera")["link"].split("?invite=")[1]
    _through(middleware, cookies={INVITE_COOKIE: token}, app=app)
    assert list(app.tokens.values()) == ["invite:Dr. Rivera"]
    raters.revoke_invites(middleware.settings, "Dr. Rivera")
    _, (scope,) = _through(middleware, cookies={INVITE_COOKIE: token}, app=app)
    assert app.tokens == {} and set(_request_cookies(scope)) == {INVITE_COOKIE}


def test_missing_gradio_internals_are_reported_not_silently_ignored(settings, caplog):
    from types import SimpleNamespace

    from studio.ui.invites import InviteMiddleware

    middleware = InviteMiddleware(None, settings.with_(admin_password="pw"), password_mode=True)
    token = raters.create_invite(middleware.settings, "Dr. Rivera")["link"].split("?invite=")[1]
    with caplog.at_level(logging.ERROR, logger="studio.ui.invites"):
        _, (scope,) = _through(middleware, cookies={INVITE_COOKIE: token}, app=SimpleNamespace(cookie_id="x"))
    assert middleware.sessions_supported is False and set(_request_cookies(scope)) == {INVITE_COOKIE}
    assert "Invite links cannot pass the password login" in caplog.text and "tokens" in caplog.text
    refused, _ = _through(middleware, "invite=not-a-token")
    assert refused[0]["status"] == 403 and _headers(refused)[b"cache-control"] == b"no-store"
