"""Length-controlled win rates, as in the public arenas' "style control" (LMSYS Chatbot Arena, 2024).

Raters tend to prefer the longer answer, so a model can win by talking more. A Bradley–Terry
logistic regression separates the two: P(A beats B) = sigmoid(beta_A - beta_B + gamma * z), where
z is the normalized length difference (len_A - len_B) / (len_A + len_B), standardized over the
votes, and lengths are counted in words (a tokenizer-free proxy for tokens). A model's
length-controlled win rate is its mean predicted score against the opponents it met, at z = 0:
what it would have scored had both answers been equally long.

Ties and both-bad count one half for each side, as everywhere else in the arena statistics (a soft
label in the logistic loss). A small ridge penalty keeps the fit finite when a model won every vote.

Only votes that carry both response texts enter the fit (older votes or minimal files may lack them);
``votes`` says how many did, and a model that met no one in those votes gets no rate.
"""

from __future__ import annotations

import numpy as np

RIDGE = 0.1
ITERATIONS = 100


def has_texts(vote: dict) -> bool:
    return all(isinstance(vote.get(k), str) for k in ("response_a", "response_b"))


def length_controlled(votes: list[dict], names: list[str], scores_a: np.ndarray) -> dict | None:
    """``{"coefficient", "measure", "votes", "models": {name: rate at equal length}}``; None when no vote has
    both response texts.

    ``votes`` are battles between two different models, ``scores_a`` side A's score in each.
    """
    keep = np.array([has_texts(v) for v in votes], dtype=bool)
    votes = [v for v, k in zip(votes, keep, strict=True) if k]
    scores_a = np.asarray(scores_a)[keep]
    names = [name for name in names if any(name in (v["model_a"], v["model_b"]) for v in votes)]
    if len(names) < 2:
        return None
    index = {name: i for i, name in enumerate(names)}
    a = np.array([index[v["model_a"]] for v in votes])
    b = np.array([index[v["model_b"]] for v in votes])
    # Model columns: +1 for side A's model, -1 for side B's; the first model is the reference (beta 0).
    design = np.zeros((len(votes), len(names)))
    design[np.arange(len(votes)), a] += 1.0
    design[np.arange(len(votes)), b] -= 1.0
    design[:, 0] = _length_feature(votes)
    coef = _fit_logistic(design, scores_a)
    beta = np.concatenate([[0.0], coef[1:]])
    rates = {}
    for name, i in index.items():
        mine = (a == i) | (b == i)
        opponents = np.where(a[mine] == i, b[mine], a[mine])
        rates[name] = round(float(_sigmoid(beta[i] - beta[opponents]).mean()), 4)
    return {"coefficient": round(float(coef[0]), 4), "measure": "words", "votes": len(votes), "models": rates}


def _length_feature(votes: list[dict]) -> np.ndarray:
    len_a = np.array([len(v["response_a"].split()) for v in votes], dtype=float)
    len_b = np.array([len(v["response_b"].split()) for v in votes], dtype=float)
    z = (len_a - len_b) / np.maximum(len_a + len_b, 1.0)
    spread = z.std()
    return z / spread if spread > 0 else z  # equal lengths everywhere: the feature is all zeros


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ridge-penalized logistic regression without intercept, by Newton's method (a few parameters)."""
    coef = np.zeros(x.shape[1])
    penalty = RIDGE * np.eye(x.shape[1])
    for _ in range(ITERATIONS):
        p = _sigmoid(x @ coef)
        gradient = x.T @ (y - p) - RIDGE * coef
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        coef += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return coef
