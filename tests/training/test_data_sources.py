from __future__ import annotations

import pytest

from ehrfeat.errors import ConfigError, VocabularyError
from ehrfeat.training.config import parse_config
from ehrfeat.training.data_sources import build_training_data, load_sources, read_icd10cm_slice
from ehrfeat.vocab import Hierarchy, VocabSource, Vocabulary


def _cfg(*sources: dict, **pairs: object):  # type: ignore[no-untyped-def]
    return parse_config({"sources": list(sources), "pairs": {"heldout_fraction": 0.0, **pairs}})


def test_pairs_and_synonyms_per_source(toy_source: VocabSource) -> None:
    data = build_training_data(_cfg({"name": "toy", "reader": "icd10cm", "weight": 2.0}), [toy_source])
    assert [ps.source for ps in data.pair_sets] == ["toy"] and data.weights == {"toy": 2.0}
    assert {"Type 2 diabetes mellitus", "Diabetes type II"} in [set(g) for g in data.synonyms.groups]
    rows = data.manifest()
    assert rows[0]["name"] == "toy" and rows[0]["train"]["pairs"] == len(data.pair_sets[0].pairs)
    assert rows[-1]["name"] == "synonyms" and rows[-1]["train"]["groups"] == len(data.synonyms.groups)


def test_flags_turn_sources_off(toy_source: VocabSource) -> None:
    data = build_training_data(_cfg({"name": "toy", "reader": "icd10cm", "hierarchy": False}), [toy_source])
    assert data.pair_sets == [] and data.synonyms.groups
    data = build_training_data(_cfg({"name": "toy", "reader": "icd10cm", "synonyms": False}), [toy_source])
    assert data.pair_sets and not data.synonyms.groups


def test_bad_sources_are_named() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\].reader: unknown reader 'icd11'"):
        load_sources(_cfg({"name": "x", "reader": "icd11"}))
    with pytest.raises(ConfigError, match="bad reader arguments"):
        load_sources(_cfg({"name": "x", "reader": "icd10cm_slice", "args": {"chapter": 4}}))
    single = VocabSource("one", Vocabulary(), {"ICD10CM": Hierarchy("ICD10CM", [("A01", "A01")])})
    with pytest.raises(VocabularyError, match="one: source 'one'"):
        build_training_data(_cfg({"name": "one", "reader": "icd10cm"}), [single])


def test_icd10cm_slice() -> None:
    src = read_icd10cm_slice(["I10-I1A"])
    h = src.hierarchies["ICD10CM"]
    assert "I10" in h and "I11.0" in h and h.parents("I11.0") == ("I11",)
    assert src.vocabulary.get("ICD10CM", "I10") is not None
    with pytest.raises(ConfigError, match="not an ICD-10-CM block"):
        read_icd10cm_slice(["Z99-Z99X"])


def test_source_synonym_weight_weights_its_groups(toy_source: VocabSource) -> None:
    data = build_training_data(_cfg({"name": "toy", "reader": "icd10cm", "synonym_weight": 2.5}), [toy_source])
    assert data.synonyms.weights == [2.5] * len(data.synonyms.groups) and data.synonyms.groups
    assert data.eval_synonyms.weights == []  # evaluation is never weighted
    plain = build_training_data(_cfg({"name": "toy", "reader": "icd10cm"}), [toy_source])
    assert plain.synonyms.weights == [] and plain.synonyms.groups == data.synonyms.groups
    with pytest.raises(ConfigError, match="synonym_weight must be >= 0"):
        _cfg({"name": "toy", "reader": "icd10cm", "synonym_weight": -1.0})


def test_sibling_synonyms_give_groups_the_parent_of_their_code(toy_source: VocabSource) -> None:
    from ehrfeat.codes import Code
    from ehrfeat.training.data_sources import concept_families

    families = concept_families(toy_source)
    hierarchy = toy_source.hierarchies["ICD10CM"]
    for concept in toy_source.vocabulary:
        parents = sorted(hierarchy.parents(concept.code)) if concept.code in hierarchy else []
        assert families.get(concept.ref) == (f"ICD10CM:{parents[0]}" if parents else None)
    assert Code("ICD10CM", "I10") not in families  # a root: no family
    cfg = parse_config({"sources": [{"name": "toy", "reader": "icd10cm"}], "pairs": {"heldout_fraction": 0.0},
                        "training": {"sibling_synonyms": True}})
    data = build_training_data(cfg, [toy_source])
    assert len(data.synonyms.families) == len(data.synonyms.groups) and data.manifest()[-1]["train"]["families"] >= 1
    assert build_training_data(_cfg({"name": "toy", "reader": "icd10cm"}), [toy_source]).synonyms.families == []


