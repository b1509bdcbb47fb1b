"""Held-out evaluation of any :class:`~ehrfeat.encoders.Encoder` (torch, ONNX, ...).

Hierarchy discrimination: for every pair of categories ``i < j`` (0v1 ... 2v3),
the ROC-AUC of cosine with the closer category as positive; Spearman of cosine
against closeness (minus the category, so higher is better for both). Synonym
retrieval: each non-preferred string of a held-out group queries the preferred
strings of all held-out groups; acc@1 and acc@5. Linking: see
:mod:`ehrfeat.evaluation.linking` (``link_<task>@1`` and ``@5``); lay mentions:
:mod:`ehrfeat.evaluation.lay` (``lay_<task>@1`` and ``@3``).
:func:`compare_encoders` scores two models on the same items and adds the 95%
paired bootstrap interval of each difference (:mod:`ehrfeat.evaluation.bootstrap`).
:meth:`EvalSet.unseen` keeps only the items whose text a recipe's training never saw
(the split holds out codes per system; the same text can be trained in another).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.encoders.base import Encoder
from ehrfeat.evaluation.bootstrap import BootstrapSettings, ItemScores
from ehrfeat.evaluation.intervals import paired_intervals
from ehrfeat.evaluation.lay import LAY_KS
from ehrfeat.evaluation.linking import LinkingTask, linking_hits
from ehrfeat.evaluation.metrics import roc_auc, spearman

__all__ = ["HELDOUT_FILE", "UNSEEN_REASON", "EvalPair", "EvalSet", "compare_encoders", "encoder_label", "evaluate_encoder", "score_encoder"]

HELDOUT_FILE = "ehrfeat_heldout.json"  # the held-out set a training run saves beside its checkpoint
UNSEEN_REASON = "a training text of the recipe (--unseen-by)"

EvalPair = tuple[str, str, str, int]  # source, term a, term b, category


@dataclass(frozen=True)
class EvalSet:
    """Held-out categorised pairs and synonym groups (plain strings: no torch, no vocabularies)."""

    pairs: tuple[EvalPair, ...] = ()
    synonym_groups: tuple[tuple[str, ...], ...] = ()
    linking: tuple[LinkingTask, ...] = ()
    lay: tuple[LinkingTask, ...] = ()  # lay-mention tasks (absent from files written before them)

    @classmethod
    def from_parts(cls, pair_sets: Iterable[Any], synonym_groups: Sequence[Sequence[str]]) -> EvalSet:
        """From :class:`~ehrfeat.training.pairs.PairSet` s (``.source``, ``.pairs``) and groups."""
        pairs = tuple((ps.source, p.anchor, p.other, int(p.category)) for ps in pair_sets for p in ps.pairs)
        return cls(pairs, tuple(tuple(g) for g in synonym_groups if len(g) >= 2))

    def texts(self) -> list[str]:
        """The distinct strings of the pairs and synonym groups."""
        seen: dict[str, None] = {}
        for _, a, b, _c in self.pairs:
            seen[a] = seen[b] = None
        for group in self.synonym_groups:
            seen.update(dict.fromkeys(group))
        return list(seen)

    def unseen(self, trained: Collection[str]) -> EvalSet:
        """Only what training never saw: ``trained`` holds case-folded training texts.

        A pair goes when its anchor (the held-out concept) is a training text; a
        synonym group when its preferred term is, and its other strings that are;
        a linking or lay query when it is (counted in the task's ``skipped``).
        """
        def task(t: LinkingTask) -> LinkingTask:
            queries = tuple(q for q in t.queries if q[0].casefold() not in trained)
            gone = len(t.queries) - len(queries)
            return replace(t, queries=queries, skipped={**t.skipped, UNSEEN_REASON: gone} if gone else dict(t.skipped))

        groups = []
        for group in self.synonym_groups:
            rest = tuple(s for s in group[1:] if s.casefold() not in trained)
            if group[0].casefold() not in trained and rest:
                groups.append((group[0], *rest))
        pairs = tuple(p for p in self.pairs if p[1].casefold() not in trained)
        return EvalSet(pairs, tuple(groups), tuple(map(task, self.linking)), tuple(map(task, self.lay)))

    def save(self, path: str | Path) -> None:
        data: dict[str, Any] = {"pairs": self.pairs, "synonym_groups": self.synonym_groups, "linking": [t.to_dict() for t in self.linking]}
        if self.lay:
            data["lay"] = [t.to_dict() for t in self.lay]
        Path(path).write_text(json.dumps(data))

    @classmethod
    def load(cls, path: str | Path) -> EvalSet:
        data = json.loads(Path(path).read_text())
        linking = tuple(LinkingTask.from_dict(t) for t in data.get("linking", ()))
        lay = tuple(LinkingTask.from_dict(t) for t in data.get("lay", ()))
        return cls(tuple(tuple(p) for p in data["pairs"]), tuple(tuple(g) for g in data["synonym_groups"]), linking, lay)  # type: ignore[misc]


def _hierarchy_metrics(cos: np.ndarray, cats: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    present = sorted(set(cats.tolist()))
    for i, j in itertools.combinations(present, 2):
        out[f"auc_{i}v{j}"] = roc_auc(cos[cats == i], cos[cats == j])
    out["spearman"] = spearman(cos, -cats)
    return out


def encoder_label(encoder: Encoder) -> str:
    """What ran, for reports: an ONNX variant with its int8 preset, CPU target and weight type
    (int8 kernels differ by CPU, and so do the numbers, a little), else the encoder's class."""
    describe = getattr(encoder, "describe", None)
    info: dict[str, Any] = describe() if callable(describe) else {}
    if "precision" not in info:
        return type(encoder).__name__
    quantization = info.get("quantization") or {}
    detail = f" ({quantization.get('preset')}, {quantization.get('target')}, {quantization.get('weight_type')} weights)" if quantization else ""
    return f"ONNX {info['precision']}{detail}"


def score_encoder(encoder: Encoder, evalset: EvalSet, *, batch_size: int = 128, show_progress_bar: bool = False) -> tuple[dict[str, Any], ItemScores]:
    """Metrics of ``encoder`` on ``evalset`` (overall, and the AUCs of each source) and the per-item results."""
    texts = evalset.texts()
    vectors = encoder.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar, normalize_embeddings=True)
    row = {t: i for i, t in enumerate(texts)}
    encoded: dict[tuple[str, ...], np.ndarray] = {}

    def lookup(strings: Sequence[str]) -> np.ndarray:
        # Tasks on the same names (HPO linking and HPO lay mentions) encode them once. Only the same list
        # is reused: int8 scales activations per batch, so a string's vector depends a little on its batch.
        key = tuple(strings)
        if key not in encoded:
            encoded[key] = encoder.encode(list(strings), batch_size=batch_size, normalize_embeddings=True)
        return encoded[key]
    result: dict[str, Any] = {"encoder": encoder_label(encoder), "pairs": len(evalset.pairs)}
    cos, cats, sources, anchors = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=str), np.zeros(0, dtype=str)
    hits: dict[str, np.ndarray] = {}
    concepts: dict[str, np.ndarray] = {}  # metric -> each query's concept, for the bootstrap by concept
    if evalset.pairs:
        a = vectors[[row[p[1]] for p in evalset.pairs]]
        b = vectors[[row[p[2]] for p in evalset.pairs]]
        cos = (a * b).sum(axis=1).astype(np.float64)
        cats = np.array([p[3] for p in evalset.pairs])
        result.update(_hierarchy_metrics(cos, cats))
        sources = np.array([p[0] for p in evalset.pairs])
        anchors = np.array([p[1] for p in evalset.pairs])  # one anchor text, one vector: its pairs rise and fall together
        result["by_source"] = {s: {"pairs": int((sources == s).sum()), **_hierarchy_metrics(cos[sources == s], cats[sources == s])} for s in sorted(set(sources.tolist()))}
    groups = evalset.synonym_groups
    queries = [(term, g) for g, group in enumerate(groups) for term in group[1:]]
    result["synonym_queries"] = len(queries)
    if queries and len(groups) >= 2:
        candidates = vectors[[row[group[0]] for group in groups]]
        q = vectors[[row[t] for t, _ in queries]]
        truth = np.array([g for _, g in queries])
        sims = q @ candidates.T
        rank = (sims >= sims[np.arange(len(q)), truth][:, None]).sum(axis=1)  # ties count against the truth
        for k in (1, 5):
            hits[f"syn_acc@{k}"] = (rank <= k).astype(np.float64)
            concepts[f"syn_acc@{k}"] = truth
    for key, tasks, prefix, ks in (("linking", evalset.linking, "link", (1, 5)), ("lay", evalset.lay, "lay", LAY_KS)):
        if tasks:
            result[key] = {}
        for task in tasks:
            task_hits = linking_hits(encoder, task, ks=ks, batch_size=batch_size, vectors=lookup)
            result[key][task.name] = {"queries": len(task.queries), "index": len(task.names), "skipped": dict(task.skipped)}
            truth_codes = np.array([code for _, code in task.queries])
            for k in ks:
                if task_hits[k].size:
                    hits[f"{prefix}_{task.name}@{k}"] = task_hits[k]
                    concepts[f"{prefix}_{task.name}@{k}"] = truth_codes
                result[key][task.name][f"acc@{k}"] = float(np.mean(task_hits[k])) if task_hits[k].size else float("nan")
    result.update({metric: float(np.mean(h)) for metric, h in hits.items()})
    return result, ItemScores(cos, cats, sources, hits, anchors, concepts)


