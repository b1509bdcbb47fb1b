"""Mention-to-code linking on held-out groups: a synonym finds its code among preferred names.

Each task holds the preferred names of the held-out codes of one system (the
index) and the other strings of those codes (ICD-10-CM inclusion terms, HPO exact
synonyms) as queries. Only codes whose group the recipe's split holds out take
part, so a trained model never saw a query or its code. Search is
:class:`~ehrfeat.index.CodeIndex`, the one the runtime uses. numpy only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ehrfeat.codes import HPO, ICD10CM, Code
from ehrfeat.encoders.base import Encoder
from ehrfeat.index import CodeIndex
from ehrfeat.store.embeddings import CodeEmbeddings
from ehrfeat.vocab import Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["LINKING_SOURCES", "LinkingTask", "build_linking_task", "default_linking_tasks", "evaluate_linking", "linking_hits"]

# task name -> (system, reader in ehrfeat.vocab.readers)
LINKING_SOURCES: dict[str, tuple[str, str]] = {"icd10cm": (ICD10CM, "read_icd10cm"), "hpo": (HPO, "read_hpo")}


@dataclass(frozen=True)
class LinkingTask:
    """``names``: (code, preferred name) searched; ``queries``: (mention, true code)."""

    name: str
    system: str
    names: tuple[tuple[str, str], ...]
    queries: tuple[tuple[str, str], ...]
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "system": self.system, "names": self.names, "queries": self.queries, "skipped": self.skipped}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkingTask:
        return cls(
            str(data["name"]), str(data["system"]), tuple(tuple(x) for x in data["names"]),  # type: ignore[misc]
            tuple(tuple(x) for x in data["queries"]), dict(data.get("skipped", {})),  # type: ignore[misc]
        )


def build_linking_task(
    name: str, vocabulary: Vocabulary, system: str, split: HeldOutSplit, *, max_queries: int = 2000, seed: int = 42
) -> LinkingTask:
    """The held-out codes of ``system`` in ``vocabulary`` and their non-preferred strings.

    A query string that is also the preferred name of some held-out code, or a
    string of two codes, is ambiguous: it is skipped and counted.
    """
    concepts = [c for c in vocabulary.concepts(system) if split.is_heldout(system, c.code)]
    names = tuple((c.code, c.name) for c in concepts)
    preferred = {c.name.lower() for c in concepts}
    owners: dict[str, set[str]] = {}
    for c in concepts:
        for syn in c.synonyms:
            owners.setdefault(syn.lower(), set()).add(c.code)
    skipped: dict[str, int] = {}
    queries: list[tuple[str, str]] = []
    for c in concepts:
        for syn in c.synonyms:
            reason = "same text as a preferred name" if syn.lower() in preferred else "string of two codes" if len(owners[syn.lower()]) > 1 else None
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
            else:
                queries.append((syn, c.code))
    if max_queries and len(queries) > max_queries:
        skipped["beyond the query sample"] = len(queries) - max_queries
        queries = random.Random(seed).sample(queries, max_queries)
    return LinkingTask(name, system, names, tuple(queries), skipped)


def default_linking_tasks(fraction: float = 0.1, *, max_queries: int = 2000, seed: int = 42) -> tuple[LinkingTask, ...]:
    """ICD-10-CM inclusion terms and HPO exact synonyms of the held-out groups of ``fraction``."""
    from ehrfeat.vocab import readers

    split = HeldOutSplit(fraction)
    tasks = []
    for name, (system, reader) in LINKING_SOURCES.items():
        source = getattr(readers, reader)()
        tasks.append(build_linking_task(name, source.vocabulary, system, split, max_queries=max_queries, seed=seed))
    return tuple(tasks)


def linking_hits(
    encoder: Encoder,
    task: LinkingTask,
    *,
    ks: Sequence[int] = (1, 5),
    batch_size: int = 128,
    vectors: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> dict[int, np.ndarray]:
    """k -> one 0/1 per query of ``task``: is the true code among the ``k`` nearest preferred names.

    ``vectors``: gives ``encoder``'s normalised vectors of a list of strings, so a caller can
    reuse them across tasks (default: encode here).
    """
    if not task.queries or not task.names:
        return {k: np.zeros(0) for k in ks}
    embed = vectors or (lambda strings: encoder.encode(list(strings), batch_size=batch_size, normalize_embeddings=True))
    texts = [n for _, n in task.names]
    matrix = embed(texts)
    codes = tuple(Code(task.system, c) for c, _ in task.names)
    index = CodeIndex(CodeEmbeddings(encoder.fingerprint, codes, tuple(texts), matrix))
    row = {c: i for i, c in enumerate(codes)}
    queries = embed([q for q, _ in task.queries])
    truth = np.array([row[Code(task.system, c)] for _, c in task.queries])
    _, top = index.search(queries, min(max(ks), len(codes)))
    return {k: (top[:, :k] == truth[:, None]).any(axis=1).astype(np.float64) for k in ks}


def evaluate_linking(encoder: Encoder, task: LinkingTask, *, ks: Sequence[int] = (1, 5), batch_size: int = 128) -> dict[str, Any]:
    """acc@k of ``task``'s queries: the true code among the ``k`` nearest preferred names."""
    out: dict[str, Any] = {"queries": len(task.queries), "index": len(task.names)}
    if not task.queries or not task.names:
        return out | {f"acc@{k}": float("nan") for k in ks}
    hits = linking_hits(encoder, task, ks=ks, batch_size=batch_size)
    return out | {f"acc@{k}": float(np.mean(hits[k])) for k in ks}
