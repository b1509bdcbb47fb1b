"""Held-out evaluation of any :class:`~ehrfeat.encoders.Encoder` (torch, ONNX, ...).

Hierarchy discrimination: for every pair of categories ``i < j`` (0v1 ... 2v3),
the ROC-AUC of cosine with the closer category as positive; Spearman of cosine
against closeness (minus the category, so higher is better for both). Synonym
retrieval: each non-preferred string of a held-out group queries the preferred
strings of all held-out groups; acc@1 and acc@5. Linking: see
:mod:`ehrfeat.evaluation.linking` (``link_<task>@1`` and ``@5``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.encoders.base import Encoder
from ehrfeat.evaluation.linking import LinkingTask, evaluate_linking
from ehrfeat.evaluation.metrics import retrieval_accuracy, roc_auc, spearman

__all__ = ["HELDOUT_FILE", "EvalPair", "EvalSet", "evaluate_encoder"]

HELDOUT_FILE = "ehrfeat_heldout.json"  # the held-out set a training run saves beside its checkpoint

EvalPair = tuple[str, str, str, int]  # source, term a, term b, category


@dataclass(frozen=True)
class EvalSet:
    """Held-out categorised pairs and synonym groups (plain strings: no torch, no vocabularies)."""

    pairs: tuple[EvalPair, ...] = ()
    synonym_groups: tuple[tuple[str, ...], ...] = ()
    linking: tuple[LinkingTask, ...] = ()

    @classmethod
    def from_parts(cls, pair_sets: Iterable[Any], synonym_groups: Sequence[Sequence[str]]) -> EvalSet:
        """From :class:`~ehrfeat.training.pairs.PairSet` s (``.source``, ``.pairs``) and groups."""
        pairs = tuple((ps.source, p.anchor, p.other, int(p.category)) for ps in pair_sets for p in ps.pairs)
        return cls(pairs, tuple(tuple(g) for g in synonym_groups if len(g) >= 2))

    def texts(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, a, b, _c in self.pairs:
            seen[a] = seen[b] = None
        for group in self.synonym_groups:
            seen.update(dict.fromkeys(group))
        return list(seen)

    def save(self, path: str | Path) -> None:
        data = {"pairs": self.pairs, "synonym_groups": self.synonym_groups, "linking": [t.to_dict() for t in self.linking]}
        Path(path).write_text(json.dumps(data))

    @classmethod
    def load(cls, path: str | Path) -> EvalSet:
        data = json.loads(Path(path).read_text())
        linking = tuple(LinkingTask.from_dict(t) for t in data.get("linking", ()))
        return cls(tuple(tuple(p) for p in data["pairs"]), tuple(tuple(g) for g in data["synonym_groups"]), linking)  # type: ignore[misc]


def _hierarchy_metrics(cos: np.ndarray, cats: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    present = sorted(set(cats.tolist()))
    for i, j in itertools.combinations(present, 2):
        out[f"auc_{i}v{j}"] = roc_auc(cos[cats == i], cos[cats == j])
    out["spearman"] = spearman(cos, -cats)
    return out


def evaluate_encoder(encoder: Encoder, evalset: EvalSet, *, batch_size: int = 128, show_progress_bar: bool = False) -> dict[str, Any]:
    """Metrics of ``encoder`` on ``evalset``: overall, and the AUCs of each source."""
    texts = evalset.texts()
    vectors = encoder.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar, normalize_embeddings=True)
    row = {t: i for i, t in enumerate(texts)}
    result: dict[str, Any] = {"pairs": len(evalset.pairs)}
    if evalset.pairs:
        a = vectors[[row[p[1]] for p in evalset.pairs]]
        b = vectors[[row[p[2]] for p in evalset.pairs]]
        cos = (a * b).sum(axis=1).astype(np.float64)
        cats = np.array([p[3] for p in evalset.pairs])
        result.update(_hierarchy_metrics(cos, cats))
        sources = np.array([p[0] for p in evalset.pairs])
        result["by_source"] = {s: {"pairs": int((sources == s).sum()), **_hierarchy_metrics(cos[sources == s], cats[sources == s])} for s in sorted(set(sources.tolist()))}
    groups = evalset.synonym_groups
    queries = [(term, g) for g, group in enumerate(groups) for term in group[1:]]
    result["synonym_queries"] = len(queries)
    if queries and len(groups) >= 2:
        candidates = vectors[[row[group[0]] for group in groups]]
        q = vectors[[row[t] for t, _ in queries]]
        acc = retrieval_accuracy(q, candidates, np.array([g for _, g in queries]), ks=(1, 5))
        result["syn_acc@1"], result["syn_acc@5"] = acc[1], acc[5]
    if evalset.linking:
        result["linking"] = {}
        for task in evalset.linking:
            scores = evaluate_linking(encoder, task, ks=(1, 5), batch_size=batch_size)
            result["linking"][task.name] = scores
            result[f"link_{task.name}@1"], result[f"link_{task.name}@5"] = scores["acc@1"], scores["acc@5"]
    return result
