"""Vocabulary: normalised keys, aliases, merging."""

from __future__ import annotations

import pytest

from ehrfeat.codes import Code
from ehrfeat.errors import InputError
from ehrfeat.vocab import Concept, Vocabulary


def test_lookup_in_any_form() -> None:
    vocab = Vocabulary()
    vocab.add("icd10", "E119", "Type 2 diabetes mellitus without complications", ["T2DM  without complications"])
    concept = vocab.get("ICD10CM", "e11.9")
    assert concept == Concept(
        "ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications", ("T2DM without complications",)
    )
    assert ("icd-10-cm", "E119") in vocab
    assert vocab["ICD10CM", "E11.9"].name.startswith("Type 2")
    assert vocab.get("ICD10CM", "not a code") is None
    with pytest.raises(KeyError):
        vocab["ICD10CM", "E10.9"]


def test_merge_keeps_first_name_and_every_other_string() -> None:
    vocab = Vocabulary()
    vocab.add("SNOMED", 44054006, "Type 2 diabetes mellitus", ["NIDDM"])
    vocab.add("SNOMED", "44054006", "Diabetes mellitus type 2", ["NIDDM", "Type II diabetes"])
    concept = vocab.get("SNOMED", "44054006")
    assert concept is not None
    assert concept.name == "Type 2 diabetes mellitus"
    assert concept.synonyms == ("NIDDM", "Diabetes mellitus type 2", "Type II diabetes")
    assert len(vocab) == 1


def test_terms_dedupe_case_insensitively() -> None:
    concept = Concept("HPO", "HP:0001250", "Seizure", ("seizure", "Seizures", "Epileptic seizure"))
    assert concept.terms == ("Seizure", "Seizures", "Epileptic seizure")


def test_alias_resolves_to_target() -> None:
    vocab = Vocabulary()
    vocab.add("SNOMED", "44054006", "Type 2 diabetes mellitus")
    vocab.add_alias("OMOP", 201826, Code("SNOMED", "44054006"))
    assert vocab.name("omop", "201826") == "Type 2 diabetes mellitus"
    other = Vocabulary()
    other.update(vocab)
    assert other.name("OMOP", 201826) == "Type 2 diabetes mellitus"


def test_empty_name_and_bad_code_raise() -> None:
    vocab = Vocabulary()
    with pytest.raises(InputError) as info:
        vocab.add("ICD10CM", "E11.9", "   ")
    assert info.value.code == "E104"
    with pytest.raises(InputError):
        vocab.add("ICD10CM", "E08-E13", "Diabetes mellitus")


def test_systems_and_concepts_by_system() -> None:
    vocab = Vocabulary([Concept("HPO", "HP:0001250", "Seizure"), Concept("ICD10CM", "E11.9", "T2DM")])
    assert vocab.systems == ("HPO", "ICD10CM")
    assert [c.code for c in vocab.concepts("hp")] == ["HP:0001250"]
    assert vocab.codes("ICD10CM") == ["E11.9"]


def test_copy_is_independent_and_keeps_aliases() -> None:
    vocab = Vocabulary([Concept("ICD10CM", "E11.9", "Type 2 diabetes")])
    vocab.add_alias("OMOP", 201826, Code("ICD10CM", "E11.9"))
    copy = vocab.copy()
    copy.add("ICD10CM", "I10", "Essential hypertension")
    copy.add("ICD10CM", "E119", "Type 2 diabetes", ["T2DM"])
    assert len(vocab) == 1 and vocab.get("ICD10CM", "E11.9").synonyms == ()  # type: ignore[union-attr]
    assert copy.get("OMOP", "201826").synonyms == ("T2DM",)  # type: ignore[union-attr]


def test_name_table_holds_codes_and_aliases_and_a_concept_wins_over_an_alias() -> None:
    from ehrfeat.codes import Code

    vocab = Vocabulary()
    vocab.add("HPO", "HP:0001250", "Seizure", ["Fits"])
    vocab.add("HPO", "HP:0000001", "All")
    vocab.add("ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications")
    vocab.add_alias("HPO", "HP:0002197", Code("HPO", "HP:0001250"))  # an alt_id
    vocab.add_alias("HPO", "HP:0000001", Code("HPO", "HP:0001250"))  # a real concept keeps its own name
    vocab.add_alias("HPO", "HP:0009999", Code("HPO", "HP:0007777"))  # an alias to nothing names nothing
    assert vocab.name_table("hpo") == {"HP:0001250": "Seizure", "HP:0000001": "All", "HP:0002197": "Seizure"}
    assert vocab.name_table("ICD10CM") == {"E11.9": "Type 2 diabetes mellitus without complications"}
