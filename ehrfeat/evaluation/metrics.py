"""Ranking metrics in numpy/scipy: ROC-AUC by Mann-Whitney ranks, Spearman, retrieval accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["retrieval_accuracy", "roc_auc", "spearman"]


def roc_auc(positive: Sequence[float] | np.ndarray, negative: Sequence[float] | np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting one half; NaN if a side is empty."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.concatenate([pos, neg]))  # average ranks for ties
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2.0
    return float(u / (pos.size * neg.size))


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation; NaN with fewer than two points or a constant side."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def retrieval_accuracy(queries: np.ndarray, candidates: np.ndarray, truth: np.ndarray, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Share of queries whose true candidate (index ``truth[i]``) is among the ``k`` most cosine-similar.

    ``queries`` and ``candidates`` are L2-normalised rows. Ties are broken against
    the true candidate (a candidate scoring equal counts as ranked above it).
    """
    if len(queries) == 0:
        return {k: float("nan") for k in ks}
    out: dict[int, list[float]] = {k: [] for k in ks}
    for start in range(0, len(queries), 1024):
        sims = queries[start : start + 1024] @ candidates.T
        true = sims[np.arange(len(sims)), truth[start : start + 1024]]
        rank = (sims >= true[:, None]).sum(axis=1)  # 1 = best; counts the true candidate itself
        for k in ks:
            out[k].extend((rank <= k).astype(np.float64).tolist())
    return {k: float(np.mean(v)) for k, v in out.items()}
