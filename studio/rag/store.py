"""The Chroma side of the knowledge base: one collection per embedding model.

Local by default (``PersistentClient`` under ``settings.kb_dir``, telemetry off); with
``settings.chroma_host`` the same code talks to a Chroma server through ``HttpClient``. We pass
our own embeddings (no Chroma embedding function) so ingestion and queries use exactly one model.
The collection's metadata carries a ``generation`` that changes on every write, so any process can
tell when its in-memory BM25 index is stale.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence

import numpy as np

from studio.rag.embedder import embedder_label
from studio.settings import Settings


class StoreError(RuntimeError):
    pass


def make_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # chromadb raises several transport types; all mean "cannot reach it"
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}). "
                "Check STUDIO_CHROMA_HOST/STUDIO_CHROMA_PORT, or unset them to use the local store."
            ) from None
    settings.kb_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.kb_dir / "chroma"), settings=chroma_settings)


def collection_name(settings: Settings) -> str:
    return f"studio-kb-{embedder_label(settings.embedder)}"


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


STAGED = "staged"  # metadata key of chunks written by an add that has not been swapped in yet


class ChromaStore:
    def __init__(self, settings: Settings):
        self.client = make_client(settings)
        self.name = collection_name(settings)
        self.collection = self.client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self.max_batch = int(self.client.get_max_batch_size())
        self._meta_lock = threading.Lock()

    # -- collection-level flags -------------------------------------------------------------
    def _meta(self) -> dict:
        # Re-read from the server/disk: another process may have written since we opened it.
        return dict(self.client.get_collection(self.name).metadata or {})

    def generation(self) -> str:
        return str(self._meta().get("generation", ""))

    def flag(self, name: str):
        return self._meta().get(name)

    def set_flag(self, **values) -> None:
        with self._meta_lock:
            meta = self._meta()
            meta.update(values)
            self.collection.modify(metadata=meta)

    def bump_generation(self) -> str:
        gen = uuid.uuid4().hex
        self.set_flag(generation=gen)
        return gen

    # -- chunks -----------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.collection.count())

    def upsert(self, ids: Sequence[str], embeddings: np.ndarray, texts: Sequence[str], metas: Sequence[dict]) -> None:
        for part in _batches(len(ids), self.max_batch):
            self.collection.upsert(
                ids=list(ids[part]), embeddings=embeddings[part], documents=list(texts[part]), metadatas=list(metas[part])
            )

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for part in _batches(len(ids), self.max_batch):
            self.collection.delete(ids=ids[part])

    def update_metadata(self, ids: Sequence[str], metas: Sequence[dict]) -> None:
        ids = list(ids)
        for part in _batches(len(ids), self.max_batch):
            self.collection.update(ids=ids[part], metadatas=list(metas[part]))

    def metadata_for(self, doc: str | None = None, staged: bool = False) -> dict[str, dict]:
        """id -> metadata for one document (or all), without the texts; ``staged`` lists unfinished adds instead."""
        out: dict[str, dict] = {}
        for ids, _, metas in self._pages(_where(doc, staged), include=["metadatas"]):
            out.update(zip(ids, metas, strict=True))
        return out

    def live_ids(self) -> set[str]:
        """Ids of every live chunk (no texts, no metadata: the cheapest way to see what changed)."""
        return {cid for ids, _, _ in self._pages(_where(None, False), include=[]) for cid in ids}

    def chunks(self, ids: Sequence[str]) -> tuple[list[str], list[str], list[dict]]:
        """Text and metadata of these chunks (missing ids are left out)."""
        out_ids, texts, metas = [], [], []
        ids = list(ids)
        for part in _batches(len(ids), self.max_batch):
            got = self.collection.get(ids=ids[part], include=["documents", "metadatas"])
            out_ids += got["ids"]
            texts += got["documents"]
            metas += [dict(m or {}) for m in got["metadatas"]]
        return out_ids, texts, metas

    def all_chunks(self) -> tuple[list[str], list[str], list[dict]]:
        ids, texts, metas = [], [], []
        for page_ids, page_texts, page_metas in self._pages(_where(None, False), include=["documents", "metadatas"]):
            ids += page_ids
            texts += page_texts
            metas += page_metas
        return ids, texts, metas

    def _pages(self, where: dict | None, include: list[str]):
        offset = 0
        while True:
            got = self.collection.get(where=where, include=include, limit=self.max_batch, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            yield ids, got.get("documents") or [""] * len(ids), [dict(m or {}) for m in got.get("metadatas") or [{}] * len(ids)]
            if len(ids) < self.max_batch:
                return
            offset += len(ids)

    def query(self, vector: np.ndarray, n: int, doc: str | None = None) -> list[tuple[str, float, str, dict]]:
        """Nearest chunks as (id, cosine similarity, text, metadata), best first."""
        if n <= 0:
            return []  # (an empty collection simply returns no rows)
        got = self.collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=_where(doc, False),
            include=["documents", "metadatas", "distances"],
        )
        rows = zip(got["ids"][0], got["distances"][0], got["documents"][0], got["metadatas"][0], strict=True)
        return [(cid, 1.0 - float(dist), text, dict(meta or {})) for cid, dist, text, meta in rows]


def _where(doc: str | None, staged: bool) -> dict:
    """Chunks of an add still in progress (or interrupted) carry ``staged``: reads see them only when asked."""
    state = {STAGED: True} if staged else {STAGED: {"$ne": True}}  # $ne also matches chunks without the key
    return {"$and": [{"doc": doc}, state]} if doc is not None else state
