"""Bootstrap intervals that respect clustering by rater and by prompt.

A handful of therapists cast most arena votes, so votes are not independent: one rater who favours
a model moves many votes at once. Resampling single votes (the naive bootstrap) ignores that and
gives intervals that are too narrow.

The scheme, two-way clustering after Cameron, Gelbach & Miller (2011), with bootstrap variances:
- three one-way cluster bootstraps draw whole raters, whole prompts, and whole (rater, prompt)
  cells with replacement; each variance gets the small-sample factor G/(G-1) for G clusters;
- the two-way variance is V_rater + V_prompt - V_cell, and never less than either one-way variance
  or the naive one (with one rater there is no between-rater spread to measure, and clustering
  never makes a mean more precise than independent votes would);
- ``ci95`` is the naive percentile interval stretched about the win rate by sqrt(V / V_naive), so it
  keeps the bootstrap's asymmetry near 0 and 1; the stretch squared is the design effect;
- few clusters: a variance estimated from G clusters is itself noisy, and a normal interval from it
  under-covers (4 raters x 25 votes: 87% instead of 95%). ``ci95`` is widened once more by
  t_{G-1, 0.975} / z_0.975, with G the smallest number of clusters (rater or prompt, at least 2)
  among a row's own votes, as Cameron & Miller (2015) recommend for few clusters.
Cluster counts are per row: only the clusters that contain a model's votes count for that model.
Resampling raters and prompts together in one draw (Owen's pigeonhole product) was the first idea;
it counts the vote-level noise twice when prompts are not shared, doubling the variance of
independent votes, so it was not used.

Missing fields: a vote without a rater is its own rater cluster, and a vote without a prompt is its
own prompt cluster. So a file of bare ``model_a, model_b, winner`` votes gets the naive interval
(nothing tells us which votes belong together), rather than one huge "unknown" rater whose single
cluster would hide all between-rater spread.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CHUNK = 250  # resamples per vectorized block: bounds memory to CHUNK x votes

WeightDraw = Callable[[np.random.Generator, int], np.ndarray]  # (rng, size) -> size x votes weights


@dataclass(frozen=True)
class Clusters:
    """Each vote's rater cluster and prompt cluster, as dense integer ids."""

    rater: np.ndarray
    prompt: np.ndarray
    cell: np.ndarray  # the (rater, prompt) intersection

    @property
    def raters(self) -> int:
        return int(self.rater.max()) + 1 if self.rater.size else 0

    @property
    def prompts(self) -> int:
        return int(self.prompt.max()) + 1 if self.prompt.size else 0

    def subset(self, mask: np.ndarray) -> Clusters:
        return Clusters(_dense(self.rater[mask]), _dense(self.prompt[mask]), _dense(self.cell[mask]))


def clusters_of(votes: list[dict]) -> Clusters:
    """Cluster ids; a missing rater or prompt makes the vote a cluster of its own (see the module doc)."""
    raters = [v.get("rater") or ("", i) for i, v in enumerate(votes)]
    prompts = [v.get("prompt") or ("", i) for i, v in enumerate(votes)]
    return Clusters(_ids(raters), _ids(prompts), _ids(list(zip(raters, prompts, strict=True))))


def _ids(keys: list) -> np.ndarray:
    index: dict = {}
    return np.array([index.setdefault(key, len(index)) for key in keys], dtype=np.int64)


def _dense(ids: np.ndarray) -> np.ndarray:
    return np.unique(ids, return_inverse=True)[1].astype(np.int64) if ids.size else ids


def one_way_draw(ids: np.ndarray) -> WeightDraw:
    """Resample whole clusters: a vote's weight is how often its cluster was drawn."""
    count = int(ids.max()) + 1 if ids.size else 0
    return lambda rng, size: rng.multinomial(count, np.full(count, 1.0 / count), size=size)[:, ids]


def naive_draw(votes: int) -> WeightDraw:
    """Resample single votes."""
    return one_way_draw(np.arange(votes))


