"""Cross-validation on the training corpus with whole writing styles held out.

Each style (texting, typos, formal, ...) is judged by heads trained on the other styles only, at the
thresholds the committed classifier uses. Rules are not part of this figure: it measures the
learned part alone, on phrasings in a register it never saw.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from studio.safety import classifier as clf
from studio.safety import training as tr
from studio.safety.corpus import load_reply_rows, load_user_rows
from studio.safety.rates import wilson


def cross_validate(settings) -> dict:
    meta = clf.load_heads()[3]
    t = meta["thresholds"]
    users, replies = load_user_rows(), load_reply_rows()
    user_enc = tr.encode_rows(users, None, tr.cache_path(settings))
    reply_enc = tr.encode_rows(replies, None, tr.cache_path(settings))
    user_oof = tr.out_of_fold(user_enc, meta["user_c"], {"flagged": tr._is_risk, "urgent": tr._is_urgent}, whole_only=True)
    reply_oof = tr.out_of_fold(reply_enc, meta["reply_c"], {"violation": tr._is_code}, whole_only=True)
    return {
        "users": _user_block(users, user_oof, t),
        "replies": _reply_block(replies, reply_oof, t),
    }


def _user_block(rows, oof, t) -> dict:
    flagged = oof["flagged"] >= t["user_unsure"]
    urgent = clf.urgent_decision(oof["urgent"], oof["flagged"], t)
    positive = np.array([r.label != "none" for r in rows])
    is_urgent = np.array([r.label == "urgent" for r in rows])
    return {
        "overall": {
            "escalation_recall": wilson(int(flagged[positive].sum()), int(positive.sum())),
            "urgent_recall": wilson(int(urgent[is_urgent].sum()), int(is_urgent.sum())),
            "false_alarm_rate": wilson(int(flagged[~positive].sum()), int((~positive).sum())),
        },
        **_accuracy_by(rows, flagged, positive),
    }


def _reply_block(rows, oof, t) -> dict:
    flagged = oof["violation"] >= t["reply_violation"]
    positive = np.array([r.label == "violation" for r in rows])
    return {
        "overall": {
            "recall": wilson(int(flagged[positive].sum()), int(positive.sum())),
            "false_alarm_rate": wilson(int(flagged[~positive].sum()), int((~positive).sum())),
        },
        **_accuracy_by(rows, flagged, positive),
    }


def _accuracy_by(rows, flagged: np.ndarray, positive: np.ndarray) -> dict:
    """Share of rows judged right, per writing style and per category."""
    by_style, by_category = defaultdict(list), defaultdict(list)
    for i, row in enumerate(rows):
        correct = bool(flagged[i]) == bool(positive[i])
        by_style[row.style].append(correct)
        by_category[row.category].append(correct)
    return {
        "per_style_accuracy": {s: wilson(sum(v), len(v)) for s, v in sorted(by_style.items())},
        "per_category_accuracy": {c: wilson(sum(v), len(v)) for c, v in sorted(by_category.items())},
    }
