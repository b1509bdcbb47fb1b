from __future__ import annotations

from ehrfeat.training.tree_depth import CommonAncestorDepth
from ehrfeat.vocab import Hierarchy, VocabSource


def test_deepest_common_ancestor_by_hand(toy_source: VocabSource) -> None:
    # E11 (0) -> E11.2 (1) -> E11.21, E11.22 (2); E11 -> E11.9 (1); E10 (0) -> E10.9 (1); I10 (0) alone
    lca = CommonAncestorDepth(toy_source.hierarchies["ICD10CM"])
    assert lca("E11.21", "E11.22") == 1  # siblings meet at their parent E11.2
    assert lca("E11.21", "E11.9") == 0  # cousins meet at the root E11
    assert lca("E11.21", "E11.2") == 1 and lca("E11.2", "E11.21") == 1  # a parent is its child's deepest common ancestor
    assert lca("E11.21", "E11.21") == 2  # a code is its own ancestor: a synonym pair meets at the code
    assert lca("E11.21", "E10.9") == -1 and lca("I10", "E11") == -1  # two trees share no ancestor
    assert lca("I10", "I10") == 0
    assert lca.depth("E11.22") == 2 and lca.lineage("E11.21") == frozenset({"E11.21", "E11.2", "E11"})


def test_with_two_parents_the_deeper_meeting_point_counts() -> None:
    # X sits under both A (depth 0) and B (depth 1, under R): with Y under B, they meet at B
    h = Hierarchy("T", [("X", "A"), ("X", "B"), ("B", "R"), ("Y", "B"), ("Z", "A")])
    lca = CommonAncestorDepth(h)
    assert lca("X", "Y") == 1 and lca("X", "Z") == 0 and lca("Y", "Z") == -1
