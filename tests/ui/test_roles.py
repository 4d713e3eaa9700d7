"""Every endpoint that is not for raters refuses a rater, with a message naming admin, changing nothing.

The endpoints are discovered from the running app, so a new admin endpoint without a role check fails here.
"""

from __future__ import annotations

import os

import pytest

from studio.ui.app import build_app, launch_kwargs
from tests.conftest import free_port

# What a rater may call: chatting and the blind arena. Everything else is for admins.
ROLE_CHECK_WAIT_S = 10  # a refusal comes at once; an endpoint still busy after this got past it
RATER_ENDPOINTS = {"/chat", "/arena_battle", "/arena_regenerate", "/arena_vote", "/arena_repair"}


def sample_value(param: dict, tmp_path):
    from gradio_client import handle_file

    if param.get("parameter_has_default"):
        return param.get("parameter_default")
    info = param.get("python_type", {}).get("type", "")
    component = param.get("component", "")
    if component in ("File", "UploadButton") or "filepath" in info:
        sample = tmp_path / "sample.jsonl"
        sample.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n')
        return [handle_file(str(sample))] if info.lower().startswith("list") else handle_file(str(sample))
    if component == "Dropdown":
        return None
    if info.startswith("Literal["):
        return info[len("Literal[") :].split(",")[0].strip(" ]'\"")
    if info in ("float", "int"):
        return 1
    if info == "bool":
        return False
    if info.startswith(("list", "List")):
        return []
    if info.startswith(("dict", "Dict")):
        return {}
    return "x"


def snapshot(root) -> dict:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if name.startswith(".write-test") or "chroma" in path:
                continue
            out[path] = os.stat(path).st_mtime_ns
    return out


def launched_with_passwords(settings, admin_password: str, rater_password: str = "rater-pw-456"):
    """The app behind password login, launched on a free port: yields (settings, url), closes after."""
    s = settings.with_(admin_password=admin_password, rater_password=rater_password)
    demo = build_app(s)
    port = free_port()
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(s, host="127.0.0.1", port=port))
    yield s, f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def locked_app(settings):
    yield from launched_with_passwords(settings, "admin-pw-123")


def test_every_admin_endpoint_refuses_a_rater(locked_app, tmp_path):
    from gradio_client import Client

    settings, url = locked_app
    rater = Client(url, auth=("dr-okafor", "rater-pw-456"), verbose=False)
    endpoints = rater.view_api(return_format="dict", print_info=False)["named_endpoints"]
    admin_only = {name: spec for name, spec in endpoints.items() if name not in RATER_ENDPOINTS}
    for required in ("/start_training", "/stop_training", "/kb_add", "/dataset_save"):
        assert required in endpoints, f"{required} is missing from the API"
    before = snapshot(settings.data_dir)
    refused = []
    for name, spec in sorted(admin_only.items()):
        args = [sample_value(p, tmp_path) for p in spec["parameters"]]
        try:
            answer = rater.predict(*args, api_name=name)
        except Exception as exc:  # noqa: BLE001 - the refusal arrives as the client's AppError
            assert "needs an admin" in str(exc).lower(), f"{name} answered a rater with: {exc}"
        else:
            pytest.fail(f"{name} answered a rater: {str(answer)[:200]}")
        refused.append(name)
    assert snapshot(settings.data_dir) == before
    assert len(refused) >= 4


def test_admin_can_call_the_same_endpoints(locked_app, tmp_path):
    """The same calls, as an admin, get past the role check: each answers or fails for its input, never for the role."""
    from gradio_client import Client

    _, url = locked_app
    admin = Client(url, auth=("admin", "admin-pw-123"), verbose=False)
    endpoints = admin.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/start_training" in endpoints and "/chat" in endpoints
    called = []
    for name, spec in sorted(endpoints.items()):
        if name in RATER_ENDPOINTS:
            continue
        args = [sample_value(p, tmp_path) for p in spec["parameters"]]
        job = admin.submit(*args, api_name=name)
        try:
            job.result(timeout=ROLE_CHECK_WAIT_S)
        except TimeoutError:  # still working: the role check (the handler's first line) has passed
            job.cancel()
        except Exception as exc:  # a sample value may be refused; the role never is
            assert "needs an admin" not in str(exc).lower(), f"{name} refused the admin: {exc}"
        called.append(name)
    print(f"called {len(called)} endpoints as admin")
    assert len(called) >= 4


@pytest.mark.slow
def test_signed_in_rater_name_is_the_rater_id(locked_app):
    """With a login, a vote is stored under the signed-in name, whatever is typed in the name box."""
    from gradio_client import Client

    from studio.compare.arena import ArenaConfig, store
    from tests.compare.helpers import make_run

    settings, url = locked_app
    make_run(settings, "run-roles", steps=2)
    ArenaConfig(models=["base", "run-roles"], max_new_tokens=8, temperature=0.0).save(settings)
    rater = Client(url, auth=("dr-okafor", "rater-pw-456"), verbose=False)
    battle_id = rater.predict("How do I rest after a session?", None, "someone else", api_name="/arena_battle")[0]
    rater.predict(battle_id, "tie", "", "someone else", api_name="/arena_vote")
    assert [v["rater"] for v in store(settings).votes()] == ["dr-okafor"]


@pytest.mark.parametrize("model", ["/tmp", "../runs/../..", "HuggingFaceTB/SmolLM2-135M-Instruct", "embedded", "./base"])
def test_a_rater_cannot_make_the_server_load_a_model_by_path_or_hub_id(locked_app, model):
    """/chat used to accept any folder or Hub id from a rater: four spellings of one path loaded four copies."""
    from gradio_client import Client

    from studio.models.loader import model_cache

    settings, url = locked_app
    rater = Client(url, auth=("dr-okafor", "rater-pw-456"), verbose=False)
    with pytest.raises(Exception, match="is not a model you can choose"):
        rater.predict("hello", [], model, api_name="/chat")
    assert not model_cache(settings).is_loaded(model) and not model_cache(settings).is_loaded("embedded")
