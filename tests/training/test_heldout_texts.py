from __future__ import annotations

from collections import Counter

from ehrfeat.codes import Code
from ehrfeat.training.config import parse_config
from ehrfeat.training.data_sources import build_training_data
from ehrfeat.training.heldout_texts import GROUP_REASON, PAIR_REASON, SYNONYM_REASON, drop_texts, heldout_texts
from ehrfeat.training.pairs import PairSet, TermPair
from ehrfeat.training.synonyms import SynonymSet
from ehrfeat.vocab import CodeMapping, Hierarchy, VocabSource, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

SPLIT = HeldOutSplit(0.7)  # holds out ICD-10-CM I11 (not E10, E11, I10), ICD-9-CM 401 (not 402), phecode 250 (not 401)


def test_the_split_the_tests_rely_on() -> None:
    assert SPLIT.is_heldout("ICD10CM", "I11.0") and not SPLIT.is_heldout("ICD10CM", "E11.9")
    assert SPLIT.is_heldout("ICD9CM", "401.9") and not SPLIT.is_heldout("ICD9CM", "402")
    assert SPLIT.is_heldout("PHECODE", "250.2") and not SPLIT.is_heldout("PHECODE", "401.1")


def test_heldout_texts_gather_held_out_concepts_phecode_members_and_groups() -> None:
    vocab = Vocabulary()
    vocab.add("ICD10CM", "I11", "Hypertensive heart disease", ["Hypertensive Cardiopathy"])
    vocab.add("ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications")
    vocab.add("ICD10CM", "I10", "Essential hypertension")
    vocab.add("ICD9CM", "402", "Hypertensive heart disease")  # same text, trained code
    maps = [CodeMapping(Code("ICD10CM", "E11.9"), Code("PHECODE", "250.2"), "rollsUpTo"),
            CodeMapping(Code("ICD10CM", "I10"), Code("PHECODE", "401.1"), "rollsUpTo")]
    held = SynonymSet(groups=[("MONDO label of a held-out code", "Its other name")])
    texts = heldout_texts(vocab, SPLIT, mappings=maps, heldout_synonyms=held)
    assert texts == {
        "hypertensive heart disease", "hypertensive cardiopathy",  # I11's own terms, case-folded
        "type 2 diabetes mellitus without complications",  # rolls up to the held-out phecode 250.2
        "mondo label of a held-out code", "its other name",
    }


def test_drop_texts_counts_every_pair_string_and_group_it_removes() -> None:
    texts = frozenset({"hypertensive heart disease"})
    pairs = PairSet("icd9cm", [TermPair("Hypertensive Heart Disease", "Hypertension", 1), TermPair("Hypertension", "Cholera", 3),
                               TermPair("Cholera", "hypertensive heart disease", 3)], Counter({"same text as anchor": 2}), anchors=2)
    syn = SynonymSet(groups=[("Hypertensive heart disease", "HHD", "Hypertensive cardiopathy"), ("Hypertensive heart disease", "HHD2"),
                             ("Cholera", "Asiatic cholera")], weights=[2.0, 3.0, 1.0], families=["a", "b", "c"])
    (kept,), syn_kept = drop_texts([pairs], syn, texts)
    assert kept.pairs == [TermPair("Hypertension", "Cholera", 3)] and kept.anchors == 2
    assert kept.skipped == Counter({"same text as anchor": 2, PAIR_REASON: 2})
    assert syn_kept.groups == [("HHD", "Hypertensive cardiopathy"), ("Cholera", "Asiatic cholera")]
    assert syn_kept.weights == [2.0, 1.0] and syn_kept.families == ["a", "c"]  # still one per group
    assert syn_kept.skipped == Counter({SYNONYM_REASON: 2, GROUP_REASON: 1})
    assert pairs.pairs[0].anchor == "Hypertensive Heart Disease" and len(syn.groups) == 3  # the inputs are not changed


def _with_icd9_twin(toy: VocabSource) -> list[VocabSource]:
    """The toy ICD-10-CM source and an ICD-9-CM one whose trained code 402 has held-out I11's name."""
    vocab = Vocabulary()
    vocab.add("ICD9CM", "402", "Hypertensive heart disease", ["Hypertensive cardiopathy"])
    vocab.add("ICD9CM", "402.9", "Hypertensive heart disease without heart failure")
    vocab.add("ICD9CM", "402.1", "Benign hypertensive heart disease")
    return [toy, VocabSource("icd9", vocab, {"ICD9CM": Hierarchy("ICD9CM", [("402.9", "402"), ("402.1", "402")])})]


def test_training_keeps_no_text_of_a_held_out_concept_when_asked(toy_source: VocabSource) -> None:
    sources = [{"name": "toy", "reader": "icd10cm"}, {"name": "icd9", "reader": "icd9cm"}]
    on = build_training_data(parse_config({"sources": sources, "pairs": {"heldout_fraction": 0.7, "exclude_heldout_texts": True}}),
                             _with_icd9_twin(toy_source))
    off = build_training_data(parse_config({"sources": sources, "pairs": {"heldout_fraction": 0.7}}), _with_icd9_twin(toy_source))
    assert "hypertensive heart disease" in {p.anchor.casefold() for ps in off.eval_pairs for p in ps.pairs}  # I11 is an evaluation anchor
    # ICD-9 402 leaks I11
    assert {"hypertensive heart disease", "hypertensive heart disease without heart failure"} <= off.trained_texts()
    assert not on.trained_texts() & {"hypertensive heart disease", "hypertensive heart disease without heart failure",
                                     "hypertensive heart disease with heart failure"}
    assert {"benign hypertensive heart disease", "type 2 diabetes mellitus"} <= on.trained_texts()  # the rest stays
    assert on.pair_sets[1].skipped[PAIR_REASON] > 0
    assert [ps.pairs for ps in on.eval_pairs] == [ps.pairs for ps in off.eval_pairs]  # evaluation never changes
    assert on.eval_synonyms.groups == off.eval_synonyms.groups
