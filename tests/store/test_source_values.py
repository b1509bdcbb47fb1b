"""Source values when CONCEPT lacks the concept: code-system detection, text, ambiguity, overrides."""

from __future__ import annotations

import pytest

from ehrfeat.errors import ConfigError
from ehrfeat.store.source_values import SourceClassifier, is_text, parse_source_systems, text_key


@pytest.mark.parametrize(
    ("domain", "value", "key"),
    [
        ("condition", "78791  ", ("ICD9CM", "787.91")),  # no dot, trailing blanks
        ("condition", "S06357A", ("ICD10CM", "S06.357A")),
        ("condition", "E119", ("ICD10CM", "E11.9")),
        ("condition", "e11.9", ("ICD10CM", "E11.9")),
        ("condition", "4019", ("ICD9CM", "401.9")),
        ("condition", "V1582", ("ICD9CM", "V15.82")),  # a V code: ICD-10-CM has no V15.82
        ("procedure", "0DTJ4ZZ", ("ICD10PCS", "0DTJ4ZZ")),
        ("procedure", "3893", ("ICD9Proc", "38.93")),
        ("observation", "Z87891", ("ICD10CM", "Z87.891")),
    ],
)
def test_recognised_source_codes(domain: str, value: str, key: tuple[str, str]) -> None:
    assert SourceClassifier().classify(domain, value) == ("source_code", key, None)


def test_the_table_decides_the_kind_of_code() -> None:
    classify = SourceClassifier().classify
    # 3893 is ICD-9-CM procedure 38.93 in a procedure table; a diagnosis table never holds procedure codes
    assert classify("procedure", "3893")[1] == ("ICD9Proc", "38.93")
    assert classify("condition", "3893")[1] != ("ICD9Proc", "38.93")


def test_free_text_is_its_own_code_system_keyed_by_table() -> None:
    kind, key, text = SourceClassifier().classify("condition", "SVT (Supra Ventricular Tachycardia)")
    assert kind == "source_text" and key == ("SOURCE_TEXT", "condition:svt (supra ventricular tachycardia)")
    assert text == "SVT (Supra Ventricular Tachycardia)"
    assert SourceClassifier().classify("drug", "Metformin  500 MG")[1] == ("SOURCE_TEXT", "drug:metformin 500 mg")
    assert SourceClassifier().classify("visit", "Inpatient")[1] == ("SOURCE_TEXT", "visit:inpatient")
    assert len(text_key("condition", "word " * 100)) <= 128


@pytest.mark.parametrize("value", ["X99-LOCAL", "00093721401", "###", "12", "E1"])
def test_codes_and_junk_are_not_text(value: str) -> None:
    assert not is_text(value)


def test_ambiguous_value_is_reported_not_guessed_and_an_override_decides() -> None:
    kind, key, _ = SourceClassifier().classify("condition", "E8889")  # ICD-9-CM E888.9 and ICD-10-CM E88.89
    assert key is None and kind.startswith("ambiguous: a valid ICD10CM and ICD9CM code")
    fixed = SourceClassifier(parse_source_systems(["condition=ICD9CM,ICD10CM"]))
    assert fixed.classify("condition", "E8889")[1] == ("ICD9CM", "E888.9")
    only10 = SourceClassifier(parse_source_systems("condition=icd-10-cm"))
    assert only10.classify("condition", "E8889")[1] == ("ICD10CM", "E88.89")
    assert only10.classify("condition", "4019")[1] is None  # ICD-9 is no longer tried


def test_codes_without_a_dictionary_are_reported_with_the_fix() -> None:
    kind, key, _ = SourceClassifier().classify("measurement", "4548-4")
    assert key is None and "LOINC" in kind and "vocabularies" in kind
    assert SourceClassifier().classify("measurement", "4548-5")[0] == "neither a known code nor text"  # bad check digit
    assert "CPT4" in SourceClassifier().classify("procedure", "99213")[0]
    assert SourceClassifier().classify("condition", "428")[0].startswith("shaped like a ICD9CM code")
    assert SourceClassifier().classify("condition", None)[0] == "no concept and no source value"


@pytest.mark.parametrize(
    ("spec", "code", "words"),
    [
        (["condition=ICD10CM,FOO"], "E1403", "unknown code system 'FOO'"),
        (["conditions=ICD10CM"], "E1402", "unknown table 'conditions'"),
        (["condition"], "E1401", "TABLE=SYSTEM"),
    ],
)
def test_bad_source_system_overrides(spec: list[str], code: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_source_systems(spec)
    assert info.value.code == code and words in str(info.value) and info.value.fix
