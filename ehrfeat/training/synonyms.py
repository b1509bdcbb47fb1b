"""Synonym groups (the UMLS role): strings that name one concept, for the multi-similarity loss.

A group is the terms of one concept (preferred name, synonyms, inclusion terms),
merged across systems by exact-match mappings (MONDO ``exactMatch`` ICD-10-CM,
UMLS CUIs). A string is kept in the first group it appears in; a later
occurrence under another concept is counted, not used, so no string has two
labels. A group may carry a weight (the largest of its concepts' source
``synonym_weight``): how many times one pass of the synonym loader draws it, so a
source of lay or entry-term synonyms (MeSH, HPO) can be weighted up. A group may
also carry a family (the parent code of its concepts in their hierarchy), so the
loader can put sibling concepts in one batch: hard negatives for the miner. Torch-free.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ehrfeat.codes import Code
from ehrfeat.vocab import CodeMapping, Concept, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["EXACT_PREDICATES", "SynonymSet", "build_synonym_groups"]

EXACT_PREDICATES = ("exactMatch", "skos:exactMatch", "sameAs", "SY")


@dataclass
class SynonymSet:
    """Groups of at least two distinct strings; the group index is the label.

    ``weights`` (one per group, or empty: all 1) are the draws per pass of each group;
    ``families`` (one per group, or empty) name the parent its concepts share with
    sibling groups ("" for a group without one).
    """

    groups: list[tuple[str, ...]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    weights: list[float] = field(default_factory=list)
    families: list[str] = field(default_factory=list)

    @property
    def terms(self) -> int:
        return sum(len(g) for g in self.groups)

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {"groups": len(self.groups), "terms": self.terms, "skipped": dict(self.skipped)}
        if self.weights:
            out["weighted_groups"] = sum(w != 1.0 for w in self.weights)
        if self.families:
            out["families"] = len(set(self.families) - {""})
        return out

    def sampled(self, max_groups: int, seed: int = 0, *, heldout: bool = False) -> SynonymSet:
        """At most ``max_groups`` of the groups (0: all), drawn reproducibly by ``seed`` and side,
        with their weights and families; the skip counts stay those of the whole set."""
        if not max_groups or len(self.groups) <= max_groups:
            return SynonymSet(list(self.groups), Counter(self.skipped), list(self.weights), list(self.families))
        rng = random.Random(f"{seed}|synonyms|{heldout}")
        keep = sorted(rng.sample(range(len(self.groups)), max_groups))
        return SynonymSet([self.groups[i] for i in keep], Counter(self.skipped),
                          [self.weights[i] for i in keep] if self.weights else [],
                          [self.families[i] for i in keep] if self.families else [])


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Code, Code] = {}

    def find(self, x: Code) -> Code:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def union(self, a: Code, b: Code) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def build_synonym_groups(
    concepts: Iterable[Concept],
    vocabulary: Vocabulary,
    mappings: Iterable[CodeMapping] = (),
    *,
    split: HeldOutSplit | None = None,
    heldout: bool = False,
    max_groups: int = 0,
    seed: int = 0,
    concept_weights: Mapping[Code, float] | None = None,
    family_of: Mapping[Code, str] | None = None,
) -> SynonymSet:
    """Group ``concepts`` (merged by exact-match ``mappings``) into synonym groups.

    ``vocabulary`` supplies the text of mapped codes. With a ``split``, a group is
    held out when any of its codes is; ``heldout`` picks that side. ``concept_weights``
    (by concept, default 1) weight each group by the largest weight of its concepts;
    ``family_of`` (by concept) gives each group the first family of its concepts.
    """
    result = SynonymSet()
    uf = _UnionFind()
    members: dict[Code, Concept] = {}
    for concept in concepts:  # the merged vocabulary's entry holds the strings of every source
        members[concept.ref] = vocabulary.get(concept.system, concept.code) or concept
        uf.find(concept.ref)
    for m in mappings:
        if m.predicate not in EXACT_PREDICATES:
            continue
        ends = []
        for ref in (m.source, m.target):
            found = members.get(ref) or vocabulary.get(ref.system, ref.code)
            if found is None:
                result.skipped["mapped code without text"] += 1
                break
            members[found.ref] = found
            ends.append(found.ref)
        else:
            uf.union(ends[0], ends[1])
    clusters: dict[Code, list[Code]] = {}
    for ref in sorted(members):
        clusters.setdefault(uf.find(ref), []).append(ref)
    owner: dict[str, Code] = {}
    for root, refs in clusters.items():
        if split is not None and any(split.is_heldout(r.system, r.code) for r in refs) != heldout:
            continue
        terms: list[str] = []
        for ref in refs:
            for term in members[ref].terms:
                key = term.casefold()
                if key in owner:
                    if owner[key] != root:
                        result.skipped["string shared by two concepts"] += 1
                    continue
                owner[key] = root
                terms.append(term)
        if len(terms) >= 2:
            result.groups.append(tuple(terms))
            if concept_weights is not None:
                result.weights.append(max(concept_weights.get(r, 1.0) for r in refs))
            if family_of is not None:
                result.families.append(next((family_of[r] for r in refs if r in family_of), ""))
    if concept_weights is not None and all(w == 1.0 for w in result.weights):
        result.weights = []
    result.skipped = Counter({r: n for r, n in result.skipped.items() if n})
    return result.sampled(max_groups, seed, heldout=heldout) if max_groups else result
