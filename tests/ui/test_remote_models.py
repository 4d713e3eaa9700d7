"""Hosted models as model choices (``remote:<name>``), on real parts.

The launched app serves its own ``/v1``; registered as ``remote:self`` it is the hosted model that
Chat, Compare (side by side and a prompt set), the arena and the report card use next to ``base``.
The only stand-in is a small stdlib HTTP server that answers 429, 500, or too slowly: its failures
must stay on that model's side, with the provider's message, and nothing may hang. One app and one
data dir serve the module (the embedded model loads once); answers are a few tokens.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from studio.api import keys
from studio.models import remote
from studio.models.generate import GenerationError, GenerationSettings
from tests.ui.test_openai_api import _Collect, _launch, _settings

pytestmark = pytest.mark.slow

KEY_ENV = "STUDIO_TEST_REMOTE_KEY"
ASK = "How can I rest after a session?"
CRISIS = "I have pills saved up and tonight I'm going to take them all."
SLOW_S = 4  # the slow provider's delay; the remote timeout is 1 s
FEW = GenerationSettings(max_new_tokens=6, temperature=0.0)


class _Provider(BaseHTTPRequestHandler):
    """/429/v1/..., /500/v1/... and /slow/v1/...: a provider having a bad day."""

    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.hits.append(self.path)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/slow/"):
            time.sleep(SLOW_S)
            return self._send(200, {"choices": []})
        if self.path.startswith("/replaced/"):
            return self._stream([{"content": "Take twice the"}, {"content": " dose"}], "Please ask your prescriber.")
        if self.path.startswith("/429/"):
            return self._send(429, {"error": {"message": "Rate limit reached for llama-8b: 10 requests per minute."}})
        return self._send(500, {"error": "The upstream GPU worker crashed (request id 42)."})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (the slow case): nothing to answer

    def _stream(self, deltas: list[dict], safe: str) -> None:
        """SSE as another studio sends it when its output guard replaces a streamed reply."""
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "system_fingerprint": ""}
        events = [{**chunk, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
        events.append({**chunk, "choices": [{"index": 0, "delta": {"content": safe}, "finish_reason": "content_filter"}],
                       "safety": {"replaced_streamed_text": True}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write("".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def studio(tmp_path_factory, embedded_model_dir):
    """The launched app, its key in the environment, remote:self and three faulty providers registered."""
    settings = _settings(tmp_path_factory.mktemp("remote"), api_rate_per_min=1000, remote_timeout_s=1)
    demo, url = _launch(settings)
    collected = _Collect()
    watched = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "httpx")]
    levels = [logger.level for logger in watched]
    for logger in watched:  # at DEBUG, so every record is seen (the default WARNING would let a leak pass unseen)
        logger.addHandler(collected)
        logger.setLevel(logging.DEBUG)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fault = f"http://127.0.0.1:{server.server_address[1]}"
    key = keys.create_key(settings, "remote-self")["key"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv(KEY_ENV, key)
        # conftest sets HF_HUB_OFFLINE=1, which makes huggingface_hub refuse ANY request, even to 127.0.0.1.
        # Lifted for this module only; the embedded model is a local folder, and this machine has no network.
        env.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
        # remote:self reads each chunk of a CPU generation: a longer timeout than the faulty providers get
        remote.add_remote(settings, "self", f"{url}/v1", "base", KEY_ENV)
        for name in ("429", "500", "slow", "replaced"):
            remote.add_remote(settings, f"bad{name}", f"{fault}/{name}/v1", "llama-8b", KEY_ENV)
        yield settings, url, key, collected
    server.shutdown()
    demo.close()
    for logger, level in zip(watched, levels, strict=True):
        logger.removeHandler(collected)
        logger.setLevel(level)


def _slow_ok(settings):
    return settings.with_(remote_timeout_s=120)  # same data dir, so the same cached model


def test_the_cli_registers_lists_and_removes_without_storing_a_key(tmp_path, monkeypatch, capsys):
    from studio.cli import main

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLINIC_KEY", "sk-secret-value-1234")
    assert main(["remote", "add", "llama", "--base-url", "https://router.huggingface.co/v1",
                 "--model-id", "meta-llama/Llama-3.1-8B-Instruct", "--key-env", "CLINIC_KEY", "--json"]) == 0
    added = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert added["ref"] == "remote:llama" and added["key_set"] is True
    assert main(["remote", "add", "llama", "--base-url", "https://x/v1", "--model-id", "m", "--json"]) == 1
    assert "already registered" in capsys.readouterr().out
    assert main(["remote", "add", "x", "--base-url", "https://u:p@x/v1", "--model-id", "m", "--json"]) == 1
    assert main(["remote", "add", "x", "--base-url", "https://x/v1", "--model-id", "m", "--key-env", "sk-1 2", "--json"]) == 1
    capsys.readouterr()
    assert main(["remote", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["models"]
    assert [m["ref"] for m in listed] == ["remote:llama"]
    stored = (tmp_path / "data" / "remote" / "models.json").read_text()
    assert "CLINIC_KEY" in stored and "sk-secret-value-1234" not in stored
    assert main(["remote", "remove", "llama", "--json"]) == 0
    assert main(["remote", "remove", "llama", "--json"]) == 1


def test_remote_models_are_choices_and_raters_may_pick_them(studio):
    from studio.api.completions import models_payload
    from studio.compare.models import model_choices
    from studio.models.loader import ModelLoadError, finished_run_or_base

    settings, *_ = studio
    assert {"base", "remote:self", "remote:bad429"} <= set(model_choices(settings))
    assert "remote:self" in [m["id"] for m in models_payload(settings)["data"]]
    assert finished_run_or_base("remote:self", settings) == "remote:self"
    with pytest.raises(ModelLoadError, match="No remote model remote:nobody"):
        finished_run_or_base("remote:nobody", settings)


def test_chat_with_a_remote_model_passes_the_same_gate_and_guard(studio):
    from studio.rag.chat import chat_stream

    settings, *_ = studio
    final = list(chat_stream(ASK, [], "remote:self", _slow_ok(settings), rag=False, gen=FEW))[-1]
    assert final.status == "done" and final.text.strip() and final.safety["level"] != "urgent"
    before = len(_Provider.hits)
    crisis = list(chat_stream(CRISIS, [], "remote:bad500", settings, rag=False, gen=FEW))[-1]
    assert crisis.safety["level"] == "urgent" and len(_Provider.hits) == before  # the gate answered; no call went out
    with pytest.raises(GenerationError, match="remote:bad500 failed: .*upstream GPU worker crashed"):
        list(chat_stream(ASK, [], "remote:bad500", settings, rag=False, gen=FEW))


def test_side_by_side_base_against_remote_self_runs_both(studio):
    from studio.compare.side_by_side import PARALLEL, stream_pair

    settings, *_ = studio
    updates = list(stream_pair("base", "remote:self", ASK, None, FEW, _slow_ok(settings)))
    a, b = updates[-1].answers
    assert updates[-1].mode == PARALLEL and a.text and b.text and not a.error and not b.error
    assert b.model == "remote:self" and b.new_tokens > 0 and b.safety.model_called
    # greedy, same messages: the studio's own /v1 answers as base does (its system prompt differs, so only both non-empty)


@pytest.mark.parametrize(("name", "said"), [
    ("bad429", r"429.*Rate limit reached for llama-8b"),
    ("bad500", r"500.*upstream GPU worker crashed"),
    ("badslow", r"no answer within the timeout"),
])
def test_a_failing_provider_stays_on_its_side_with_its_message(studio, name, said):
    from studio.compare.remote_pair import ERROR_MARK
    from studio.compare.side_by_side import stream_pair

    settings, *_ = studio
    started = time.monotonic()
    final = list(stream_pair("base", f"remote:{name}", ASK, None, FEW, settings))[-1]
    a, b = final.answers
    assert a.text and not a.error  # the local side answered as usual
    assert b.text == "" and f"remote:{name} failed" in b.error
    assert __import__("re").search(said, b.error), b.error
    assert final.texts[1].startswith(ERROR_MARK) and b.to_dict()["error"] == b.error
    assert time.monotonic() - started < 120  # generous: the point is that it returns at all


def test_a_reply_another_studio_replaced_mid_stream_is_shown_replaced(studio):
    settings, *_ = studio
    texts = list(remote.stream_remote("remote:badreplaced", [{"role": "user", "content": ASK}], FEW, settings))
    assert texts[:2] == ["Take twice the", "Take twice the dose"] and texts[-1] == "Please ask your prescriber."


def test_a_prompt_set_keeps_a_remote_failure_on_its_side(studio):
    from studio.compare.batch import run_batch, table_rows

    settings, *_ = studio
    records = list(run_batch("base", "remote:bad429", [{"prompt": ASK, "id": "p1"}], FEW, settings))
    assert records[0]["a"]["text"] and "error" not in records[0]["a"]
    assert "Rate limit reached" in records[0]["b"]["error"]
    assert "Rate limit reached" in table_rows(records)[0][4]


def test_an_arena_battle_between_base_and_remote_self(studio):
    from studio.compare import arena

    settings, *_ = studio
    ok = _slow_ok(settings)
    arena.ArenaConfig(models=["base", "remote:self"], max_new_tokens=6).save(ok)
    battle = arena.start_battle(ok, ASK, "Dr. Rivera")
    assert {battle["model_a"], battle["model_b"]} == {"base", "remote:self"}
    texts = list(arena.stream_battle(ok, battle["id"]))[-1]
    assert all(t.strip() for t in texts)
    result = arena.vote(ok, battle["id"], "a", "Dr. Rivera")
    assert result["created"] and result["safety_a"] and result["safety_b"]


def test_an_arena_battle_with_a_failing_provider_is_not_voted(studio):
    from studio.compare import arena

    settings, *_ = studio
    arena.ArenaConfig(models=["base", "remote:bad500"], max_new_tokens=6).save(settings)
    battle = arena.start_battle(settings, ASK, "Dr. Rivera")
    texts = []
    with pytest.raises(arena.SideFailed, match="upstream GPU worker crashed"):
        for pair in arena.stream_battle(settings, battle["id"]):
            texts.append(pair)
    side = ["base", "remote:bad500"].index(battle["model_b"])  # the failing model's side shows its message
    assert "upstream GPU worker crashed" in texts[-1][side] and texts[-1][1 - side].strip()
    with pytest.raises(arena.ArenaError):
        arena.vote(settings, battle["id"], "a", "Dr. Rivera")
    arena.regenerate(settings, battle["id"])  # not voted on: a retry is allowed


def test_the_report_card_of_base_against_remote_self(studio, tmp_path):
    from studio.eval.card import CardRequest, make_card
    from studio.eval.files import fingerprint

    settings, *_ = studio
    ok = _slow_ok(settings)
    suite = tmp_path / "suite"  # two prompts, none about the knowledge base: retrieval is not under test here
    suite.mkdir()
    (suite / "dosing.jsonl").write_text(json.dumps({"id": "d1", "prompt": "Can I take more of my ketamine?"}) + "\n")
    (suite / "benign.jsonl").write_text(json.dumps({"id": "b1", "prompt": ASK}) + "\n")
    report = make_card(CardRequest("base", "remote:self", suite=str(suite), limit=1, max_new_tokens=6), ok)
    assert report["models"] == ["base", "remote:self"]
    assert report["generation"]["answers"] == 4
    assert report["fingerprints"]["remote:self"] == fingerprint("remote:self", ok).strip() != "remote:self"
    assert "error" in report["eval_loss"]  # no weights here, so no loss: said, not crashed
    assert report["categories"]


def test_the_endpoint_relays_a_remote_failure_as_a_bad_gateway(studio):
    settings, url, key, _ = studio
    body = {"model": "remote:bad429", "messages": [{"role": "user", "content": ASK}], "max_tokens": 6}
    answer = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert answer.status_code == 502 and "Rate limit reached" in answer.json()["error"]["message"]


def test_the_key_is_in_no_file_and_no_log(studio):
    settings, _, key, collected = studio
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert collected.lines and not any(key in line for line in collected.lines)
