"""On a Space (SPACE_ID set, hf_oauth on) the real app starts and offers Hugging Face sign-in.

Without the ``gradio[oauth]`` extra, ``launch`` raised "Cannot initialize OAuth due to a missing
library" and the Space never came up; no test booted the app in that mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import REPO, free_port


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, timeout: float = 5):
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.mark.slow
def test_app_starts_with_space_id_and_offers_sign_in(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SYSTEM": "spaces", "SPACE_ID": "clinic/companion-studio", "SPACE_AUTHOR_NAME": "clinic",
        "SPACE_HOST": f"127.0.0.1:{port}",
        # What a Space with hf_oauth: true receives; the provider is never contacted by this test.
        "OAUTH_CLIENT_ID": "test-client", "OAUTH_CLIENT_SECRET": "test-secret", "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": "http://127.0.0.1:9", "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log = (tmp_path / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, status = time.time() + 300, None
        while time.time() < deadline and proc.poll() is None:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                time.sleep(1)
        output = (tmp_path / "app.log").read_text()
        assert proc.poll() is None, f"the app exited on a Space: {output[-3000:]}"
        assert status == 200, output[-3000:]
        assert "Cannot initialize OAuth" not in output
        # The sign-in route exists and hands over to the Hugging Face provider (a redirect, not a 404).
        login_status, _ = _get(f"http://127.0.0.1:{port}/login/huggingface")
        assert login_status in (302, 307, 500) and login_status != 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
