"""The OpenAI-compatible endpoint on the launched app: keys, the safety path, errors, the rate limit, secrecy.

One app (and one data dir, so the embedded model loads once) serves the module; answers are 8 tokens.
Raw httpx plays the client: the ``openai`` package is not installed in the studio's environment.
"""

from __future__ import annotations

import json
import logging
import os

import httpx
import pytest

from studio.api import keys
from studio.api.completions import MAX_TOKENS_CAP, ApiError, parse_request
from studio.settings import Settings
from studio.ui.app import build_app, launch_kwargs
from tests.conftest import free_port

CRISIS = "I have pills saved up and tonight I'm going to take them all."
ASK = "How can I rest after a session?"


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _settings(root, **changes) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_") and k != "HF_TOKEN"}
    env["STUDIO_DATA_DIR"] = str(root / "data")
    return Settings.from_env(env).with_(**changes)


def _launch(settings: Settings):
    port = free_port()
    demo = build_app(settings)
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(settings, host="127.0.0.1", port=port))
    return demo, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def api(tmp_path_factory, embedded_model_dir):
    settings = _settings(tmp_path_factory.mktemp("api"), api_rate_per_min=1000)
    demo, url = _launch(settings)
    collected = _Collect()  # after the launch: uvicorn's logging setup replaces its loggers' handlers
    watched = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.access", "uvicorn.error")]
    for logger in watched:
        logger.addHandler(collected)
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)  # access lines on, to check they carry no key
    key = keys.create_key(settings, "test-client")["key"]
    yield settings, url, key, collected
    demo.close()
    for logger in watched:
        logger.removeHandler(collected)


def post(url: str, body: dict, key: str | None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=300, **kwargs)


def chat(prompt: str, **extra) -> dict:
    return {"model": "base", "messages": [{"role": "user", "content": prompt}], "max_tokens": 8, "temperature": 0, **extra}


def test_no_key_or_an_unknown_key_or_a_rater_cookie_is_refused(api):
    from studio.compare.raters import create_invite
    from studio.ui.auth import INVITE_COOKIE

    settings, url, key, _ = api
    invite = create_invite(settings, "Dr. Rivera")["link"].split("?invite=")[1]
    answers = [post(url, chat(ASK), None), post(url, chat(ASK), "sk-studio-not-a-real-key"),
               post(url, chat(ASK), None, cookies={INVITE_COOKIE: invite}),
               httpx.get(f"{url}/v1/models", timeout=30)]
    assert [a.status_code for a in answers] == [401] * 4
    for answer in answers:
        error = answer.json()["error"]
        assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error" and error["message"]
    assert "api-keys create" in answers[0].json()["error"]["message"]


def test_models_lists_base(api):
    _, url, key, _ = api
    answer = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["object"] == "list" and [m["id"] for m in answer.json()["data"]] == ["base"]


@pytest.mark.slow
def test_a_completion_returns_text_with_the_standard_fields_and_a_safety_object(api):
    _, url, key, _ = api
    answer = post(url, chat(ASK, seed=1), key)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-") and data["model"] == "base"
    choice = data["choices"][0]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant" and choice["message"]["content"].strip()
    assert choice["finish_reason"] in ("stop", "length", "content_filter")
    assert 0 < data["usage"]["completion_tokens"] <= 8 and data["usage"]["prompt_tokens"] > 0
    assert data["safety"]["level"] == "none" and data["safety"]["crisis_template"] is False
    assert "output_violation" in data["safety"] and "output_codes" in data["safety"]


@pytest.mark.slow
def test_a_streamed_completion_sends_chunks_then_done(api):
    _, url, key, _ = api
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=chat(ASK, stream=True),
                      headers={"Authorization": f"Bearer {key}"}, timeout=300) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: "):] for line in answer.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.strip()
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] in ("stop", "length", "content_filter")
    assert last["safety"]["level"] == "none" and "usage" in last


@pytest.mark.slow
def test_a_client_that_hangs_up_mid_stream_does_not_block_the_next_request(api):
    _, url, key, _ = api
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=chat(ASK, stream=True, max_tokens=16),
                      headers={"Authorization": f"Bearer {key}"}, timeout=300) as answer:
        first = next(line for line in answer.iter_lines() if line.startswith("data: "))
    assert '"assistant"' in first
    after = post(url, chat(ASK, max_tokens=4), key)
    assert after.status_code == 200 and after.json()["choices"][0]["message"]["content"].strip()


