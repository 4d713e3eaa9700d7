"""Train the safety heads: ``python -m studio safety train`` (fixed seed, one command, ~2 minutes).

1. Load the corpus and encode every text and sentence with the frozen encoder (cached on disk
   under the cache dir, so a retrain or an evaluation after the first one is quick).
2. Cross-validate with whole writing styles held out: each style's rows are judged by heads
   trained on the other styles only. The out-of-fold scores pick the regularization and the
   thresholds (``FLAG_FALSE_ALARMS``: the share of none-rows that may be flagged).
3. Fit the final heads on everything and write ``studio/safety/data/classifier.{npz,json}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.safety import classifier as clf
from studio.safety.corpus import CORPUS_DIR, Row, fingerprint, load_reply_rows, load_user_rows
from studio.safety.taxonomy import GUARD_CODES, USER_LEVEL
from studio.util.io import atomic_write_text

log = logging.getLogger(__name__)

SEED = 13
C_GRID = (32.0,)  # 8 and 32 were within 0.01 of each other in style-held-out recall; 2 was worse
# Out-of-fold false-alarm budgets the thresholds are set to (the goals allow 0.05; held-out sets
# written by other people shift the scores, so the budgets leave room). Three user thresholds:
# "unsure" (risk mass above it: at least concern), "flag" (confident risk: urgent when the mass is
# mostly on urgent categories) and "urgent" (urgent mass alone).
# The rates were 0.04 / 0.03 / 0.01 over the first 3,219 negatives, all written as hard cases. Rounds 2
# and 3 added ~600 everyday messages that rarely alarm; at the same rates they loosened every threshold
# and raised false alarms on the older held-out sets (main 0.021 -> 0.043, holdout3 0.033 -> 0.067). The
# rates below keep the allowed number of out-of-fold false alarms about where it was.
UNSURE_FALSE_ALARMS = 0.034
FLAG_FALSE_ALARMS = 0.025
URGENT_FALSE_ALARMS = 0.0085
REPLY_FALSE_ALARMS = 0.03
REPLY_CODE_SHARE = 0.35  # a guard code is reported when it holds this share of the violation mass


@dataclass
class Encoded:
    """Every row's units (whole text first, then its sentences) and their vectors, in one matrix."""

    rows: list[Row]
    spans: list[tuple[int, int]]  # row i's units are units[start:end] / vectors[start:end]
    units: list[str]
    vectors: np.ndarray


def encode_rows(rows: list[Row], encoder, cache: Path | None, progress: Callable[[str], None] = log.info) -> Encoded:
    groups = [[clf.prepare(r.text)] for r in rows]  # judged whole (sentence units lost in cross-validation)
    texts = [u for g in groups for u in g]
    vectors = _cached_encode(texts, encoder, cache, progress)
    spans, at = [], 0
    for group in groups:
        spans.append((at, at + len(group)))
        at += len(group)
    return Encoded(rows, spans, texts, vectors)


def _cached_encode(texts: list[str], encoder, cache: Path | None, progress) -> np.ndarray:
    known: dict[str, np.ndarray] = {}
    if cache and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        encoder = encoder or clf.load_encoder()
        progress(f"encoding {len(missing)} texts with {clf.ENCODER} (cached afterwards)…")
        batch = 512
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vecs = encoder.encode(chunk, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            known.update(zip(chunk, np.asarray(vecs, dtype=np.float32), strict=True))
            progress(f"  {min(start + batch, len(missing))}/{len(missing)}")
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
            tmp.replace(cache)
    return np.stack([known[t] for t in texts])


@dataclass
class Model:
    """A featurizer and a head fitted together."""

    features: clf.Featurizer
    head: clf.Head

    def proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        return self.head.proba(self.features.transform(texts, vectors))


def fit_model(enc: Encoded, idx, label_of: Callable[[Row], str], c: float) -> Model:
    from sklearn.linear_model import LogisticRegression

    idx = list(idx)
    whole = [enc.spans[i][0] for i in idx]
    texts = [enc.units[j] for j in whole]
    features = clf.Featurizer.fit(texts)
    x = features.transform(texts, enc.vectors[whole])
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)
    model.fit(x, [label_of(enc.rows[i]) for i in idx])
    head = clf.Head(tuple(model.classes_), model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32))
    return Model(features, head)


