from __future__ import annotations

import pytest

from ehrfeat.errors import VocabularyError
from ehrfeat.training.pairs import PairSet, build_hierarchy_pairs, inherit_groups
from ehrfeat.vocab import Hierarchy, VocabSource, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit


def _code_of(source: VocabSource) -> dict[str, str]:
    return {t: c.code for c in source.vocabulary for t in c.terms}


def test_every_category_follows_the_tree(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    ps = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", k=2)
    code_of = _code_of(toy_source)
    assert set(ps.category_counts()) == {0, 1, 2, 3}
    for p in ps.pairs:
        a, b = code_of[p.anchor], code_of[p.other]
        if p.category == 0:
            assert a == b and p.anchor != p.other
        elif p.category == 1:
            assert b in h.children(a) or b in h.siblings(a)
        elif p.category == 2:
            assert b in h.parents(a)
        else:
            assert b not in {a, *h.parents(a), *h.children(a), *h.siblings(a)}
    # every string is an anchor, with at most k pairs per category
    anchors = {p.anchor for p in ps.pairs}
    assert "Type 2 diabetic nephropathy" in anchors and "High blood pressure" in anchors
    per = {}
    for p in ps.pairs:
        per[(p.anchor, p.category)] = per.get((p.anchor, p.category), 0) + 1
    assert max(per.values()) <= 2


def test_specific_pairs(toy_source: VocabSource) -> None:
    ps = build_hierarchy_pairs(toy_source.vocabulary, toy_source.hierarchies["ICD10CM"], source="toy", k=5)
    pairs = {(p.anchor, p.other): p.category for p in ps.pairs}
    nephro = "Type 2 diabetes mellitus with diabetic nephropathy"
    assert pairs[(nephro, "Type 2 diabetic nephropathy")] == 0
    assert pairs[(nephro, "Type 2 diabetes mellitus with diabetic chronic kidney disease")] == 1  # sibling
    assert pairs[(nephro, "Type 2 diabetes mellitus with kidney complications")] == 2  # parent
    assert pairs[("Type 2 diabetes mellitus", "Type 2 diabetes mellitus without complications")] == 1  # child


def test_deterministic(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    one = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", seed=3).pairs
    two = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", seed=3).pairs
    assert one == two


def test_heldout_groups_are_excluded_from_training(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    code_of = _code_of(toy_source)
    # the first salt that holds out some but not all of the four toy categories
    split = next(s for s in (HeldOutSplit(0.5, salt=f"t{i}") for i in range(50)) if 0 < sum(s.is_heldout("ICD10CM", c) for c in h) < len(h))
    held = {c for c in h if split.is_heldout("ICD10CM", c)}
    train = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", split=split)
    evals = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", split=split, heldout=True)
    assert train.pairs and evals.pairs
    for p in train.pairs:
        assert code_of[p.anchor] not in held and code_of[p.other] not in held
    for p in evals.pairs:
        assert code_of[p.anchor] in held
    groups = {c[:3] for c in held}
    assert all(c in held for c in h if c[:3] in groups)  # whole categories, never single codes


def test_depth_aware_categories_are_hop_distances(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    ps = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", depth_aware=True, depth_cap=3, k=3)
    code_of = _code_of(toy_source)
    assert set(ps.category_counts()) == {0, 1, 2, 3}
    for p in ps.pairs:
        d = h.distance(code_of[p.anchor], code_of[p.other])
        if p.category < 3:
            assert d == p.category
        else:
            assert d is None or d >= 3


def test_codes_without_text_and_cycles_are_counted() -> None:
    vocab = Vocabulary()
    for code in ("A01", "A01.1", "A01.2", "B01", "B01.1"):
        vocab.add("ICD10CM", code, f"name of {code}")
    h = Hierarchy("ICD10CM", [("A01.1", "A01"), ("A01.2", "A01"), ("A01.3", "A01"), ("B01.1", "B01"), ("B01", "B01.1")])
    ps = build_hierarchy_pairs(vocab, h, source="x")
    assert ps.skipped["code without text"] == 1
    assert ps.skipped["code on a cycle"] == 2
    texts = {t for p in ps.pairs for t in (p.anchor, p.other)}
    assert "name of B01" not in texts and "name of B01.1" not in texts


def test_same_string_under_two_codes_is_skipped() -> None:
    vocab = Vocabulary()
    vocab.add("ICD10CM", "A01", "Typhoid fever")
    vocab.add("ICD10CM", "A01.0", "Typhoid fever")
    vocab.add("ICD10CM", "A01.1", "Paratyphoid fever A")
    h = Hierarchy("ICD10CM", [("A01.0", "A01"), ("A01.1", "A01")])
    ps = build_hierarchy_pairs(vocab, h, source="x", k=5)
    assert all(p.anchor.casefold() != p.other.casefold() for p in ps.pairs)
    assert ps.skipped["same text as anchor"] >= 2


@pytest.mark.parametrize("edges", [[], [("A01", "A01")]])
def test_empty_or_single_node_hierarchy_is_an_error(edges: list[tuple[str, str]]) -> None:
    vocab = Vocabulary()
    vocab.add("ICD10CM", "A01", "Typhoid fever")
    h = Hierarchy("ICD10CM", edges)
    with pytest.raises(VocabularyError, match="pairs need at least two"):
        build_hierarchy_pairs(vocab, h, source="tiny")


def test_hierarchy_without_text_is_an_error() -> None:
    h = Hierarchy("ICD10CM", [("A01.1", "A01"), ("A01.2", "A01")])
    with pytest.raises(VocabularyError, match="have text"):
        build_hierarchy_pairs(Vocabulary(), h, source="notext")


def test_groups_leave_out_close_codes_of_the_anchors_group(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    groups = {"E11.21": "250.22", "E11.22": "250.22", "E11.2": "250.2", "E11.9": "250.2", "E11": "250.2"}
    kept = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", k=5, groups=groups)
    plain = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", k=5)
    code_of = _code_of(toy_source)
    close = {(code_of[p.anchor], code_of[p.other]) for p in kept.pairs if p.category == 1}
    assert ("E11.21", "E11.22") not in close and ("E11.22", "E11.21") not in close  # one phecode: left out
    assert ("E11", "E11.9") not in close and ("E11", "E11.2") not in close and ("E11.2", "E11.9") not in close
    assert ("E11.2", "E11.21") in close  # 250.2 and 250.22: kept
    assert ("E10", "E10.9") in close  # codes without a group: as before
    dropped = {(code_of[p.anchor], code_of[p.other]) for p in plain.pairs if p.category == 1} - close
    assert dropped and all(groups.get(a) == groups.get(b) for a, b in dropped)
    # per anchor code, its left-out partners: E11.21 (E11.22), E11.22 (E11.21), E11.2 (E11.9), E11.9 (E11.2), E11 (E11.2, E11.9)
    assert kept.skipped["close code in the anchor's group"] == 6
    def codes(ps, category: int) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
        return {(p.anchor, code_of[p.other]) for p in ps.pairs if p.category == category}

    assert codes(plain, 0) == codes(kept, 0) and codes(plain, 2) == codes(kept, 2)  # synonyms and parents untouched


def test_groups_closer_give_close_codes_of_the_anchors_group_their_own_category(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    groups = {"E11.21": "250.22", "E11.22": "250.22", "E11.2": "250.2", "E11.9": "250.2", "E11": "250.2"}
    closer = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", k=5, groups=groups, groups_closer=True)
    plain = build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", k=5)
    code_of = _code_of(toy_source)

    def codes(ps: PairSet, category: int) -> set[tuple[str, str]]:
        return {(code_of[p.anchor], code_of[p.other]) for p in ps.pairs if p.category == category}

    same = {("E11.21", "E11.22"), ("E11.22", "E11.21"), ("E11.2", "E11.9"), ("E11.9", "E11.2"), ("E11", "E11.2"), ("E11", "E11.9")}
    assert codes(closer, 1) == same  # one phecode: just under synonyms
    assert codes(closer, 2) == codes(plain, 1) - same and ("E11.2", "E11.21") in codes(closer, 2) and ("E10", "E10.9") in codes(closer, 2)
    assert codes(closer, 3) == codes(plain, 2)  # parents move one down
    assert codes(closer, 0) == codes(plain, 0)
    assert set(closer.category_counts()) == {0, 1, 2, 3, 4} and len(codes(closer, 4)) > 0
    assert closer.far_categories == 4 and plain.far_categories == 3  # the bands a pair set needs
    related = codes(closer, 1) | codes(closer, 2) | codes(closer, 3)
    assert not codes(closer, 4) & related  # a random code is never a related one
    assert "close code in the anchor's group" not in closer.skipped  # nothing left out


def test_group_members_reach_past_the_close_codes_and_keep_random_codes_out_of_the_group(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    # one phecode gathers codes four hops apart (E11.21 and E10.9), as 250.2 gathers E10 and E11 categories
    groups = {"E11.21": "250.2", "E10.9": "250.2", "E10.1": "250.2", "I11.0": "401", "I10": "401"}
    code_of = _code_of(toy_source)

    def codes(ps: PairSet, category: int) -> set[tuple[str, str]]:
        return {(code_of[p.anchor], code_of[p.other]) for p in ps.pairs if p.category == category}

    kw = {"source": "toy", "k": 5, "groups": groups, "groups_closer": True}
    closer = build_hierarchy_pairs(toy_source.vocabulary, h, **kw)
    reach = build_hierarchy_pairs(toy_source.vocabulary, h, members=3, **kw)
    assert ("E11.21", "E10.9") not in codes(closer, 1) and ("I10", "I11.0") not in codes(closer, 1)
    far_members = {("E11.21", "E10.9"), ("E11.21", "E10.1"), ("E10.9", "E11.21"), ("E10.1", "E11.21"), ("I10", "I11.0"), ("I11.0", "I10")}
    assert far_members <= codes(reach, 1)  # drawn from anywhere in the tree into category 1
    assert codes(reach, 1) - far_members == codes(closer, 1)  # E10.9-E10.1: close and one group, as before
    assert codes(reach, 2) == codes(closer, 2) and codes(reach, 3) == codes(closer, 3) and reach.far_categories == 4
    for seed in range(20):  # a random code never shares the anchor's group
        randoms = codes(build_hierarchy_pairs(toy_source.vocabulary, h, members=3, seed=seed, **kw), 4)
        assert not {(a, b) for a, b in randoms if a in groups and groups.get(b) == groups[a]}
    # a closed group (held out by the source that defines it) gives no drawn members; its close codes stay
    shut = build_hierarchy_pairs(toy_source.vocabulary, h, members=3, closed_groups=frozenset({"250.2"}), **kw)
    assert codes(shut, 1) == codes(closer, 1) | {("I10", "I11.0"), ("I11.0", "I10")}
    # members never come from held-out codes: E10 is held out with a split that holds out its category
    split = next(s for s in (HeldOutSplit(0.5, salt=f"t{i}") for i in range(200))
                 if s.is_heldout("ICD10CM", "E10.9") and not s.is_heldout("ICD10CM", "E11.21"))
    train = build_hierarchy_pairs(toy_source.vocabulary, h, members=3, split=split, **kw)
    assert all(not split.is_heldout("ICD10CM", code_of[p.other]) for p in train.pairs)
    assert ("I10", "I11.0") in codes(train, 1) or split.is_heldout("ICD10CM", "I11.0") or split.is_heldout("ICD10CM", "I10")
    assert not {pair for pair in codes(train, 1) if "E11.21" in pair}  # its only group-mates are held out
    with pytest.raises(ValueError, match="members needs groups and groups_closer"):
        build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", members=2, groups=groups)


def test_inherit_groups_takes_the_nearest_grouped_ancestors(toy_source: VocabSource) -> None:
    h = toy_source.hierarchies["ICD10CM"]
    groups = {"E11": "250.2", "E11.22": "250.22", "I11": "401.2"}
    assert inherit_groups(h, groups) == {
        "E11": "250.2", "E11.2": "250.2", "E11.9": "250.2", "E11.21": "250.2",  # under E11: E11's
        "E11.22": "250.22",  # its own roll-up wins over its ancestor's
        "I11": "401.2", "I11.0": "401.2", "I11.9": "401.2",
    }  # E10, its children and I10 have no grouped ancestor: left without a group
    two = Hierarchy("X", [("c", "b"), ("b", "a"), ("c", "z")])
    assert inherit_groups(two, {"a": "far", "z": "near"})["c"] == "near"  # one hop beats two
    assert inherit_groups(two, {"a": "A", "b": "B"}) == {"a": "A", "b": "B", "c": "B"}


def test_recorded_depths_are_the_deepest_common_ancestors_and_change_no_pair(toy_source: VocabSource) -> None:
    from ehrfeat.training.tree_depth import CommonAncestorDepth

    h = toy_source.hierarchies["ICD10CM"]
    groups = {"E11.21": "250.2", "E10.9": "250.2", "E10.1": "250.2", "I11.0": "401", "I10": "401"}
    kw = {"source": "toy", "k": 5, "groups": groups, "groups_closer": True, "members": 3}
    plain = build_hierarchy_pairs(toy_source.vocabulary, h, **kw)
    deep = build_hierarchy_pairs(toy_source.vocabulary, h, record_depths=True, **kw)
    assert [p[:3] for p in deep.pairs] == [p[:3] for p in plain.pairs]  # same pairs, same order: only depths added
    assert {p.depth for p in plain.pairs} == {-1} and plain.mean_depth() == 0.0
    lca, code_of = CommonAncestorDepth(h), _code_of(toy_source)
    for p in deep.pairs:
        a, b = code_of[p.anchor], code_of[p.other]
        expected = -1 if p.category == deep.far_categories else lca(a, b)
        assert p.depth == expected, p
    by_pair = {(code_of[p.anchor], code_of[p.other], p.category): p.depth for p in deep.pairs}
    assert by_pair[("E11.21", "E11.21", 0)] == 2  # synonyms: the code's own depth
    assert by_pair[("E11.21", "E11.22", 2)] == 1 and by_pair[("E11.21", "E11.2", 3)] == 1 and by_pair[("E11.2", "E11.9", 2)] == 0
    assert by_pair[("E11.21", "E10.9", 1)] == -1  # a phecode member from another tree meets it nowhere: no shift
    recorded = [p.depth for p in deep.pairs if p.depth >= 0]
    assert deep.mean_depth() == pytest.approx(sum(recorded) / len(recorded)) and 0 < deep.mean_depth() < 2
    with pytest.raises(ValueError, match="record_depths works on the tree's own categories"):
        build_hierarchy_pairs(toy_source.vocabulary, h, source="toy", depth_aware=True, record_depths=True)
