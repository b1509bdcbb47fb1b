"""Paired bootstrap by concept: resample held-out concepts, not single items.

The items of one held-out concept are not independent: the entry terms of one MeSH
descriptor succeed or fail together, and the pairs of one anchor share its vector.
Resampling single items then gives intervals that are too narrow. Here each resample
draws the concepts with replacement (as many draws as there are concepts), and every
item of a drawn concept comes with it, once per draw. Each metric is computed on that
weighted sample exactly as if the drawn items were written out:

* accuracy: the mean hit over the drawn queries (per-concept sums, so a resample is
  one matrix product);
* AUC of categories ``i`` and ``j``: every pair weighed by its concept's draws (a
  resample that draws no pair of one category is left out of the quantiles);
* Spearman: the weighted sample's average ranks, then their weighted correlation.

The concept of a query is its true code or synonym group; that of a pair is its
anchor, the held-out string the pair was drawn for. numpy only.
"""

from __future__ import annotations

import numpy as np

from ehrfeat.evaluation.bootstrap import BootstrapSettings, blocks, metric_rng, quantiles, weighted_auc

__all__ = ["concept_auc_difference", "concept_hits_difference", "concept_spearman_difference", "weighted_ranks"]


def _dense(concepts: np.ndarray) -> tuple[np.ndarray, int]:
    """Concept labels -> (index of each item's concept in 0..n-1, n)."""
    uniq, inverse = np.unique(np.asarray(concepts), return_inverse=True)
    return inverse.reshape(-1), int(uniq.size)


def _draws(rng: np.random.Generator, concepts: int, n: int) -> np.ndarray:
    """(n, concepts): how often each concept is drawn in each of ``n`` resamples."""
    return rng.multinomial(concepts, np.full(concepts, 1.0 / concepts), size=n).astype(np.float64)


def _finite_quantiles(deltas: np.ndarray, level: float) -> tuple[float, float]:
    kept = deltas[np.isfinite(deltas)]
    return quantiles(kept, level) if kept.size else (float("nan"), float("nan"))


def concept_hits_difference(hits_a: np.ndarray, hits_b: np.ndarray, concepts: np.ndarray, settings: BootstrapSettings, metric: str = "acc") -> tuple[float, float]:
    """Interval of ``mean(hits_b) - mean(hits_a)``, the queries' concepts resampled."""
    if hits_a.size == 0:
        return float("nan"), float("nan")
    inverse, n_concepts = _dense(concepts)
    diff = np.asarray(hits_b, dtype=np.float64) - np.asarray(hits_a, dtype=np.float64)
    sums = np.bincount(inverse, weights=diff, minlength=n_concepts)
    sizes = np.bincount(inverse, minlength=n_concepts).astype(np.float64)
    rng = metric_rng(settings, metric)
    deltas = []
    for n in blocks(settings.resamples):
        draws = _draws(rng, n_concepts, n)
        deltas.append(draws @ sums / (draws @ sizes))
    return quantiles(np.concatenate(deltas), settings.level)


def concept_auc_difference(
    pos: tuple[np.ndarray, np.ndarray], neg: tuple[np.ndarray, np.ndarray], pos_concepts: np.ndarray, neg_concepts: np.ndarray,
    settings: BootstrapSettings, metric: str = "auc",
) -> tuple[float, float]:
    """Interval of ``AUC(b) - AUC(a)``: ``pos``/``neg`` hold model a's and model b's cosines of the same pairs."""
    (pos_a, pos_b), (neg_a, neg_b) = pos, neg
    if min(pos_a.size, neg_a.size) == 0:
        return float("nan"), float("nan")
    inverse, n_concepts = _dense(np.concatenate([pos_concepts, neg_concepts]))
    in_pos, in_neg = inverse[: pos_a.size], inverse[pos_a.size :]
    rng = metric_rng(settings, metric)
    deltas = []
    for n in blocks(settings.resamples):
        draws = _draws(rng, n_concepts, n)
        w_pos, w_neg = draws[:, in_pos], draws[:, in_neg]
        with np.errstate(invalid="ignore", divide="ignore"):
            deltas.append(weighted_auc(pos_b, neg_b, w_pos, w_neg) - weighted_auc(pos_a, neg_a, w_pos, w_neg))
    return _finite_quantiles(np.concatenate(deltas), settings.level)


def weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, m) average ranks of ``values`` (m,) in each row's sample, where item ``k`` appears ``weights[row, k]`` times.

    Ties (equal values, and the copies of one item) share the mean of their ranks, as
    ``scipy.stats.rankdata`` gives on the written-out sample.
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    cum = np.zeros((weights.shape[0], values.size + 1))
    np.cumsum(weights[:, order], axis=1, out=cum[:, 1:])
    before, within = cum[:, starts], cum[:, ends] - cum[:, starts]
    group_rank = before + (within + 1.0) / 2.0
    group_of = np.empty(values.size, dtype=np.int64)
    group_of[order] = np.repeat(np.arange(starts.size), ends - starts)
    return group_rank[:, group_of]


def _weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    dx = x - (w * x).sum(axis=1, keepdims=True) / total
    dy = y - (w * y).sum(axis=1, keepdims=True) / total
    return (w * dx * dy).sum(axis=1) / np.sqrt((w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1))


def concept_spearman_difference(
    cos_a: np.ndarray, cos_b: np.ndarray, cats: np.ndarray, concepts: np.ndarray, settings: BootstrapSettings, metric: str = "spearman"
) -> tuple[float, float]:
    """Interval of ``Spearman(cos_b, -cats) - Spearman(cos_a, -cats)``, the pairs' concepts resampled."""
    if cats.size < 2 or np.unique(cats).size < 2:
        return float("nan"), float("nan")
    inverse, n_concepts = _dense(concepts)
    closeness = -np.asarray(cats, dtype=np.float64)
    rng = metric_rng(settings, metric)
    deltas = []
    for n in blocks(settings.resamples):
        weights = _draws(rng, n_concepts, n)[:, inverse]
        target = weighted_ranks(closeness, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            deltas.append(_weighted_correlation(weighted_ranks(cos_b, weights), target, weights)
                          - _weighted_correlation(weighted_ranks(cos_a, weights), target, weights))
    return _finite_quantiles(np.concatenate(deltas), settings.level)
