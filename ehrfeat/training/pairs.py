"""Term pairs with ordered distance categories, from any ``Vocabulary`` + ``Hierarchy``.

For each anchor term (every string of every code with text) up to ``k`` pairs per
category are sampled:

* 0: another string of the same code (synonym, inclusion term);
* 1: a string of a child or a sibling;
* 2: a string of a parent;
* 3: a string of a random code of the same hierarchy, none of the above.

With ``groups`` and ``groups_closer=True`` (the ICD trees against the phecode each code
rolls up to) category 1 holds only the children and siblings in the anchor's own group,
and every farther category moves one down: 2 is another child or sibling, 3 a parent,
4 a random code. Another source calls codes of one group one concept, so they sit
between synonyms and the other siblings instead of in the siblings' band. A code
without a group is in no one's group (``inherit_groups`` first fills what a roll-up
implies: a code takes its nearest grouped ancestor's group). ``members=n`` reaches past
the close codes: each anchor also draws up to ``n`` codes from anywhere in the tree that
share its group into category 1 (a phecode often gathers several ICD categories), never
of a group in ``closed_groups`` (held out by the source that defines the groups), and
random codes then never share the anchor's group.

With ``qualifier_negatives=n`` up to ``n`` of an anchor's random codes share the
qualifier its name adds to its parent's name ("..., sequela"; see ``qualifiers``): hard
negatives against reading the qualifier alone as relatedness.

With ``record_depths=True`` each pair also records the depth of its codes' deepest
common ancestor (``tree_depth``), for bands that depend on it (``pairs.depth_shift``).

With ``depth_aware=True`` the category is instead the hop distance through the
nearest common ancestor (1 = parent or child, 2 = sibling or grandparent, ...),
and ``depth_cap`` is the category of random codes farther away or unrelated.

Nothing is dropped silently: codes without text, codes on a cycle and pairs
whose two strings are the same text (one string under two codes) are counted in
``PairSet.skipped``. Torch-free: evaluation builds its held-out pairs here too.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ehrfeat.errors import VocabularyError
from ehrfeat.training.draws import draw_distinct
from ehrfeat.training.qualifiers import QualifierPool
from ehrfeat.training.tree_depth import CommonAncestorDepth
from ehrfeat.vocab import Hierarchy, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["PairSet", "TermPair", "build_hierarchy_pairs", "inherit_groups", "sample_pairs_for_anchor"]


class TermPair(NamedTuple):
    anchor: str
    other: str
    category: int
    depth: int = -1  # the depth of the two codes' deepest common ancestor (record_depths); -1: not recorded


@dataclass
class PairSet:
    """The pairs of one source, with what was skipped and why."""

    source: str
    pairs: list[TermPair] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    anchors: int = 0
    far_categories: int = 3  # its pairs' categories are 0..far_categories; the last one is random codes
    qualifier_negatives: int = 0  # random partners drawn from the codes that share the anchor's qualifier

    def mean_depth(self) -> float:
        """Mean :attr:`TermPair.depth` over the pairs that record one (0.0 when none do)."""
        depths = [p.depth for p in self.pairs if p.depth >= 0]
        return sum(depths) / len(depths) if depths else 0.0

    def category_counts(self) -> dict[int, int]:
        return dict(sorted(Counter(p.category for p in self.pairs).items()))

    def summary(self) -> dict[str, object]:
        return {
            "pairs": len(self.pairs),
            "anchor_codes": self.anchors,
            "categories": {str(c): n for c, n in self.category_counts().items()},
            "skipped": dict(self.skipped),
            **({"qualifier_negatives": self.qualifier_negatives} if self.qualifier_negatives else {}),
        }


def sample_pairs_for_anchor(
    anchor: str,
    candidates: Mapping[int, Sequence[Sequence[str]]],
    k: int,
    rng: random.Random,
    skipped: Counter[str],
    depths: Mapping[int, Sequence[int]] | None = None,
) -> list[TermPair]:
    """Up to ``k`` pairs per category; each candidate is the term list of one code (or one term).

    ``depths`` (per category, one per candidate) is recorded as each pair's :attr:`TermPair.depth`.
    """
    out: list[TermPair] = []
    key = anchor.casefold()
    for category, pool in sorted(candidates.items()):
        chosen = rng.sample(range(len(pool)), min(k, len(pool))) if pool else []
        for idx in chosen:
            terms = pool[idx]
            other = terms[0] if len(terms) == 1 else rng.choice(terms)
            if other.casefold() == key:
                skipped["same text as anchor"] += 1
                continue
            out.append(TermPair(anchor, other, category, depths[category][idx] if depths and category in depths else -1))
    return out


def _bounded_neighbours(hierarchy: Hierarchy, code: str, cap: int) -> dict[str, int]:
    """Codes within ``cap - 1`` hops through a common ancestor, with their distance."""
    up: dict[str, int] = {code: 0}
    queue = deque([code])
    while queue:
        node = queue.popleft()
        if up[node] >= cap - 1:
            continue
        for parent in hierarchy.parents(node):
            if parent not in up:
                up[parent] = up[node] + 1
                queue.append(parent)
    dist: dict[str, int] = {}
    for top, hops in up.items():
        down = {top: hops}
        queue = deque([top])
        while queue:
            node = queue.popleft()
            if down[node] >= cap - 1:
                continue
            for child in hierarchy.children(node):
                if child not in down:
                    down[child] = down[node] + 1
                    queue.append(child)
        for node, d in down.items():
            if d < dist.get(node, cap):
                dist[node] = d
    dist.pop(code, None)
    return dist


def inherit_groups(hierarchy: Hierarchy, groups: Mapping[str, str]) -> dict[str, str]:
    """``groups`` over every node of ``hierarchy``: a node without its own takes its nearest grouped ancestor's.

    Roll-ups such as ICD -> phecode map most codes but not all (ICD-10-CM's subsequent-encounter
    codes often have none); below a mapped code the roll-up is the code's own unless mapped
    otherwise. Ties between ancestors at one distance go to the first in code order.
    """
    out: dict[str, str] = {}
    for node in hierarchy:
        if node in groups:
            out[node] = groups[node]
            continue
        nearest = min(((d, a) for a, d in hierarchy.ancestors(node).items() if a in groups), default=None)
        if nearest is not None:
            out[node] = groups[nearest[1]]
    return out


def build_hierarchy_pairs(
    vocabulary: Vocabulary,
    hierarchy: Hierarchy,
    *,
    source: str,
    k: int = 2,
    split: HeldOutSplit | None = None,
    heldout: bool = False,
    depth_aware: bool = False,
    depth_cap: int = 3,
    max_anchor_terms: int = 0,
    max_anchors: int = 0,
    seed: int = 0,
    groups: Mapping[str, str] | None = None,
    groups_closer: bool = False,
    members: int = 0,
    closed_groups: frozenset[str] = frozenset(),
    record_depths: bool = False,
    qualifier_negatives: int = 0,
) -> PairSet:
    """Categorised pairs of one hierarchy.

    With a ``split``, ``heldout=False`` keeps pairs whose two codes are both outside
    held-out groups (training); ``heldout=True`` keeps pairs whose anchor is in a
    held-out group (evaluation). ``max_anchors`` caps the anchor codes (0: all).
    ``groups`` (code -> group, e.g. the phecode it rolls up to) leaves out the
    category-1 partners in the anchor's own group, counted in ``skipped``: another
    source calls them one concept. With ``groups_closer`` they are kept as category 1
    and the other categories move one down, and ``members`` draws more of the anchor's
    group from anywhere in the tree (see the module doc). ``record_depths`` gives every
    pair but the random codes the depth of its codes' deepest common ancestor (a
    synonym pair: its code's own depth), for depth-dependent bands. ``qualifier_negatives``
    draws that many of the ``k`` random codes from those sharing the anchor's qualifier.
    """
    if members and not (groups_closer and groups is not None):
        raise ValueError("members needs groups and groups_closer")
    if record_depths and depth_aware:
        raise ValueError("record_depths works on the tree's own categories, not on depth_aware's hop distances")
    system = hierarchy.system
    result = PairSet(source=source, far_categories=depth_cap if depth_aware else 4 if groups_closer else 3)
    if len(hierarchy) < 2:
        raise VocabularyError(
            f"source {source!r}: the {system} hierarchy has {len(hierarchy)} node(s); pairs need at least two",
            fix="check the reader's input files, or set hierarchy = false for this source",
            code="E117",
        )
    on_cycle = {node for cycle in hierarchy.cycles() for node in cycle}
    result.skipped["code on a cycle"] += len(on_cycle)
    texts: dict[str, tuple[str, ...]] = {}
    for node in hierarchy:
        concept = vocabulary.get(system, node)
        if concept is None:
            result.skipped["code without text"] += 1
        elif node not in on_cycle:
            texts[node] = concept.terms
    if len(texts) < 2:
        raise VocabularyError(
            f"source {source!r}: only {len(texts)} {system} code(s) of the hierarchy have text",
            fix=f"read {system} names into the vocabulary along with the hierarchy",
            code="E117",
        )
    usable = sorted(texts)
    rng = random.Random(f"{seed}|{source}|{system}|{heldout}")

    def allowed(code: str) -> bool:
        return split is None or heldout or not split.is_heldout(system, code)

    anchor_codes = [c for c in usable if split is None or split.is_heldout(system, c) == heldout]
    if max_anchors and len(anchor_codes) > max_anchors:
        anchor_codes = sorted(rng.sample(anchor_codes, max_anchors))
    partners = [c for c in usable if allowed(c)]
    by_group: dict[str, list[str]] = {}
    if members and groups is not None:
        for c in partners:
            if c in groups and groups[c] not in closed_groups:
                by_group.setdefault(groups[c], []).append(c)

    qualified = QualifierPool(hierarchy, {c: t[0] for c, t in texts.items()}, set(partners)) if qualifier_negatives else None

    qualifier_rng = random.Random(f"{seed}|{source}|{system}|qualifiers")  # the other draws stay those of a run without

    def far_codes(code: str, related: set[str], n: int, group: str | None) -> list[tuple[str, ...]]:
        chosen = draw_distinct(partners, n, rng, lambda c: c not in related and (group is None or groups is None or groups.get(c) != group))
        if qualified is not None and chosen:  # the last random codes give way to codes with the anchor's qualifier
            keep = chosen[:-min(qualifier_negatives, len(chosen))]
            mined = qualified.draw(code, len(chosen) - len(keep), qualifier_rng, related.union(chosen), groups if group is not None else None)
            result.qualifier_negatives += len(mined)
            chosen = keep + mined + chosen[len(keep) + len(mined):]
        return [texts[c] for c in chosen]

    def group_draw(group: str, related: set[str]) -> list[str]:
        pool = by_group.get(group, [])
        picked = [c for c in rng.sample(pool, min(len(pool), 2 * members + len(related))) if c not in related]
        return picked[:members]

    lca = CommonAncestorDepth(hierarchy) if record_depths else None
    for code in anchor_codes:
        terms = texts[code]
        anchors = terms[:max_anchor_terms] if max_anchor_terms else terms
        result.anchors += 1
        pools: dict[int, list[tuple[str, ...]]]
        group = groups.get(code) if members and groups is not None else None
        if depth_aware:
            near = {c: d for c, d in _bounded_neighbours(hierarchy, code, depth_cap).items() if c in texts and allowed(c)}
            by_cat: dict[int, list[tuple[str, ...]]] = {}
            for c, d in sorted(near.items()):
                by_cat.setdefault(d, []).append(texts[c])
            related = {code, *near}
            pools = {d: by_cat.get(d, []) for d in range(1, depth_cap)}
            depths = None  # the categories are already distances (record_depths refused above)
        else:
            parents = [p for p in hierarchy.parents(code) if p in texts and allowed(p)]
            close = list(dict.fromkeys(c for c in (*hierarchy.children(code), *hierarchy.siblings(code)) if c in texts and allowed(c)))
            same: list[str] = []
            if groups is not None and code in groups:
                same = [c for c in close if groups.get(c) == groups[code]]
                close = [c for c in close if groups.get(c) != groups[code]]
                if not groups_closer:
                    result.skipped["close code in the anchor's group"] += len(same)
            related = {code, *parents, *close, *same}
            if group is not None:
                same += group_draw(group, related)
            pool_codes = {1: same, 2: close, 3: parents} if groups_closer else {1: close, 2: parents}
            pools = {cat: [texts[c] for c in codes] for cat, codes in pool_codes.items()}
            # a synonym pair meets at its own code; random codes (the far category) record none
            depths = None if lca is None else {0: [lca.depth(code)] * len(terms),
                                                **{cat: [lca(code, c) for c in codes] for cat, codes in pool_codes.items()}}
        for anchor in anchors:
            pools[0] = [(t,) for t in terms if t != anchor]
            pools[result.far_categories] = far_codes(code, related, k, group)
            result.pairs.extend(sample_pairs_for_anchor(anchor, pools, k, rng, result.skipped, depths))
    result.skipped = Counter({r: n for r, n in result.skipped.items() if n})
    return result