def test_head_word_families_gather_names_that_share_their_head(toy_source: VocabSource) -> None:
    from ehrfeat.codes import Code
    from ehrfeat.training.data_sources import concept_families

    vocab = Vocabulary()
    for code, name in (("D1", "Eisenmenger Complex"), ("D2", "Lutembacher Syndrome"), ("D3", "Noonan Syndrome"),
                       ("D4", "Anemia, Hemolytic"), ("D5", "Anemia"), ("D6", "Diabetes Mellitus, Type 2"), ("D7", "5-HT2 receptor"),
                       ("D8", "42")):
        vocab.add("MeSH", code, name, ["a lay synonym"])
    heads = concept_families(VocabSource("m", vocab, {}), "head_word")
    assert heads == {Code("MeSH", "D1"): "head:complex", Code("MeSH", "D2"): "head:syndrome", Code("MeSH", "D3"): "head:syndrome",
                     Code("MeSH", "D4"): "head:anemia", Code("MeSH", "D5"): "head:anemia",  # inverted names: the part before the comma
                     Code("MeSH", "D6"): "head:mellitus", Code("MeSH", "D7"): "head:receptor"}  # "42": no word, no family
    cfg = parse_config({"sources": [{"name": "toy", "reader": "icd10cm"}], "pairs": {"heldout_fraction": 0.0},
                        "training": {"sibling_synonyms": True, "synonym_family": "head_word"}})
    data = build_training_data(cfg, [toy_source])
    by_text = {g[0]: f for g, f in zip(data.synonyms.groups, data.synonyms.families, strict=True)}
    assert by_text["Type 2 diabetes mellitus"] == by_text["Type 1 diabetes mellitus"] == "head:mellitus"  # one batch run
    assert by_text["Essential (primary) hypertension"] == "head:hypertension"


def test_drop_phecode_siblings_uses_the_phecode_roll_up(toy_source: VocabSource) -> None:
    from ehrfeat.codes import Code
    from ehrfeat.training.data_sources import phecode_groups
    from ehrfeat.vocab import CodeMapping

    maps = [CodeMapping(Code("ICD10CM", c), Code("PHECODE", phe), "rollsUpTo")
            for c, phe in (("E11.21", "250.22"), ("E11.22", "250.22"), ("E11", "250.2"), ("E11", "250"))]
    phe = VocabSource("phe", Vocabulary(), {}, mappings=tuple(maps))
    assert phecode_groups([toy_source, phe]) == {"ICD10CM": {"E11.21": "250.22", "E11.22": "250.22", "E11": "250.2"}}
    sources = [{"name": "toy", "reader": "icd10cm"}, {"name": "phe", "reader": "phecode", "hierarchy": False, "synonyms": False}]
    on = build_training_data(_cfg(*sources, drop_phecode_siblings=True), [toy_source, phe])
    off = build_training_data(_cfg(*sources), [toy_source, phe])
    assert on.pair_sets[0].skipped["close code in the anchor's group"] == 2  # E11.21 and E11.22, each other's sibling
    assert on.pair_sets[0].category_counts()[1] < off.pair_sets[0].category_counts()[1]
    assert on.eval_pairs[0].pairs == off.eval_pairs[0].pairs  # the held-out pairs never change
    with pytest.raises(ConfigError, match=r"drop_phecode_siblings.*no source maps codes to phecodes") as err:
        build_training_data(_cfg({"name": "toy", "reader": "icd10cm"}, drop_phecode_siblings=True), [toy_source])
    assert err.value.code == "E1724"


