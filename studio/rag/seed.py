"""Seed knowledge: the documents in examples/knowledge/ are added once, when the knowledge base is empty.

The app calls ``ensure_seeded(settings)`` lazily (first Knowledge/Chat use), never at import. A flag in
the collection's metadata records that seeding happened, so an admin who deliberately removes every
document does not see the seed documents come back on the next start.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from studio.rag.parsers import SUPPORTED
from studio.settings import Settings

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parents[2] / "examples" / "knowledge"
_lock = threading.Lock()
_checked: set[tuple] = set()  # stores already seeded or found non-empty in this process: skip the round trips


def seed_files(folder: Path = SEED_DIR) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)


def ensure_seeded(settings: Settings, folder: Path = SEED_DIR) -> list[str]:
    """Add the seed documents if the knowledge base is empty and was never seeded; the names added."""
    from studio.rag.kb import knowledge_base

    key = (str(settings.kb_dir), settings.chroma_host, settings.chroma_port, settings.embedder, str(folder))
    if key in _checked:
        return []
    with _lock:
        kb = knowledge_base(settings)
        if kb.store.count() > 0 or kb.store.flag("seeded"):
            _checked.add(key)
            return []
        files = seed_files(folder)
        if not files:
            log.warning("No seed documents found in %s", folder)
            return []
        report = kb.add_files(files)
        kb.store.set_flag(seeded=True)
        _checked.add(key)
        log.info("Seeded the knowledge base with %d documents", len(report.added))
        return report.added
