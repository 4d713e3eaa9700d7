"""The knowledge base: add, list, remove and query documents. The one entry point others call.

``knowledge_base(settings)`` returns the process-wide instance for those settings. Adding parses
every file first and stores nothing if any file is unusable; the same name with the same content is
a no-op, with new content its new chunks are written before the old ones are deleted, so a crash
never leaves the document missing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path

from studio.rag.bm25 import BM25Index
from studio.rag.chunking import Chunk, ChunkConfig, chunk_sections
from studio.rag.embedder import Embedder, get_embedder
from studio.rag.parsers import IngestError, kind_of, parse_document
from studio.rag.retrieve import MODES, Hit, make_hit, rrf
from studio.rag.staging import IngestCancelled, Pace, estimate_for_bytes, recover_staged, stopped_message
from studio.rag.store import STAGED, ChromaStore, collection_name
from studio.settings import Settings
from studio.util.uploads import safe_filename

# progress(done, total, message): chunks embedded so far out of all chunks being added.
Progress = Callable[[int, int, str], None]
EMBED_GROUP = 128  # chunks embedded and written per step: bounds memory and paces progress reports


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    chunks: int = 0  # chunks written by this call

    def to_json(self) -> dict:
        return {"added": self.added, "unchanged": self.unchanged, "replaced": self.replaced, "chunks": self.chunks}


@dataclass(frozen=True)
class DocInfo:
    doc: str
    chunks: int
    pages: int | None
    added_at: str

    def to_json(self) -> dict:
        return {"doc": self.doc, "chunks": self.chunks, "pages": self.pages, "added_at": self.added_at}


@dataclass
class _Parsed:
    name: str
    digest: str
    chunks: list[Chunk]
    pages: int | None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_id(doc: str, digest: str, index: int) -> str:
    return f"{hashlib.sha1(doc.encode()).hexdigest()[:10]}-{digest[:16]}-{index:05d}"


class KnowledgeBase:
    def __init__(self, settings: Settings, chunking: ChunkConfig | None = None):
        self.settings = settings
        self.chunking = chunking
        self.store = ChromaStore(settings)
        self._lock = threading.RLock()
        self._bm25: BM25Index | None = None
        self._bm25_generation: str | None = None
        self._texts: dict[str, tuple[str, dict]] = {}
        self._tokens: dict[str, list[str]] = {}
        self._delta: tuple[list[tuple[str, str, dict]], list[str]] = ([], [])  # this instance's change: added, removed
        recover_staged(self.store)  # an add that died with the last process must not linger or look complete

    @property
    def embedder(self) -> Embedder:
        return get_embedder(self.settings)

    # -- adding -------------------------------------------------------------------------------
    def add_files(self, paths: Sequence[Path | str], names: Sequence[str] | None = None, progress: Progress | None = None) -> AddReport:
        """Add files from disk (``names`` overrides the stored names, e.g. for uploads in temp folders)."""
        names = list(names) if names is not None else [safe_filename(Path(p).name) for p in paths]
        files, errors = [], []
        for path, name in zip(paths, names, strict=True):
            try:
                if name in (n for n, _ in files):
                    raise IngestError(f"{name}: two files with the same name in one upload; rename one.")
                files.append((name, self._read(Path(path), name)))
            except IngestError as exc:
                errors.append(str(exc))
        return self.add_documents(files, progress, errors)

    def estimate_files(self, paths: Sequence[Path | str]) -> str:
        """A rough time estimate for adding these files, from their size and the last measured speed."""
        return estimate_for_bytes(sum(Path(p).stat().st_size for p in paths if Path(p).is_file()), self.store)

    def _read(self, path: Path, name: str) -> bytes:
        if not path.is_file():
            raise IngestError(f"{path}: no such file.")
        kind_of(name)
        self._check_size(name, path.stat().st_size)  # before reading: a huge file is never loaded
        return path.read_bytes()

    def _check_size(self, name: str, size: int) -> None:
        if size > self.settings.upload_limit_bytes:
            raise IngestError(
                f"{name}: {size / 1e6:.1f} MB is over the upload limit of {self.settings.upload_limit_mb} MB "
                "(STUDIO_UPLOAD_LIMIT_MB). Split the document or raise the limit."
            )

    def add_documents(
        self, files: Sequence[tuple[str, bytes]], progress: Progress | None = None, errors: Sequence[str] = (),
        stop: threading.Event | None = None,
    ) -> AddReport:
        """Parse everything first; if any file is unusable, report every problem and store nothing.

        Each document is all-or-nothing: its chunks are written staged (invisible to listing and search)
        and swapped in once all of them are stored. A ``stop`` or an error leaves the previous version.
        """
        parsed, errors = [], list(errors)
        for name, data in files:
            try:
                self._check_size(name, len(data))
                parsed.append(self._parse(name, data))
            except IngestError as exc:
                errors.append(str(exc))
        if errors:
            raise IngestError("\n".join(errors + ["Nothing was added."]))
        report = AddReport()
        with self._lock:
            before, self._delta = self.store.generation(), ([], [])
            todo, changed = [], False
            for doc in parsed:
                existing = self.store.metadata_for(doc.name)
                if self._is_current(existing, doc):
                    report.unchanged.append(doc.name)
                    stale = [cid for cid, meta in existing.items() if meta.get("hash") != doc.digest]
                    self._delete(stale)  # leftovers of an interrupted replace
                    changed = changed or bool(stale)
                else:
                    todo.append((doc, existing))
            try:
                self._write(todo, progress, stop, report)
            finally:
                if todo or changed:
                    self._indexed(before, self.store.bump_generation())
        return report

    def _parse(self, name: str, data: bytes) -> _Parsed:
        sections = parse_document(name, data)
        embedder = self.embedder
        config = self.chunking or ChunkConfig(max_tokens=min(200, embedder.max_tokens), overlap_tokens=40)
        chunks = chunk_sections(sections, embedder.count_tokens, config)
        pages = max((s.page for s in sections if s.page is not None), default=None)
        if kind_of(name) == "pdf":
            pages = _pdf_pages(data) or pages
        return _Parsed(name=name, digest=content_hash(data), chunks=chunks, pages=pages)

    @staticmethod
    def _is_current(existing: dict[str, dict], doc: _Parsed) -> bool:
        same = [m for m in existing.values() if m.get("hash") == doc.digest]
        return bool(same) and len(same) == int(same[0].get("n_chunks", -1))

    @staticmethod
    def _ids(doc: _Parsed) -> list[str]:
        return [chunk_id(doc.name, doc.digest, c.index) for c in doc.chunks]

    def _write(self, todo: list[tuple[_Parsed, dict]], progress: Progress | None, stop: threading.Event | None,
               report: AddReport) -> None:
        """Embed and store staged chunks in groups that span documents; swap each document in once complete."""
        added_at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [(cid, doc, chunk) for doc, _ in todo for cid, chunk in zip(self._ids(doc), doc.chunks, strict=True)]
        ends = list(accumulate(len(doc.chunks) for doc, _ in todo))
        pending = [(doc, existing, end) for (doc, existing), end in zip(todo, ends, strict=True)]
        pace = Pace(self.store, len(rows), progress)
        try:
            for start in range(0, len(rows), EMBED_GROUP):
                if stop is not None and stop.is_set():
                    raise IngestCancelled(stopped_message(report.added + report.replaced, [d.name for d, _, _ in pending]))
                group = rows[start : start + EMBED_GROUP]
                texts = [chunk.text for _, _, chunk in group]
                vectors = self.embedder.embed(texts)
                metas = [_chunk_meta(doc, chunk, added_at, staged=True) for _, doc, chunk in group]
                self.store.upsert([cid for cid, _, _ in group], vectors, texts, metas)
                while pending and pending[0][2] <= start + len(group):  # every chunk of this document is stored
                    self._swap(*pending.pop(0)[:2], added_at, report)
                pace.step(start + len(group), group[-1][1].name)
            while pending:
                self._swap(*pending.pop(0)[:2], added_at, report)
            pace.finish()
        finally:
            for doc, _, _ in pending:  # an interrupted document leaves nothing listed; its old version stays
                self._delete(list(self.store.metadata_for(doc.name, staged=True)))

    def _swap(self, doc: _Parsed, existing: dict, added_at: str, report: AddReport) -> None:
        """Make ``doc``'s staged chunks live, then drop its old version."""
        ids = self._ids(doc)
        metas = [_chunk_meta(doc, chunk, added_at) for chunk in doc.chunks]
        self.store.update_metadata(ids, metas)
        self._delta[0].extend((cid, chunk.text, {k: v for k, v in meta.items() if v is not None})
                              for cid, chunk, meta in zip(ids, doc.chunks, metas, strict=True))
        self._delete([cid for cid in existing if cid not in set(ids)])
        (report.replaced if existing else report.added).append(doc.name)
        report.chunks += len(doc.chunks)

    def _delete(self, ids: list[str]) -> None:
        if ids:
            self.store.delete(ids)
            self._delta[1].extend(ids)

    # -- listing and removing ------------------------------------------------------------------
    def list_documents(self) -> list[DocInfo]:
        docs: dict[str, dict] = {}
        for meta in self.store.metadata_for(None).values():
            entry = docs.setdefault(meta.get("doc", ""), {"chunks": 0, "pages": meta.get("pages"), "added_at": ""})
            entry["chunks"] += 1
            entry["added_at"] = max(entry["added_at"], str(meta.get("added_at", "")))
        return [DocInfo(doc=name, **info) for name, info in sorted(docs.items(), key=lambda kv: kv[0].lower())]

    def remove(self, name: str) -> int:
        with self._lock:
            before, self._delta = self.store.generation(), ([], [])
            ids = list(self.store.metadata_for(name))
            if not ids:
                raise IngestError(f"No document named '{name}' in the knowledge base. `kb list` shows the names.")
            self._delete(ids)
            self._indexed(before, self.store.bump_generation())
        return len(ids)

    # -- querying ---------------------------------------------------------------------------------
    def query(self, text: str, k: int = 4, doc: str | None = None, mode: str = "hybrid") -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not text or not text.strip():
            raise ValueError("The query is empty.")
        k = max(1, int(k))
        pool = max(20, 4 * k)  # candidates per ranking before fusion
        vector = []
        if mode != "bm25":
            vector = self.store.query(self.embedder.embed_query(text), pool, doc)
        keyword = self._keyword_index().top(text, pool, doc) if mode != "vector" else []
        known = {cid: (body, meta) for cid, _, body, meta in vector}
        sims = {cid: sim for cid, sim, _, _ in vector}
        fused = rrf([[cid for cid, *_ in vector], [cid for cid, _ in keyword]])
        hits = []
        for cid, score in fused[:k]:
            body, meta = known.get(cid) or self._texts[cid]
            hits.append(make_hit(cid, body, meta, score, sims.get(cid)))
        return hits

    def _keyword_index(self) -> BM25Index:
        """The BM25 index, brought up to date when another process (or instance) changed the collection.

        Only the difference is read back: the live ids, then the text of the new ones (a chunk id names
        its content, so a known id has known text). Changes made here are applied by ``_indexed``.
        """
        generation = self.store.generation()
        with self._lock:
            if self._bm25 is None or generation != self._bm25_generation:
                live = self.store.live_ids()
                index = self._bm25 or BM25Index(token_cache=self._tokens)
                gone = [cid for cid in self._texts if cid not in live]
                ids, texts, metas = self.store.chunks(sorted(live.difference(self._texts)))
                self._apply(index, list(zip(ids, texts, metas, strict=True)), gone)
                self._bm25, self._bm25_generation = index, generation
            return self._bm25

    def _indexed(self, before: str, after: str) -> None:
        """Apply this instance's own change to the index, unless someone else changed the store meanwhile."""
        added, removed = self._delta
        self._delta = ([], [])
        if self._bm25 is not None and self._bm25_generation == before:
            self._apply(self._bm25, added, removed)
            self._bm25_generation = after

    def _apply(self, index: BM25Index, added: list[tuple[str, str, dict]], removed: list[str]) -> None:
        index.remove(removed)
        for cid in removed:
            self._texts.pop(cid, None)
            self._tokens.pop(cid, None)
        index.add([cid for cid, _, _ in added], [text for _, text, _ in added], [m.get("doc", "") for _, _, m in added])
        self._texts.update({cid: (text, meta) for cid, text, meta in added})

    def documents(self) -> list[str]:
        return [d.doc for d in self.list_documents()]


def _chunk_meta(doc: _Parsed, chunk: Chunk, added_at: str, staged: bool = False) -> dict:
    meta = {
        "doc": doc.name, "chunk": chunk.index, "heading": chunk.heading, "hash": doc.digest,
        "n_chunks": len(doc.chunks), "added_at": added_at,
        STAGED: True if staged else None,  # None removes the key on update: the chunk is live
    }
    # Chroma metadata cannot hold None: absent keys mean "no page".
    if chunk.page is not None:
        meta["page"] = chunk.page
    if doc.pages is not None:
        meta["pages"] = doc.pages
    return meta


def _pdf_pages(data: bytes) -> int | None:
    import io

    from pypdf import PdfReader

    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except Exception:  # already parsed once; a count is only a nicety
        return None


_instances: dict[tuple, KnowledgeBase] = {}
_guard = threading.Lock()


def knowledge_base(settings: Settings) -> KnowledgeBase:
    """The shared instance for these settings (one Chroma client and BM25 index per process)."""
    key = (str(settings.kb_dir), settings.chroma_host, settings.chroma_port, collection_name(settings))
    with _guard:
        if key not in _instances:
            _instances[key] = KnowledgeBase(settings)
        return _instances[key]
