"""Retrieval results and reciprocal rank fusion (RRF) of the vector and keyword rankings.

RRF (Cormack et al., 2009) scores a chunk by sum(1 / (K + rank)) over the rankings it appears in.
It needs no score calibration between cosine similarity and BM25, which live on different scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
MODES = ("hybrid", "vector", "bm25")


@dataclass(frozen=True)
class Hit:
    id: str
    doc: str
    page: int | None
    heading: str
    text: str
    score: float
    similarity: float | None = None  # cosine similarity when the vector search found it

    def to_json(self) -> dict:
        return {"doc": self.doc, "page": self.page, "heading": self.heading, "score": round(self.score, 6), "text": self.text}

    def citation(self) -> str:
        return f"{self.doc}, p. {self.page}" if self.page is not None else self.doc


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fused (id, score) best first; ties keep the order of first appearance (vector first)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    order = {cid: i for i, cid in enumerate(dict.fromkeys(c for r in rankings for c in r))}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def page_of(meta: dict) -> int | None:
    page = meta.get("page")
    return int(page) if page is not None else None


def make_hit(cid: str, text: str, meta: dict, score: float, similarity: float | None) -> Hit:
    return Hit(
        id=cid, doc=str(meta.get("doc", "")), page=page_of(meta), heading=str(meta.get("heading", "")),
        text=text, score=score, similarity=similarity,
    )
