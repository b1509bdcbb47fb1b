"""The interval of every row of a report: overall and per-source pair rows, then the retrieval rows.

:func:`paired_intervals` chooses the resampling unit of :class:`BootstrapSettings`:
single items (:mod:`ehrfeat.evaluation.bootstrap`) or held-out concepts
(:mod:`ehrfeat.evaluation.concept_bootstrap`). numpy only.
"""

from __future__ import annotations

import numpy as np

from ehrfeat.evaluation.bootstrap import (
    BootstrapSettings,
    ItemScores,
    auc_difference,
    hits_difference,
    spearman_difference,
)
from ehrfeat.evaluation.concept_bootstrap import (
    concept_auc_difference,
    concept_hits_difference,
    concept_spearman_difference,
)

__all__ = ["paired_intervals"]

Interval = tuple[float, float]


def _concepts_of(size: int, what: str, concepts: np.ndarray) -> np.ndarray:
    if concepts.shape != (size,):
        raise ValueError(f"the bootstrap by concept needs the concept of every {what} (ItemScores.pair_concepts / hit_concepts)")
    return concepts


def _pair_intervals(a: ItemScores, b: ItemScores, mask: np.ndarray, prefix: str, settings: BootstrapSettings,
                    pair_concepts: np.ndarray | None) -> dict[str, Interval]:
    """The AUC and Spearman rows of the pairs in ``mask``; by concept when ``pair_concepts`` is given."""
    out: dict[str, Interval] = {}
    cats = a.cats[mask]
    ca, cb = a.cos[mask], b.cos[mask]
    concepts = pair_concepts[mask] if pair_concepts is not None else None
    present = sorted(set(cats.tolist()))
    for n, i in enumerate(present):
        for j in present[n + 1 :]:
            name = f"{prefix}auc_{i}v{j}"
            pos, neg = cats == i, cats == j
            if concepts is not None:
                out[name] = concept_auc_difference((ca[pos], cb[pos]), (ca[neg], cb[neg]), concepts[pos], concepts[neg], settings, name)
            else:
                out[name] = auc_difference(ca[pos], ca[neg], cb[pos], cb[neg], settings, name)
    name = f"{prefix}spearman"
    if concepts is not None:
        out[name] = concept_spearman_difference(ca, cb, cats, concepts, settings, name)
    else:
        out[name] = spearman_difference(ca, cb, cats, settings, name)
    return out


def paired_intervals(base: ItemScores, trained: ItemScores, settings: BootstrapSettings | None = None) -> dict[str, Interval]:
    """metric -> (low, high) of the ``trained - base`` difference; per-source rows are ``source:auc_0v1``."""
    settings = settings or BootstrapSettings()
    if base.cos.shape != trained.cos.shape or not np.array_equal(base.cats, trained.cats):
        raise ValueError("paired bootstrap needs both models scored on the same held-out pairs")
    out: dict[str, Interval] = {}
    if base.cos.size:
        concepts = _concepts_of(base.cos.size, "held-out pair", base.pair_concepts) if settings.unit == "concept" else None
        out.update(_pair_intervals(base, trained, np.ones(base.cos.size, dtype=bool), "", settings, concepts))
        for source in sorted(set(base.sources.tolist())):
            out.update(_pair_intervals(base, trained, base.sources == source, f"{source}:", settings, concepts))
    for metric, hits in base.hits.items():
        if metric not in trained.hits:
            continue
        if settings.unit == "concept":
            concepts = _concepts_of(hits.size, f"{metric} query", np.asarray(base.hit_concepts.get(metric, np.zeros(0))))
            out[metric] = concept_hits_difference(hits, trained.hits[metric], concepts, settings, metric)
        else:
            out[metric] = hits_difference(hits, trained.hits[metric], settings, metric)
    return out
