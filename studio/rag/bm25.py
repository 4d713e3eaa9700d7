"""Keyword search over the same chunks as the vector store (bm25s), rebuilt when the store changes.

Chroma's local store has no sparse search, so the app keeps this index in memory next to it. It is
cheap to rebuild (a few hundred ms at 10k chunks) and per-chunk tokens are cached across rebuilds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"\w\w+", re.UNICODE)
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with", "i", "me", "my", "you", "your", "we", "our", "us", "do", "does", "did", "can", "could", "should", "would", "what", "when", "how", "which", "who", "have", "has", "had", "so", "about", "from", "than", "too", "very", "just", "also"]
)


def _stem(token: str) -> str:
    # A deliberately tiny stemmer: plurals only. Enough for "sessions" ~ "session" without surprises.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOP]


class BM25Index:
    """Chunks by position; ``docs[i]`` is chunk i's document name (for the document filter)."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], docs: Sequence[str], token_cache: dict | None = None):
        import bm25s

        self.ids = list(ids)
        self.docs = np.asarray(list(docs), dtype=object)
        cache = token_cache if token_cache is not None else {}
        corpus = []
        for cid, text in zip(self.ids, texts, strict=True):
            if cid not in cache:
                cache[cid] = tokenize(text)
            corpus.append(cache[cid])
        self.tokens = {cid: cache[cid] for cid in self.ids}
        self.retriever = bm25s.BM25()
        if self.ids:
            self.retriever.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, query: str, n: int, doc: str | None = None) -> list[tuple[str, float]]:
        """Best ``n`` chunk ids with a positive score, best first."""
        if not self.ids:
            return []
        terms = [t for t in tokenize(query) if t in self.retriever.vocab_dict]
        if not terms:
            return []
        scores = self.retriever.get_scores(terms)
        if doc is not None:
            scores = np.where(self.docs == doc, scores, 0.0)
        n = min(n, len(scores))
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in best if scores[i] > 0]
