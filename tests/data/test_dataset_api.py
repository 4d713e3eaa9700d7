"""The Dataset tab through gradio_client: open + dataset_save as an admin; a rater is refused."""

from __future__ import annotations

import pytest

from studio.data.store import DatasetStore
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _launch(settings):
    from studio.ui.app import build_app, launch_kwargs

    demo = build_app(settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, **launch_kwargs(settings, port=port))
    return demo, f"http://127.0.0.1:{port}/"


def test_open_and_save_through_the_api(settings):
    from gradio_client import Client

    demo, url = _launch(settings)
    try:
        client = Client(url, verbose=False)
        opened = client.predict(name="companion-starter", api_name="/dataset_open")
        assert any("Opened 'companion-starter'" in str(x) for x in opened)
        saved = client.predict(note="from the API", api_name="/dataset_save")
        assert any("Saved 'companion-starter' as version 2" in str(x) for x in saved)
    finally:
        demo.close()
    assert DatasetStore(settings).versions("companion-starter")[-1].note == "from the API"


def test_rater_cannot_save_or_import(settings):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    locked = settings.with_(admin_password="admin-pw", rater_password="rater-pw")
    demo, url = _launch(locked)
    try:
        client = Client(url, auth=("dr-lee", "rater-pw"), verbose=False)
        for api_name, kwargs in (("/dataset_save", {"note": "x"}), ("/dataset_open", {"name": "companion-starter"})):
            with pytest.raises(AppError, match="admin"):
                client.predict(api_name=api_name, **kwargs)
    finally:
        demo.close()
    assert DatasetStore(locked).latest("companion-starter") == 1
