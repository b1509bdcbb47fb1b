"""PheCode pairs: ICD descriptions grouped by the phecode they roll up to.

Each ICD code joins the most specific phecode it maps to (``rollsUpTo``
mappings), and each phecode's own name joins it too. For an anchor term:

* 0: another description that rolls up to the same phecode;
* 1: a description of another phecode with the same first decimal digit (250.21 vs 250.22 or 250.2);
* 2: a description of a phecode sharing only the integer part (250.1 vs 250.2, or 250);
* 3: a description of a random phecode with another integer part.

Held-out groups are whole integer phecodes. Torch-free.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

from ehrfeat.codes import PHECODE
from ehrfeat.errors import VocabularyError
from ehrfeat.training.pairs import PairSet, sample_pairs_for_anchor
from ehrfeat.vocab import CodeMapping, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["PHECODE_PREDICATES", "build_phecode_pairs", "phecode_category", "phecode_members", "phecode_of"]

PHECODE_PREDICATES = ("rollsUpTo", "rolls_up_to", "mapsTo")


def phecode_category(a: str, b: str) -> int:
    """The distance category of two phecodes (0 same, 1 same first decimal, 2 same integer, 3 other)."""
    if a == b:
        return 0
    int_a, _, dec_a = a.partition(".")
    int_b, _, dec_b = b.partition(".")
    if int_a != int_b:
        return 3
    if dec_a and dec_b and dec_a[0] == dec_b[0]:
        return 1
    return 2


def phecode_of(mappings: Iterable[CodeMapping]) -> dict[tuple[str, str], str]:
    """(system, code) -> the most specific phecode it rolls up to."""
    target: dict[tuple[str, str], str] = {}
    for m in mappings:
        if m.target.system != PHECODE or m.predicate not in PHECODE_PREDICATES:
            continue
        key = (m.source.system, m.source.code)
        old = target.get(key)
        if old is None or len(m.target.code) > len(old):  # the most specific phecode wins
            target[key] = m.target.code
    return target


def phecode_members(
    vocabulary: Vocabulary, mappings: Iterable[CodeMapping], skipped: Counter[str]
) -> dict[str, list[tuple[str, ...]]]:
    """phecode -> term lists of its members (its own name and the ICD codes rolling up to it)."""
    target = phecode_of(mappings)
    members: dict[str, list[tuple[str, ...]]] = {}
    for phe_concept in vocabulary.concepts(PHECODE):
        members.setdefault(phe_concept.code, []).append(phe_concept.terms)
    for (system, code), phe in sorted(target.items()):
        concept = vocabulary.get(system, code)
        if concept is None:
            skipped["mapped code without text"] += 1
            continue
        members.setdefault(phe, []).append(concept.terms)
    return members


def build_phecode_pairs(
    vocabulary: Vocabulary,
    mappings: Iterable[CodeMapping],
    *,
    source: str = "phecode",
    k: int = 2,
    split: HeldOutSplit | None = None,
    heldout: bool = False,
    max_anchors: int = 0,
    seed: int = 0,
) -> PairSet:
    """Categorised pairs from ICD -> phecode roll-ups (see the module doc for the rules)."""
    result = PairSet(source=source)
    members = phecode_members(vocabulary, mappings, result.skipped)
    if len(members) < 2:
        raise VocabularyError(
            f"source {source!r}: {len(members)} phecode(s) with text; pairs need at least two",
            fix="pass the phecode map and pheinfo files, and read ICD-9/10-CM names alongside",
            code="E117",
        )
    rng = random.Random(f"{seed}|{source}|{heldout}")

    def is_held(phe: str) -> bool:
        return split is not None and split.is_heldout(PHECODE, phe)

    by_int: dict[str, list[str]] = {}
    for phe in sorted(members):
        if heldout or not is_held(phe):
            by_int.setdefault(phe.partition(".")[0], []).append(phe)
    integers = sorted(by_int)
    anchors = [p for p in sorted(members) if split is None or is_held(p) == heldout]
    anchor_items = [(phe, terms) for phe in anchors for terms in members[phe]]
    if max_anchors and len(anchor_items) > max_anchors:
        anchor_items = [anchor_items[i] for i in sorted(rng.sample(range(len(anchor_items)), max_anchors))]
    for phe, own in anchor_items:
        result.anchors += 1
        family = by_int.get(phe.partition(".")[0], [])
        pools: dict[int, list[tuple[str, ...]]] = {0: [], 1: [], 2: [], 3: []}
        for other in family:
            cat = phecode_category(phe, other)
            pools[cat].extend(t for t in members[other] if t is not own)
        for anchor in own:
            pools[0] = [t for t in members[phe] if t is not own] + [(t,) for t in own if t != anchor]
            far: list[tuple[str, ...]] = []
            for _ in range(k * 4):
                if len(far) >= k or len(integers) < 2:
                    break
                group = rng.choice(integers)
                if group != phe.partition(".")[0]:
                    far.append(rng.choice(members[rng.choice(by_int[group])]))
            pools[3] = far
            result.pairs.extend(sample_pairs_for_anchor(anchor, pools, k, rng, result.skipped))
    return result
