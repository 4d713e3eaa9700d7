"""``/start_training`` takes named parameters: the README's example runs as written, as an admin."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from studio.train.runs import load_run
from tests.ui.test_roles import launched_with_passwords

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- start-training-example -->\s*```python\n(.*?)```", text, re.S)
    assert block, "the README lost its /start_training example"
    return block.group(1)


@pytest.fixture
def admin_app(settings):
    yield from launched_with_passwords(settings, "the-admin-password")  # the README example's password


def test_the_api_lists_the_form_fields_by_name(admin_app):
    from gradio_client import Client

    _, url = admin_app
    client = Client(url, auth=("admin", "the-admin-password"), verbose=False)
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/start_training"]["parameters"]
    names = [p["parameter_name"] for p in params]
    assert {"dataset", "max_steps", "method", "learning_rate", "hub_push", "jobs_flavor"} <= set(names)
    assert not any(n is None or n.startswith("param_") for n in names)


@pytest.mark.slow
def test_readme_example_starts_and_stops_a_run(admin_app):
    settings, url = admin_app
    scope: dict = {}
    exec(readme_example().replace("http://127.0.0.1:7860/", url), scope)  # noqa: S102 - the README's own code
    run = load_run(settings, scope["run_id"])
    assert scope["run_id"] in scope["message"] and run.config().max_steps == 2
    assert run.config().dataset == "companion-starter"
    deadline = time.monotonic() + 900
    while run.state in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(1)  # the stop lands after the current step
    assert run.state in ("cancelled", "succeeded"), run.status()
