from __future__ import annotations

from ehrfeat.codes import Code
from ehrfeat.training.synonyms import build_synonym_groups
from ehrfeat.vocab import CodeMapping, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit


def _vocab() -> Vocabulary:
    v = Vocabulary()
    v.add("ICD10CM", "I10", "Essential (primary) hypertension", ["High blood pressure"])
    v.add("MONDO", "MONDO:0005044", "hypertensive disorder", ["HTN"])
    v.add("ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications")
    v.add("HPO", "HP:0000822", "Hypertension", ["High blood pressure"])  # the string again, other concept
    return v


def test_exact_matches_merge_groups_and_shared_strings_are_counted() -> None:
    v = _vocab()
    maps = [CodeMapping(Code("MONDO", "MONDO:0005044"), Code("ICD10CM", "I10"), "skos:exactMatch"),
            CodeMapping(Code("MONDO", "MONDO:1"), Code("ICD10CM", "I10"), "skos:exactMatch")]  # no text: counted
    syn = build_synonym_groups(list(v), v, maps)
    groups = {frozenset(g) for g in syn.groups}
    # merged across MONDO and ICD-10-CM; "High blood pressure" stays with the first concept (sorted codes: HPO)
    assert frozenset({"Essential (primary) hypertension", "hypertensive disorder", "HTN"}) in groups
    assert frozenset({"Hypertension", "High blood pressure"}) in groups
    assert syn.skipped["string shared by two concepts"] == 1
    assert syn.skipped["mapped code without text"] == 1
    assert all(len(g) >= 2 for g in syn.groups)  # E11.9 has one string: no group
    assert sum("High blood pressure" in g for g in syn.groups) == 1


def test_split_sides_are_disjoint() -> None:
    v = _vocab()
    split = HeldOutSplit(0.5)
    train = build_synonym_groups(list(v), v, split=split)
    held = build_synonym_groups(list(v), v, split=split, heldout=True)
    assert not {t for g in train.groups for t in g} & {t for g in held.groups for t in g}
    assert len(train.groups) + len(held.groups) >= 2


def test_group_weight_is_the_largest_of_its_concepts() -> None:
    v = _vocab()
    maps = [CodeMapping(Code("MONDO", "MONDO:0005044"), Code("ICD10CM", "I10"), "skos:exactMatch")]
    weights = {Code("MONDO", "MONDO:0005044"): 3.0, Code("HPO", "HP:0000822"): 0.5}
    syn = build_synonym_groups(list(v), v, maps, concept_weights=weights)
    by_group = {frozenset(g): w for g, w in zip(syn.groups, syn.weights, strict=True)}
    assert by_group[frozenset({"Essential (primary) hypertension", "hypertensive disorder", "HTN"})] == 3.0  # MONDO 3, ICD 1
    assert by_group[frozenset({"Hypertension", "High blood pressure"})] == 0.5
    assert syn.summary()["weighted_groups"] == 2
    plain = build_synonym_groups(list(v), v, maps, concept_weights={Code("HPO", "HP:0000822"): 1.0})
    assert plain.weights == [] and "weighted_groups" not in plain.summary()  # all 1: an unweighted set
    capped = build_synonym_groups(list(v), v, maps, concept_weights=weights, max_groups=1)
    assert len(capped.groups) == len(capped.weights) == 1
    assert capped.weights[0] == by_group[frozenset(capped.groups[0])]  # weights follow their groups


def test_groups_carry_the_family_of_their_concepts() -> None:
    v = _vocab()
    maps = [CodeMapping(Code("MONDO", "MONDO:0005044"), Code("ICD10CM", "I10"), "skos:exactMatch")]
    family_of = {Code("ICD10CM", "I10"): "ICD10CM:I10-I1A", Code("HPO", "HP:0000822"): "HPO:HP:0000818"}
    syn = build_synonym_groups(list(v), v, maps, family_of=family_of)
    by_group = {frozenset(g): f for g, f in zip(syn.groups, syn.families, strict=True)}
    assert by_group[frozenset({"Essential (primary) hypertension", "hypertensive disorder", "HTN"})] == "ICD10CM:I10-I1A"
    assert by_group[frozenset({"Hypertension", "High blood pressure"})] == "HPO:HP:0000818"
    assert syn.summary()["families"] == 2 and build_synonym_groups(list(v), v, maps).families == []
    lone = build_synonym_groups(list(v), v, maps, family_of={Code("HPO", "HP:0000822"): "HPO:x"})
    assert "" in lone.families  # a group none of whose concepts has a parent
    capped = build_synonym_groups(list(v), v, maps, family_of=family_of, max_groups=1)
    assert capped.families == [by_group[frozenset(capped.groups[0])]]  # families follow their groups


def test_a_sample_of_groups_keeps_weights_and_families_aligned_and_is_reproducible() -> None:
    v = Vocabulary()
    for i in range(30):
        v.add("X", f"C{i:02d}", f"concept {i}", [f"synonym {i}"])
    weights = {Code("X", f"C{i:02d}"): float(i) for i in range(30)}
    families = {Code("X", f"C{i:02d}"): f"family {i}" for i in range(30)}
    whole = build_synonym_groups(list(v), v, concept_weights=weights, family_of=families)
    sample = build_synonym_groups(list(v), v, max_groups=7, seed=3, concept_weights=weights, family_of=families)
    assert sample == whole.sampled(7, 3)  # built then sampled: the same groups, in the same order
    assert len(sample.groups) == 7 and sample != whole.sampled(7, 4) and sample != whole.sampled(7, 3, heldout=True)
    for group, weight, family in zip(sample.groups, sample.weights, sample.families, strict=True):
        i = int(group[0].split()[-1])
        assert group == (f"concept {i}", f"synonym {i}") and weight == float(i) and family == f"family {i}"
    assert whole.sampled(0) == whole and whole.sampled(0) is not whole
