"""Keyword search over the same chunks as the vector store, updated in place when chunks come and go.

Chroma's local store has no sparse search, so the app keeps this index in memory next to it. It
scores with the Lucene BM25 variant that bm25s uses (k1 1.5, b 0.75, idf log(1 + (N - df + 0.5) /
(df + 0.5))), but keeps postings (term -> chunk -> count) instead of a precomputed score matrix:
BM25 scores depend on N, the mean length and each term's document count, so with bm25s any change
meant rebuilding the whole matrix (seconds at 10k chunks). Here adding or removing a chunk touches
its own terms only, and scoring a query reads the postings of its few terms. Ties are broken by
chunk id, so an index built up change by change ranks exactly as one built at once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
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


K1, B = 1.5, 0.75


class BM25Index:
    """``docs`` gives each chunk's document name (for the document filter)."""

    def __init__(self, ids: Sequence[str] = (), texts: Sequence[str] = (), docs: Sequence[str] = (),
                 token_cache: dict | None = None):
        self.cache = token_cache if token_cache is not None else {}
        self.postings: dict[str, dict[int, int]] = {}  # term -> slot -> count
        self.slot_of: dict[str, int] = {}
        self.slot_ids: list[str | None] = []
        self.free: list[int] = []  # slots of removed chunks, reused by the next adds
        self.lengths = np.zeros(0)
        self.doc_of = np.zeros(0, dtype=object)
        self.total_length = 0
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # per term, rebuilt when it changes
        self.add(ids, texts, docs)

    @property
    def ids(self) -> list[str]:
        return sorted(self.slot_of)

    def __len__(self) -> int:
        return len(self.slot_of)

    def add(self, ids: Sequence[str], texts: Sequence[str], docs: Sequence[str]) -> None:
        """Index new chunks (a chunk id already indexed is replaced)."""
        self.remove([cid for cid in ids if cid in self.slot_of])
        grow = max(0, len(ids) - len(self.free))
        self.lengths = np.concatenate([self.lengths, np.zeros(grow)])
        self.doc_of = np.concatenate([self.doc_of, np.full(grow, None, dtype=object)])
        self.free += list(range(len(self.slot_ids) + grow - 1, len(self.slot_ids) - 1, -1))
        self.slot_ids += [None] * grow
        for cid, text, doc in zip(ids, texts, docs, strict=True):
            if cid not in self.cache:
                self.cache[cid] = tokenize(text)
            tokens, slot = self.cache[cid], self.free.pop()
            for term, count in Counter(tokens).items():
                self.postings.setdefault(term, {})[slot] = count
                self._arrays.pop(term, None)
            self.slot_of[cid], self.slot_ids[slot] = slot, cid
            self.lengths[slot], self.doc_of[slot] = len(tokens), doc
            self.total_length += len(tokens)

    def remove(self, ids: Sequence[str]) -> None:
        for cid in ids:
            slot = self.slot_of.pop(cid, None)
            if slot is None:
                continue
            for term in set(self.cache[cid]):
                slots = self.postings[term]
                del slots[slot]
                if not slots:
                    del self.postings[term]
                self._arrays.pop(term, None)
            self.total_length -= int(self.lengths[slot])
            self.slot_ids[slot], self.lengths[slot], self.doc_of[slot] = None, 0, None
            self.free.append(slot)

    def _term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(slots, counts) of the chunks holding ``term``."""
        if term not in self._arrays:
            slots = self.postings[term]
            self._arrays[term] = (np.fromiter(slots, dtype=np.int64, count=len(slots)),
                                  np.fromiter(slots.values(), dtype=np.float64, count=len(slots)))
        return self._arrays[term]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score per slot (terms summed in query order; 0 for chunks without any query term)."""
        out = np.zeros(len(self.slot_ids))
        n = len(self.slot_of)
        if not n:
            return out
        mean = self.total_length / n
        for term in tokenize(query):
            if term in self.postings:
                slots, counts = self._term(term)
                idf = math.log(1 + (n - len(slots) + 0.5) / (len(slots) + 0.5))
                out[slots] += idf * counts / (K1 * ((1 - B) + B * self.lengths[slots] / mean) + counts)
        return out

    def top(self, query: str, n: int, doc: str | None = None) -> list[tuple[str, float]]:
        """Best ``n`` chunk ids with a positive score, best first (ties: chunk id order)."""
        scores = self.scores(query)
        found = np.flatnonzero(scores > 0)
        if doc is not None:
            found = found[self.doc_of[found] == doc]
        if len(found) > n:  # keep every chunk tied with the n-th best, then order exactly
            cut = np.partition(scores[found], len(found) - n)[len(found) - n]
            found = found[scores[found] >= cut]
        best = sorted(((self.slot_ids[s], float(scores[s])) for s in found), key=lambda item: (-item[1], item[0]))
        return best[:n]