def unit_scores(model: Model, enc: Encoded, idx, positive: Callable[[str], bool], whole_only: bool) -> np.ndarray:
    """For each row: the highest probability mass on the positive classes over its units."""
    mask = np.array([positive(c) for c in model.head.classes])
    picked = [(i, j) for i in idx for j in (range(enc.spans[i][0], enc.spans[i][0] + 1) if whole_only else range(*enc.spans[i]))]
    probs = model.proba([enc.units[j] for _, j in picked], enc.vectors[[j for _, j in picked]])[:, mask].sum(axis=1)
    best: dict[int, float] = {}
    for (i, _), p in zip(picked, probs, strict=True):
        best[i] = max(best.get(i, 0.0), float(p))
    return np.array([best[i] for i in idx])


def style_folds(rows: list[Row]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    styles = sorted({r.style for r in rows})
    all_idx = np.arange(len(rows))
    return [(s, all_idx[[r.style != s for r in rows]], all_idx[[r.style == s for r in rows]]) for s in styles]


def out_of_fold(enc: Encoded, c: float, scorers: dict, whole_only: bool) -> dict[str, np.ndarray]:
    """Out-of-fold scores for every row, each style judged by a model trained on the other styles."""
    scores: dict[str, np.ndarray] = {name: np.zeros(len(enc.rows)) for name in scorers}
    for _style, train_idx, test_idx in style_folds(enc.rows):
        model = fit_model(enc, train_idx, lambda r: r.category, c)
        for name, positive in scorers.items():
            scores[name][test_idx] = unit_scores(model, enc, test_idx, positive, whole_only)
    return scores


def threshold_for(negative_scores: np.ndarray, budget: float) -> float:
    """The lowest threshold that flags at most ``budget`` of the negatives."""
    if len(negative_scores) == 0:
        return 0.5
    ordered = np.sort(negative_scores)[::-1]
    allowed = int(np.floor(budget * len(ordered)))
    return float(min(0.95, ordered[allowed] + 1e-6)) if allowed < len(ordered) else 0.0


def _recall_at(scores: np.ndarray, positive: np.ndarray, budget: float) -> tuple[float, float]:
    threshold = threshold_for(scores[~positive], budget)
    return float((scores[positive] >= threshold).mean()), threshold


def tune_user(enc: Encoded, progress) -> tuple[float, dict]:
    positive = np.array([r.label != "none" for r in enc.rows])
    best = None
    for c in C_GRID:
        oof = out_of_fold(enc, c, {"flagged": _is_risk, "urgent": _is_urgent}, whole_only=True)
        recall, _ = _recall_at(oof["flagged"], positive, FLAG_FALSE_ALARMS)
        progress(f"user head C={c}: style-held-out recall {recall:.3f} at {FLAG_FALSE_ALARMS} false alarms")
        if best is None or recall > best[0]:
            best = (recall, c, oof)
    return best[1], best[2]


def tune_reply(enc: Encoded, progress) -> tuple[float, dict]:
    positive = np.array([r.label == "violation" for r in enc.rows])
    best = None
    for c in C_GRID:
        oof = out_of_fold(enc, c, {"violation": _is_code}, whole_only=True)
        recall, _ = _recall_at(oof["violation"], positive, REPLY_FALSE_ALARMS)
        progress(f"reply head C={c}: style-held-out recall {recall:.3f} at {REPLY_FALSE_ALARMS} false alarms")
        if best is None or recall > best[0]:
            best = (recall, c, oof)
    return best[1], best[2]


def _is_risk(category: str) -> bool:
    return USER_LEVEL.get(category, "none") != "none"


def _is_urgent(category: str) -> bool:
    return USER_LEVEL.get(category) == "urgent"


def _is_code(category: str) -> bool:
    return category in GUARD_CODES


def thresholds_from(user_oof: dict, user_rows: list[Row], reply_oof: dict, reply_rows: list[Row]) -> dict:
    negative = np.array([r.label == "none" for r in user_rows])
    ok = np.array([r.label == "ok" for r in reply_rows])
    flag = threshold_for(user_oof["flagged"][negative], FLAG_FALSE_ALARMS)
    unsure = min(flag, threshold_for(user_oof["flagged"][negative], UNSURE_FALSE_ALARMS))
    urgent = max(flag, threshold_for(user_oof["urgent"][negative], URGENT_FALSE_ALARMS))
    return {
        "user_unsure": round(unsure, 4),
        "user_flag": round(flag, 4),
        "user_urgent": round(urgent, 4),
        "reply_violation": round(threshold_for(reply_oof["violation"][ok], REPLY_FALSE_ALARMS), 4),
        "reply_code_share": REPLY_CODE_SHARE,
    }


FLOOR_PRECISION = 0.85  # a rule stays in the floor when at least this share of its corpus matches are real


def rule_precision(rows: list[Row], rules, contexts, positive: Callable[[Row], bool]) -> dict[str, dict]:
    """How often each rule matches real positives versus hard negatives in the corpus."""
    from studio.safety.rules import match
    from studio.safety.text import normalize, sentences

    counts: dict[str, dict] = {r.id: {"positive": 0, "negative": 0} for r in rules}
    for row in rows:
        norm = normalize(row.text)
        hits, _ = match(rules, sentences(norm), contexts, norm)
        for rule_id in {h.rule.id for h in hits}:
            counts[rule_id]["positive" if positive(row) else "negative"] += 1
    return counts


def floor_exclusions(counts: dict[str, dict]) -> dict[str, dict]:
    """Rules too noisy for the floor: their matches on the corpus are mostly hard negatives."""
    out = {}
    for rule_id, c in counts.items():
        total = c["positive"] + c["negative"]
        if total and c["positive"] / total < FLOOR_PRECISION:
            out[rule_id] = {**c, "precision": round(c["positive"] / total, 3)}
    return out


def cache_path(settings) -> Path:
    return settings.cache_dir / "safety" / "corpus-embeddings.npz"


def train(settings, corpus_dir: Path = CORPUS_DIR, out_dir: Path = clf.DATA_DIR, progress=log.info) -> dict:
    """Train both heads and write the weights; returns the metadata written (with the CV figures)."""
    users, replies = load_user_rows(corpus_dir), load_reply_rows(corpus_dir)
    progress(f"corpus: {len(users)} user messages, {len(replies)} assistant replies")
    user_enc = encode_rows(users, None, cache_path(settings), progress)
    reply_enc = encode_rows(replies, None, cache_path(settings), progress)
    user_c, user_oof = tune_user(user_enc, progress)
    reply_c, reply_oof = tune_reply(reply_enc, progress)
    thresholds = thresholds_from(user_oof, users, reply_oof, replies)
    user_model = fit_model(user_enc, range(len(users)), lambda r: r.category, user_c)
    reply_model = fit_model(reply_enc, range(len(replies)), lambda r: r.category, reply_c)
    user_head, reply_head = user_model.head, reply_model.head
    from studio.safety import crisis_rules, guard_rules

    user_rules = floor_exclusions(
        rule_precision(users, crisis_rules.RULES + crisis_rules.NON_ENGLISH, crisis_rules.CONTEXTS, lambda r: r.label != "none")
    )
    reply_rules = floor_exclusions(rule_precision(replies, guard_rules.RULES, guard_rules.CONTEXTS, lambda r: r.label == "violation"))
    progress(f"rules left out of the floor (precision < {FLOOR_PRECISION} on the corpus): {sorted(user_rules) + sorted(reply_rules)}")
    meta = {
        "encoder": clf.ENCODER,
        "corpus_sha256": fingerprint(corpus_dir),
        "seed": SEED,
        "user_rows": len(users),
        "reply_rows": len(replies),
        "user_c": user_c,
        "reply_c": reply_c,
        "user_classes": list(user_head.classes),
        "reply_classes": list(reply_head.classes),
        "guard_codes": list(GUARD_CODES),
        "thresholds": thresholds,
        "floor_precision": FLOOR_PRECISION,
        "rules_not_in_floor": {**user_rules, **reply_rules},
        "false_alarm_budgets": {"user_unsure": UNSURE_FALSE_ALARMS, "user_flag": FLAG_FALSE_ALARMS, "user_urgent": URGENT_FALSE_ALARMS, "reply": REPLY_FALSE_ALARMS},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "classifier.tmp.npz"
    np.savez_compressed(
        tmp,
        user_weight=user_head.weight.astype(np.float16),
        user_bias=user_head.bias,
        reply_weight=reply_head.weight.astype(np.float16),
        reply_bias=reply_head.bias,
        **user_model.features.arrays("user"),
        **reply_model.features.arrays("reply"),
    )
    tmp.replace(out_dir / clf.WEIGHTS_PATH.name)
    atomic_write_text(out_dir / clf.META_PATH.name, json.dumps(meta, indent=2) + "\n")
    clf.reset()
    return meta