def evaluate_encoder(encoder: Encoder, evalset: EvalSet, *, batch_size: int = 128, show_progress_bar: bool = False) -> dict[str, Any]:
    """Metrics of ``encoder`` on ``evalset``: overall, and the AUCs of each source."""
    return score_encoder(encoder, evalset, batch_size=batch_size, show_progress_bar=show_progress_bar)[0]


def compare_encoders(
    encoders: Mapping[str, Encoder], evalset: EvalSet, *, bootstrap: BootstrapSettings | None = None, batch_size: int = 128
) -> dict[str, dict[str, Any]]:
    """``{name: metrics}`` of each encoder on the same ``evalset``.

    With two encoders (base first), the second's metrics hold ``ci95``: metric ->
    ``[low, high]``, the paired bootstrap interval of ``second - first`` (per-source
    rows as ``source:auc_0v1``), and ``bootstrap``: the resamples, seed, level and unit.
    """
    settings = bootstrap or BootstrapSettings()
    scored = {name: score_encoder(enc, evalset, batch_size=batch_size) for name, enc in encoders.items()}
    results = {name: metrics for name, (metrics, _) in scored.items()}
    if len(scored) == 2:
        (_, (_, base)), (name, (_, trained)) = scored.items()
        intervals = paired_intervals(base, trained, settings)
        results[name]["ci95"] = {metric: [lo, hi] for metric, (lo, hi) in intervals.items()}
        results[name]["bootstrap"] = {"resamples": settings.resamples, "seed": settings.seed, "level": settings.level, "unit": settings.unit}
    return results
