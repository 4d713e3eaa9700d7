"""The same ingestion and queries against a real Chroma server (``chroma run``) through HttpClient."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from studio.rag.kb import KnowledgeBase
from studio.rag.store import StoreError, make_client
from studio.settings import Settings
from tests.conftest import free_port
from tests.rag.helpers import make_pdf


def _chroma_bin() -> str:
    local = Path(sys.executable).with_name("chroma")
    return str(local) if local.exists() else (shutil.which("chroma") or "chroma")


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [_chroma_bin(), "run", "--path", str(tmp_path / "server-db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def server_settings(tmp_path, port) -> Settings:
    env = {"STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_CHROMA_HOST": "127.0.0.1", "STUDIO_CHROMA_PORT": str(port)}
    return Settings.from_env(env)


def test_ingest_and_query_through_a_chroma_server(chroma_server, tmp_path):
    settings = server_settings(tmp_path, chroma_server)
    kb = KnowledgeBase(settings)
    assert type(kb.store.client).__name__ != "PersistentClient"
    guide = tmp_path / "guide.md"
    guide.write_text("# Aftercare\n\nRest after the session. Do not drive until the next day.\n\n# Crisis\n\nCall or text 988.\n")
    pdf = make_pdf(tmp_path / "book.pdf", ["Preparing: arrange a ride home.", "Aftercare: drink water and rest."])

    assert kb.add_files([guide, pdf]).to_json() == {"added": ["guide.md", "book.pdf"], "unchanged": [], "replaced": [], "chunks": 4}
    assert kb.add_files([guide]).unchanged == ["guide.md"]
    hit = kb.query("drink water", k=1)[0]
    assert (hit.doc, hit.page) == ("book.pdf", 2)
    assert kb.query("988", k=1, mode="bm25")[0].doc == "guide.md"

    guide.write_text(guide.read_text() + "\n# Integration\n\nJournaling helps.\n")
    assert kb.add_files([guide]).replaced == ["guide.md"]
    # A second process (here: instance) sees the server's data, and its BM25 index follows changes.
    other = KnowledgeBase(settings)
    assert {d.doc: d.chunks for d in other.list_documents()} == {"book.pdf": 2, "guide.md": 3}
    assert other.query("journaling", k=1)[0].heading == "Integration"
    assert kb.remove("book.pdf") == 2
    assert [d.doc for d in other.list_documents()] == ["guide.md"]
    assert other.query("ride home", k=3, doc="book.pdf") == []
    assert not (tmp_path / "data" / "knowledge" / "chroma").exists()  # nothing written locally


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = server_settings(tmp_path, free_port())
    with pytest.raises(StoreError, match="Cannot reach the Chroma server"):
        make_client(settings)