def bootstrap_rates(scores: np.ndarray, present: np.ndarray, draw: WeightDraw, resamples: int,
                    rng: np.random.Generator) -> np.ndarray:
    """resamples x rows of weighted mean scores; NaN where a row drew no vote.

    ``scores`` and ``present`` are rows x votes: a row's score in each vote (0 where absent) and
    whether it took part.
    """
    rates = []
    for start in range(0, resamples, CHUNK):
        weights = draw(rng, min(CHUNK, resamples - start)).astype(float)
        sums, taken = weights @ scores.T, weights @ present.T
        with np.errstate(invalid="ignore", divide="ignore"):
            rates.append(np.where(taken > 0, sums / taken, np.nan))
    return np.vstack(rates)


@dataclass(frozen=True)
class Intervals:
    """Per row: the point estimate, both 95% intervals, and the design effect V / V_naive."""

    rate: np.ndarray
    naive: np.ndarray  # rows x 2
    clustered: np.ndarray  # rows x 2
    design_effect: np.ndarray


def clustered_intervals(scores: np.ndarray, present: np.ndarray, clusters: Clusters, resamples: int,
                        seed: int) -> Intervals:
    """Naive and two-way clustered intervals for each row's mean score (see the module doc)."""
    rate = scores.sum(axis=1) / present.sum(axis=1)
    variances, counts = [], []
    naive_rates = None
    for stream, ids in enumerate((np.arange(clusters.rater.size), clusters.rater, clusters.prompt, clusters.cell)):
        rates = bootstrap_rates(scores, present, one_way_draw(ids), resamples, np.random.default_rng([seed, stream]))
        naive_rates = rates if naive_rates is None else naive_rates
        counts.append(_row_clusters(ids, present))
        variances.append(_variance(rates, counts[-1]))
    v_naive, v_rater, v_prompt, v_cell = variances
    v_two_way = np.maximum.reduce([v_rater + v_prompt - v_cell, v_rater, v_prompt, v_naive])
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = np.where(v_naive > 0, v_two_way / v_naive, 1.0)
    naive = _percentiles(naive_rates, rate)
    stretch = (np.sqrt(deff) * _few_clusters_factor(np.stack(counts[:3])))[:, None]
    clustered = np.clip(rate[:, None] + (naive - rate[:, None]) * stretch, 0.0, 1.0)
    return Intervals(rate, naive, clustered, deff)


def _row_clusters(ids: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per row: how many clusters hold at least one of its votes."""
    return np.array([np.unique(ids[row > 0]).size for row in present], dtype=np.int64)


def _variance(rates: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Bootstrap variance per row with the G/(G-1) factor; zero for a single cluster (no spread to see)."""
    with warnings.catch_warnings():  # a row that never drew a vote has no variance: 0, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nan_to_num(np.nanvar(rates, axis=0))
    g = clusters.astype(float)
    return np.where(g >= 2, spread * g / np.maximum(g - 1, 1), 0.0)


def _few_clusters_factor(counts: np.ndarray) -> np.ndarray:
    """Per row, t_{G-1, 0.975} / z_0.975 for the smallest cluster count G >= 2 (votes, raters, prompts); 1 below 2."""
    from scipy.stats import t  # imported here: scipy is slow to import and only this needs it

    g = np.where(counts >= 2, counts, np.iinfo(np.int64).max).min(axis=0)
    usable = g < np.iinfo(np.int64).max
    df = np.where(usable, g - 1, 1).astype(float)
    return np.where(usable, t.ppf(0.975, df) / NormalDist().inv_cdf(0.975), 1.0)


def _percentiles(rates: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """rows x 2 percentile 95% intervals; a row that never drew a vote gets its point estimate."""
    safe = np.where(np.all(np.isnan(rates), axis=0), fallback[None, :], rates)  # all-NaN columns would warn
    return np.stack([np.nanpercentile(safe, 2.5, axis=0), np.nanpercentile(safe, 97.5, axis=0)], axis=1)