def test_a_crisis_gets_the_fixed_template_and_no_model_call(api):
    from studio.safety import gate_turn

    settings, url, key, _ = api
    template = gate_turn(CRISIS, settings).response
    answer = post(url, chat(CRISIS), key)
    assert answer.status_code == 200
    data = answer.json()
    content = data["choices"][0]["message"]["content"]
    assert content == template and "988" in content
    assert data["safety"]["level"] == "urgent" and data["safety"]["crisis_template"] is True
    assert data["usage"]["completion_tokens"] == 0 and data["choices"][0]["finish_reason"] == "stop"
    # the region field picks the resources: the UK template names 999 and Samaritans, not 988
    uk = post(url, chat(CRISIS, region="UK"), key).json()["choices"][0]["message"]["content"]
    assert "988" not in uk and "999" in uk
    streamed = post(url, chat(CRISIS, stream=True), key).text
    assert "988" in streamed and '"urgent"' in streamed and streamed.rstrip().endswith("data: [DONE]")


def test_bad_requests_name_the_field(api):
    _, url, key, _ = api
    unknown = post(url, {**chat(ASK), "model": "gpt-4o"}, key)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    assert "base" in unknown.json()["error"]["message"] and unknown.json()["error"]["param"] == "model"
    path_like = post(url, {**chat(ASK), "model": "../../etc"}, key)
    assert path_like.status_code == 404
    settings = api[0]
    server_path = post(url, {**chat(ASK), "model": str(settings.runs_dir / "r")}, key)  # echoed: no server path
    assert server_path.status_code == 404 and str(settings.data_dir) not in server_path.text
    assert str(settings.data_dir.parent) not in server_path.text
    if len(str(settings.runs_dir / "r")) <= 60:  # the message quotes at most 60 characters of the name
        assert "'runs/r'" in server_path.json()["error"]["message"]
    empty = post(url, {**chat(ASK), "messages": []}, key)
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "messages"
    malformed = httpx.post(f"{url}/v1/chat/completions", content=b"{not json", timeout=30,
                           headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert malformed.status_code == 400 and "JSON" in malformed.json()["error"]["message"]
    too_long = post(url, chat("x" * 9000), key)
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "messages[0].content"
    assert "8,000" in too_long.json()["error"]["message"]
    role = post(url, {**chat(ASK), "messages": [{"role": "wizard", "content": "hi"}]}, key)
    assert role.status_code == 400 and role.json()["error"]["param"] == "messages[0].role"
    temp = post(url, chat(ASK, temperature=7), key)
    assert temp.status_code == 400 and temp.json()["error"]["param"] == "temperature"
    region = post(url, chat(ASK, region="Atlantis"), key)
    assert region.status_code == 400 and region.json()["error"]["param"] == "region"


def test_max_tokens_over_the_cap_is_clipped_and_said_so(settings):
    req = parse_request({"model": "base", "messages": [{"role": "system", "content": "be a pirate"},
                                                      {"role": "user", "content": "hi"}], "max_tokens": 50_000}, settings)
    assert req.gen.max_new_tokens == MAX_TOKENS_CAP and req.clipped_to == MAX_TOKENS_CAP
    assert any("clipped" in w for w in req.warnings) and any("System messages are ignored" in w for w in req.warnings)
    with pytest.raises(ApiError) as refused:
        parse_request({"model": "base", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, settings)
    assert refused.value.status == 400 and refused.value.param == "max_tokens"


def test_a_revoked_key_stops_working_at_once(api):
    settings, url, _, _ = api
    other = keys.create_key(settings, "short-lived")["key"]
    assert post(url, {**chat(ASK), "messages": []}, other).status_code == 400  # admitted, then refused for the body
    keys.revoke_key(settings, "short-lived")
    refused = post(url, {**chat(ASK), "messages": []}, other)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"


def test_the_rate_limit_answers_429_with_retry_after_and_password_login_does_not_gate_keys(tmp_path):
    settings = _settings(tmp_path, api_rate_per_min=2, admin_password="admin-pw-123")
    demo, url = _launch(settings)
    try:
        key = keys.create_key(settings, "busy")["key"]
        other = keys.create_key(settings, "quiet")["key"]
        assert httpx.get(f"{url}/config", timeout=30).status_code == 401  # Gradio's login still holds the app
        models = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {other}"}, timeout=30)
        assert models.status_code == 200  # the key alone opens /v1
        codes = [post(url, {"model": "base", "messages": []}, key).status_code for _ in range(3)]
        assert codes == [400, 400, 429]
        limited = post(url, {"model": "base", "messages": []}, key)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
        assert post(url, {"model": "base", "messages": []}, other).status_code == 400  # per key, not per server
    finally:
        demo.close()


def test_log_redaction_knows_the_key_shape():
    from studio.util.redact import redact

    assert redact("calling with sk-studio-AbC123_-xyzXYZ0987 now") == "calling with sk-studio-*** now"


def test_the_key_is_in_no_file_and_no_log(api, capfd):
    """Last in the module: every request above used the key."""
    settings, url, key, collected = api
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert collected.lines, "the access log was expected to have lines"
    assert not [line for line in collected.lines if key in line]
    out, err = capfd.readouterr()
    assert key not in out and key not in err
    rows = keys.list_keys(settings)
    assert {r["name"] for r in rows} >= {"test-client"} and all("key" not in r for r in rows)
