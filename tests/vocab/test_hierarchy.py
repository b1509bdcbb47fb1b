"""Hierarchy: hops, depth, siblings, distance; cycles reported and survived; deep chains iterative."""

from __future__ import annotations

from ehrfeat.vocab import Hierarchy


def _icd() -> Hierarchy:
    return Hierarchy(
        "ICD10CM", [("E11.9", "E11"), ("E11.65", "E11.6"), ("E11.6", "E11"), ("E11.8", "E11"), ("E10.9", "E10")]
    )


def test_parents_children_in_any_form() -> None:
    h = _icd()
    assert h.parents("E119") == ("E11",)
    assert set(h.children("e11")) == {"E11.9", "E11.6", "E11.8"}
    assert "E11.65" in h and "X" not in h and "E99.9" not in h
    assert len(h) == 7 and h.edge_count == 5


def test_ancestors_with_hops_and_depth() -> None:
    h = _icd()
    assert h.ancestors("E11.65") == {"E11.6": 1, "E11": 2}
    assert h.descendants("E11") == {"E11.9": 1, "E11.6": 1, "E11.8": 1, "E11.65": 2}
    assert h.depth("E11.65") == 2 and h.depth("E11") == 0
    assert sorted(h.roots()) == ["E10", "E11"]
    assert sorted(h.leaves()) == ["E10.9", "E11.65", "E11.8", "E11.9"]


def test_siblings_and_distance() -> None:
    h = _icd()
    assert set(h.siblings("E11.9")) == {"E11.6", "E11.8"}
    assert h.distance("E11.9", "E11.9") == 0
    assert h.distance("E11.9", "E11") == 1
    assert h.distance("E11.9", "E11.8") == 2
    assert h.distance("E11.9", "E11.65") == 3
    assert h.distance("E11.9", "E11.65", cap=2) == 2
    assert h.distance("E11.9", "E10.9") is None


def test_self_loops_and_duplicate_edges_are_ignored() -> None:
    h = Hierarchy("ICD10CM", [("E11.9", "E11"), ("E119", "e11"), ("E11", "E11")])
    assert h.edge_count == 1


def test_cycles_are_reported_and_traversals_terminate() -> None:
    h = Hierarchy("DOID", [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")])
    cycles = h.cycles()
    assert len(cycles) == 1 and set(cycles[0]) == {"a", "b", "c"}
    assert h.ancestors("d") == {"a": 1, "b": 2, "c": 3}
    assert h.descendants("a") == {"c": 1, "b": 2, "d": 1}
    assert h.depth("d") == 0  # no root reachable on a cycle
    assert h.distance("d", "b") == 2


def test_acyclic_hierarchy_has_no_cycles() -> None:
    assert _icd().cycles() == []


def test_long_chain_does_not_recurse() -> None:
    n = 100_000
    h = Hierarchy("DOID", ((f"n{i}", f"n{i - 1}") for i in range(1, n)))
    leaf = f"n{n - 1}"
    assert h.depth(leaf) == n - 1
    assert len(h.ancestors(leaf)) == n - 1
    assert len(h.descendants("n0")) == n - 1
    assert h.cycles() == []
    assert h.distance(leaf, "n0") == n - 1