def test_closer_phecode_siblings_uses_the_phecode_roll_up_and_checks_the_bands(toy_source: VocabSource) -> None:
    from ehrfeat.codes import Code
    from ehrfeat.vocab import CodeMapping

    maps = [CodeMapping(Code("ICD10CM", c), Code("PHECODE", phe), "rollsUpTo")
            for c, phe in (("E11.21", "250.22"), ("E11.22", "250.22"), ("E11", "250.2"))]
    phe = VocabSource("phe", Vocabulary(), {}, mappings=tuple(maps))
    icd = {"name": "toy", "reader": "icd10cm", "lambdas": [0.82, 0.79, 0.76, 0.62]}
    other = {"name": "phe", "reader": "phecode", "hierarchy": False, "synonyms": False}
    on = build_training_data(_cfg(icd, other, closer_phecode_siblings=True), [toy_source, phe])
    off = build_training_data(_cfg({**icd, "lambdas": [0.82, 0.76, 0.62]}, other), [toy_source, phe])
    one = [p for p in on.pair_sets[0].pairs if p.category == 1]
    code_of = {t: c.code for c in toy_source.vocabulary for t in c.terms}
    # E11.21 and E11.22 roll up to 250.22; E11 to 250.2, and E11.2 and E11.9 (no roll-up of their own) take E11's
    assert {(code_of[p.anchor], code_of[p.other]) for p in one} == {
        ("E11.21", "E11.22"), ("E11.22", "E11.21"), ("E11", "E11.2"), ("E11", "E11.9"), ("E11.2", "E11.9"), ("E11.9", "E11.2")}
    two = {(code_of[p.anchor], code_of[p.other]) for p in on.pair_sets[0].pairs if p.category == 2}
    assert ("E11.2", "E11.21") in two and ("E10", "E10.9") in two  # another phecode; no phecode at all
    assert on.pair_sets[0].category_counts()[4] > 0 and max(off.pair_sets[0].category_counts()) == 3
    assert on.bands == {"toy": (0.82, 0.79, 0.76, 0.62)}
    assert on.eval_pairs[0].pairs == off.eval_pairs[0].pairs  # the held-out pairs never change
    # the ICD tree has four far categories now: three bands are refused, naming the source and the fix
    with pytest.raises(ConfigError, match=r"toy have 4 far categories.*sources\[0\].lambdas gives 3") as err:
        build_training_data(_cfg({**icd, "lambdas": [0.82, 0.76, 0.62]}, other, closer_phecode_siblings=True), [toy_source, phe])
    assert err.value.code == "E1725" and "give sources[0].lambdas 4 thresholds" in err.value.fix
    # the loss's three bands are refused for the ICD tree too, and four would misplace another tree's random codes
    three = parse_config({"sources": [{**icd, "lambdas": []}, other], "loss": {"lambdas": [0.82, 0.76, 0.62]},
                          "pairs": {"heldout_fraction": 0.0, "closer_phecode_siblings": True}})
    with pytest.raises(ConfigError, match=r"loss.lambdas gives 3"):
        build_training_data(three, [toy_source, phe])
    hp_vocab = Vocabulary()
    for code, name in (("HP:1", "Abnormality of the eye"), ("HP:2", "Cataract"), ("HP:3", "Glaucoma"), ("HP:4", "Myopia")):
        hp_vocab.add("HP", code, name, [])
    hp = VocabSource("hp", hp_vocab, {"HP": Hierarchy("HP", [("HP:2", "HP:1"), ("HP:3", "HP:1"), ("HP:4", "HP:1")])})
    four = parse_config({"sources": [{"name": "toy", "reader": "icd10cm"}, other, {"name": "hp", "reader": "hpo"}],
                         "loss": {"lambdas": [0.82, 0.79, 0.76, 0.62]}, "pairs": {"heldout_fraction": 0.0, "closer_phecode_siblings": True}})
    with pytest.raises(ConfigError, match=r"the pairs of hp have 3 far categories.*loss.lambdas gives 4") as err:
        build_training_data(four, [toy_source, phe, hp])
    assert err.value.code == "E1725" and "sources[2].lambdas" in err.value.fix
    single = build_training_data(_cfg({"name": "toy", "reader": "icd10cm"}, other, closer_phecode_siblings=True), [toy_source, phe])
    assert max(single.pair_sets[0].category_counts()) == 4 and single.bands == {}  # a single loss.lambda serves every category


