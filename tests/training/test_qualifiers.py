from __future__ import annotations

import random

import pytest

from ehrfeat.training.pairs import build_hierarchy_pairs
from ehrfeat.training.qualifiers import QualifierPool, name_qualifier
from ehrfeat.vocab import Hierarchy, Vocabulary


@pytest.mark.parametrize(
    ("name", "parent", "expected"),
    [
        ("Fracture of femur, initial encounter", "Fracture of femur", "initial encounter"),
        ("Fracture of femur, subsequent encounter for fracture with nonunion", "Fracture of femur",
         "subsequent encounter for fracture with nonunion"),
        ("Migraine - intractable", "Migraine", "intractable"),
        ("Fracture of femurs", "Fracture of femur", ""),  # the parent's last word goes on: not a qualifier
        ("Fracture of right femur", "Fracture of femur", ""),  # laterality in the middle: not an ending
        ("Fracture of femur", "Fracture of femur", ""),
        ("Fracture of femur, ", "Fracture of femur", ""),  # separators only
        ("Fracture of femur, sequela", "", ""),
    ],
)
def test_name_qualifier_is_what_the_name_adds_at_the_end(name: str, parent: str, expected: str) -> None:
    assert name_qualifier(name, parent) == expected


def _injuries() -> tuple[Vocabulary, Hierarchy]:
    """Two injuries with three encounter codes each, and a disease without qualifiers."""
    vocab = Vocabulary()
    names = {"S00": "Injury", "S01.00": "Fracture of femur", "S02.00": "Burn of hand", "I10": "Hypertension",
             "I11": "Hypertensive heart disease"}
    edges = [("S01.00", "S00"), ("S02.00", "S00"), ("I11", "I10")]
    for parent in ("S01.00", "S02.00"):
        for letter, qualifier in zip("ADS", ("initial encounter", "subsequent encounter", "sequela"), strict=True):
            names[f"{parent}{letter}"] = f"{names[parent]}, {qualifier}"
            edges.append((f"{parent}{letter}", parent))
    for i in range(20):  # codes without a qualifier: most random partners
        names[f"K{i:02d}"] = f"Digestive disease number {i}"
        edges.append((f"K{i:02d}", "I10" if i % 2 else "S00"))
    for code, name in names.items():
        vocab.add("ICD10CM", code, name)
    return vocab, Hierarchy("ICD10CM", edges)


def test_pool_groups_codes_by_qualifier_and_draws_across_parents() -> None:
    vocab, h = _injuries()
    names = {c.code: c.name for c in vocab.concepts("ICD10CM")}
    pool = QualifierPool(h, names, set(names))
    assert len(pool) == 6 and pool.qualifier["S01.00A"] == "initial encounter" and "I11" not in pool.qualifier
    assert pool.by_qualifier["sequela"] == ["S01.00S", "S02.00S"]
    rng = random.Random(0)
    assert pool.draw("S01.00A", 1, rng, excluded={"S01.00", "S01.00D", "S01.00S"}) == ["S02.00A"]  # the same ending, another injury
    assert pool.draw("S01.00A", 1, rng, excluded={"S02.00A"}) == []  # the only partner is excluded (e.g. related)
    assert pool.draw("I11", 2, rng, excluded=set()) == []  # no qualifier, no draw
    assert pool.draw("S01.00A", 1, rng, excluded=set(), group_of={"S01.00A": "g", "S02.00A": "g"}) == []  # one group: never a negative
    only = QualifierPool(h, names, codes={"S01.00A", "S01.00S"})  # codes outside the partners are never drawn
    assert only.by_qualifier == {"initial encounter": ["S01.00A"], "sequela": ["S01.00S"]}


def test_qualifier_negatives_are_random_partners_with_the_anchors_ending() -> None:
    vocab, h = _injuries()
    plain = build_hierarchy_pairs(vocab, h, source="x", k=2, seed=3)
    mined = build_hierarchy_pairs(vocab, h, source="x", k=2, seed=3, qualifier_negatives=1)
    far = mined.far_categories
    random_of = {p.anchor: [q.other for q in mined.pairs if q.anchor == p.anchor and q.category == far] for p in mined.pairs}
    plain_of = {p.anchor: [q.other for q in plain.pairs if q.anchor == p.anchor and q.category == far] for p in plain.pairs}
    qualified = [a for a in random_of if ", " in a]
    assert len(qualified) == 6
    for anchor in qualified:
        ending = anchor.rpartition(", ")[2]
        assert sum(o.endswith(ending) for o in random_of[anchor]) == 1  # one hard negative of k = 2
        assert len(random_of[anchor]) == len(plain_of[anchor]) == 2
    assert sum(o.endswith(a.rpartition(", ")[2]) for a in qualified for o in plain_of[a]) < 6  # by chance: seldom
    # only the far category changes, and each mined partner is counted
    assert [p for p in mined.pairs if p.category < far] == [p for p in plain.pairs if p.category < far]
    assert mined.qualifier_negatives == 6 and mined.summary()["qualifier_negatives"] == 6
    assert plain.qualifier_negatives == 0 and "qualifier_negatives" not in plain.summary()
    assert plain.pairs == build_hierarchy_pairs(vocab, h, source="x", k=2, seed=3, qualifier_negatives=0).pairs
