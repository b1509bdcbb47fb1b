"""Paired bootstrap confidence intervals of the difference between two models' held-out metrics.

Both models are scored on the same held-out items, so each resample draws the
items once and scores both models on it: the interval is that of
``metric(trained) - metric(base)``. Hierarchy AUCs resample the pairs of each of
the two categories separately (their sizes stay fixed); Spearman resamples the
pairs within every category; retrieval accuracies resample queries (with
``unit="concept"``, :mod:`ehrfeat.evaluation.concept_bootstrap` resamples concepts
instead). Everything is
vectorised over the resamples (numpy), with a fixed seed per metric, so a
report is reproducible and takes seconds.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ehrfeat.errors import ConfigError

__all__ = [
    "BOOTSTRAP_UNITS", "DEFAULT_RESAMPLES", "BootstrapSettings", "ItemScores", "auc_difference", "blocks", "hits_difference", "metric_rng", "quantiles",
    "spearman_difference", "weighted_auc",
]

DEFAULT_RESAMPLES = 1000
_CHUNK = 100  # resamples per vectorised block: bounds memory at about 100 x items floats


BOOTSTRAP_UNITS = ("item", "concept")  # what a resample draws: single items, or held-out concepts with all their items


@dataclass(frozen=True)
class BootstrapSettings:
    """How many resamples, the seed, the two-sided level of the interval, and what is resampled
    (``"item"``: pairs and queries; ``"concept"``: :mod:`ehrfeat.evaluation.concept_bootstrap`)."""

    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    level: float = 0.95
    unit: str = "item"

    def __post_init__(self) -> None:
        if self.unit not in BOOTSTRAP_UNITS:
            raise ConfigError(f"bootstrap unit {self.unit!r} is unknown", fix=f"use one of {', '.join(BOOTSTRAP_UNITS)}", code="E417")


@dataclass(frozen=True)
class ItemScores:
    """A model's per-item results on a held-out set: what the bootstrap resamples.

    ``cos``/``cats``/``sources`` are per held-out pair; ``hits`` maps a retrieval
    metric (``syn_acc@1``, ``link_hpo@5``, ``lay_hpo@3`` ...) to one 0/1 per query.
    ``pair_concepts`` and ``hit_concepts`` (same shapes) name the concept of each
    item, for the bootstrap by concept: a pair's anchor, a query's true code or group.
    """

    cos: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    hits: Mapping[str, np.ndarray] = field(default_factory=dict)
    pair_concepts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    hit_concepts: Mapping[str, np.ndarray] = field(default_factory=dict)


def metric_rng(settings: BootstrapSettings, metric: str) -> np.random.Generator:
    """One generator per metric, so a row's interval does not depend on which other rows exist."""
    return np.random.default_rng([settings.seed, zlib.crc32(metric.encode())])


def quantiles(deltas: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(deltas, [tail, 100.0 - tail])
    return float(lo), float(hi)


def blocks(total: int) -> Iterator[int]:
    for start in range(0, total, _CHUNK):
        yield min(_CHUNK, total - start)


def weighted_auc(pos: np.ndarray, neg: np.ndarray, w_pos: np.ndarray, w_neg: np.ndarray) -> np.ndarray:
    """AUC of each row of weights (resample counts): P(pos > neg) with ties one half, exactly."""
    order = np.argsort(neg, kind="stable")
    sorted_neg = neg[order]
    below = np.searchsorted(sorted_neg, pos, side="left")
    upto = np.searchsorted(sorted_neg, pos, side="right")
    cum = np.zeros((w_neg.shape[0], neg.size + 1))
    np.cumsum(w_neg[:, order], axis=1, out=cum[:, 1:])
    won = cum[:, below] + 0.5 * (cum[:, upto] - cum[:, below])  # (resamples, positives)
    return (w_pos * won).sum(axis=1) / (w_pos.sum(axis=1) * w_neg.sum(axis=1))


def auc_difference(
    pos_a: np.ndarray, neg_a: np.ndarray, pos_b: np.ndarray, neg_b: np.ndarray, settings: BootstrapSettings, metric: str = "auc"
) -> tuple[float, float]:
    """Interval of ``AUC(b) - AUC(a)``; item ``k`` of ``pos_a`` and ``pos_b`` is the same pair (likewise ``neg``)."""
    if min(pos_a.size, neg_a.size) == 0:
        return float("nan"), float("nan")
    rng = metric_rng(settings, metric)
    deltas = []
    for n in blocks(settings.resamples):
        w_pos = rng.multinomial(pos_a.size, np.full(pos_a.size, 1.0 / pos_a.size), size=n).astype(np.float64)
        w_neg = rng.multinomial(neg_a.size, np.full(neg_a.size, 1.0 / neg_a.size), size=n).astype(np.float64)
        deltas.append(weighted_auc(pos_b, neg_b, w_pos, w_neg) - weighted_auc(pos_a, neg_a, w_pos, w_neg))
    return quantiles(np.concatenate(deltas), settings.level)


def _rank_correlation(ranked: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``ranked`` with the fixed ``target`` ranks."""
    x = ranked - ranked.mean(axis=1, keepdims=True)
    y = target - target.mean()
    return (x @ y) / np.sqrt((x * x).sum(axis=1) * (y @ y))


def spearman_difference(cos_a: np.ndarray, cos_b: np.ndarray, cats: np.ndarray, settings: BootstrapSettings, metric: str = "spearman") -> tuple[float, float]:
    """Interval of ``Spearman(cos_b, -cats) - Spearman(cos_a, -cats)``, pairs resampled within each category."""
    present = np.unique(cats)
    if cats.size < 2 or present.size < 2:
        return float("nan"), float("nan")
    groups = [np.flatnonzero(cats == c) for c in present]
    target = stats.rankdata(-np.concatenate([cats[g] for g in groups]))  # the same in every resample
    rng = metric_rng(settings, metric)
    deltas = []
    for n in blocks(settings.resamples):
        idx = np.concatenate([g[rng.integers(0, g.size, size=(n, g.size))] for g in groups], axis=1)
        ra, rb = stats.rankdata(cos_a[idx], axis=1), stats.rankdata(cos_b[idx], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            deltas.append(_rank_correlation(rb, target) - _rank_correlation(ra, target))
    return quantiles(np.concatenate(deltas), settings.level)


def hits_difference(hits_a: np.ndarray, hits_b: np.ndarray, settings: BootstrapSettings, metric: str = "acc") -> tuple[float, float]:
    """Interval of ``mean(hits_b) - mean(hits_a)``, queries resampled with replacement."""
    if hits_a.size == 0:
        return float("nan"), float("nan")
    diff = np.asarray(hits_b, dtype=np.float64) - np.asarray(hits_a, dtype=np.float64)
    rng = metric_rng(settings, metric)
    deltas = [diff[rng.integers(0, diff.size, size=(n, diff.size))].mean(axis=1) for n in blocks(settings.resamples)]
    return quantiles(np.concatenate(deltas), settings.level)