def test_phecode_members_draw_only_from_phecodes_the_phecode_source_trains_on(toy_source: VocabSource) -> None:
    from ehrfeat.codes import PHECODE, Code
    from ehrfeat.vocab import CodeMapping
    from ehrfeat.vocab.splits import HeldOutSplit

    fraction = 0.3
    split = HeldOutSplit(fraction)
    assert not any(split.is_heldout("ICD10CM", c) for c in ("E10", "E11", "I10", "I11"))  # the toy tree is all training
    held = next(str(n) for n in range(100, 999) if split.is_heldout_group(PHECODE, str(n)))
    kept = next(str(n) for n in range(100, 999) if not split.is_heldout_group(PHECODE, str(n)))
    maps = [CodeMapping(Code("ICD10CM", c), Code(PHECODE, phe), "rollsUpTo")
            for c, phe in (("E11.21", f"{held}.1"), ("E10.9", f"{held}.1"), ("I10", f"{kept}.1"), ("I11.0", f"{kept}.1"))]
    phe = VocabSource("phe", Vocabulary(), {}, mappings=tuple(maps))
    icd = {"name": "toy", "reader": "icd10cm", "lambdas": [0.82, 0.79, 0.76, 0.62]}
    other = {"name": "phe", "reader": "phecode", "hierarchy": False, "synonyms": False}
    code_of = {t: c.code for c in toy_source.vocabulary for t in c.terms}

    def ones(**pairs: object) -> set[tuple[str, str]]:
        cfg = parse_config({"sources": [icd, other], "pairs": {"heldout_fraction": fraction, "closer_phecode_siblings": True, "k": 5, **pairs}})
        data = build_training_data(cfg, [toy_source, phe])
        return {(code_of[p.anchor], code_of[p.other]) for p in data.pair_sets[0].pairs if p.category == 1}

    base, reach = ones(), ones(phecode_members=2)
    assert {("I10", "I11.0"), ("I11.0", "I10")} <= reach - base  # a trained phecode: drawn across the tree
    # the held-out phecode's ICD codes are evaluation pairs of the PheCode source: never drawn together
    assert not {("E11.21", "E10.9"), ("E10.9", "E11.21")} & reach


def test_depth_shift_records_depths_on_training_pairs_only(toy_source: VocabSource) -> None:
    source = {"name": "toy", "reader": "icd10cm"}
    shifted = parse_config({"sources": [source], "pairs": {"heldout_fraction": 0.7, "depth_shift": 0.01}})
    plain = parse_config({"sources": [source], "pairs": {"heldout_fraction": 0.7}})
    data, base = build_training_data(shifted, [toy_source]), build_training_data(plain, [toy_source])
    (train,), (held,) = data.pair_sets, data.eval_pairs
    assert [p[:3] for p in train.pairs] == [p[:3] for p in base.pair_sets[0].pairs]  # the same pairs, with depths
    assert {p.depth for p in train.pairs if p.category == train.far_categories} <= {-1}  # random codes: no shift
    assert {p.depth for p in train.pairs if p.category < train.far_categories} - {-1} and train.mean_depth() > 0
    assert held.pairs and {p.depth for p in held.pairs} == {-1} and {p.depth for p in base.pair_sets[0].pairs} == {-1}  # evaluation needs none


def test_qualifier_negatives_change_training_random_codes_only(toy_source: VocabSource) -> None:
    source = {"name": "toy", "reader": "icd10cm"}
    mined = parse_config({"sources": [source], "pairs": {"heldout_fraction": 0.3, "qualifier_negatives": 1}})
    plain = parse_config({"sources": [source], "pairs": {"heldout_fraction": 0.3}})
    data, base = build_training_data(mined, [toy_source]), build_training_data(plain, [toy_source])
    (train,), (base_train,) = data.pair_sets, base.pair_sets
    far = train.far_categories
    assert train.qualifier_negatives > 0 and base_train.qualifier_negatives == 0
    assert [p for p in train.pairs if p.category < far] == [p for p in base_train.pairs if p.category < far]
    assert [p for p in train.pairs if p.category == far] != [p for p in base_train.pairs if p.category == far]
    assert data.eval_pairs[0].pairs == base.eval_pairs[0].pairs  # evaluation keeps its uniform random codes
