"""normalize_code / canonical_system: one canonical form per code, clear errors for malformed ones."""

from __future__ import annotations

import pytest

from ehrfeat.codes import (
    HPO,
    ICD9CM,
    ICD10CM,
    MESH,
    OMOP,
    PHECODE,
    RXNORM,
    SNOMED,
    Code,
    canonical_system,
    normalize_code,
)
from ehrfeat.errors import InputError


@pytest.mark.parametrize("raw", ["E119", "e11.9", " E11.9 ", "E11.9", "e 11 9"])
def test_icd10cm_forms_are_one_code(raw: str) -> None:
    assert normalize_code("ICD10CM", raw) == "E11.9"


def test_icd10cm_categories_and_seventh_characters() -> None:
    assert normalize_code("icd10", "e11") == "E11"
    assert normalize_code(ICD10CM, "S72001A") == "S72.001A"
    assert normalize_code(ICD10CM, "QA0.0142") == "QA0.0142"  # April 2026 codes with a letter second


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("4280", "428.0"),
        ("428.0", "428.0"),
        ("E8889", "E888.9"),
        ("V1582", "V15.82"),
        ("25001", "250.01"),
        ("42", "042"),
        ("042", "042"),
    ],
)
def test_icd9cm_forms(raw: str, canon: str) -> None:
    assert normalize_code(ICD9CM, raw) == canon


@pytest.mark.parametrize("raw", ["HP:0001250", "hp_0001250", "HP0001250", "0001250", "1250"])
def test_hpo_forms(raw: str) -> None:
    assert normalize_code(HPO, raw) == "HP:0001250"


def test_other_systems() -> None:
    assert normalize_code(PHECODE, "8") == "008"
    assert normalize_code(PHECODE, "250.21") == "250.21"
    assert normalize_code(SNOMED, "044054006") == "44054006"
    assert normalize_code(RXNORM, 847232.0) == "847232"
    assert normalize_code(OMOP, 201826) == "201826"
    assert normalize_code(MESH, "d003920") == "D003920"
    assert normalize_code("DOID", "DOID:8718") == "DOID:8718"  # no normaliser: kept as given


@pytest.mark.parametrize(
    ("system", "raw"),
    [
        (ICD10CM, "E08-E13"),
        (ICD10CM, "11.9"),
        (ICD10CM, "DOI"),
        (ICD9CM, "X12Z"),
        (ICD9CM, "4280123"),
        (HPO, "HP:ABC"),
        (PHECODE, "x9"),
        (SNOMED, "abc"),
        (OMOP, "12a"),
    ],
)
def test_malformed_codes_raise_e103(system: str, raw: str) -> None:
    with pytest.raises(InputError) as info:
        normalize_code(system, raw)
    assert info.value.code == "E103"
    assert info.value.fix


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_codes_raise_e102(raw: object) -> None:
    with pytest.raises(InputError) as info:
        normalize_code(ICD10CM, raw)
    assert info.value.code == "E102"


@pytest.mark.parametrize(
    ("name", "canon"),
    [
        ("icd-10-cm", ICD10CM),
        ("ICD10", ICD10CM),
        ("icd 10 cm", ICD10CM),
        ("icd9", ICD9CM),
        ("hp", HPO),
        ("SNOMEDCT_US", SNOMED),
        ("MSH", MESH),
        ("lnc", "LOINC"),
        ("concept_id", OMOP),
        ("RXNORM", RXNORM),
    ],
)
def test_canonical_system_aliases(name: str, canon: str) -> None:
    assert canonical_system(name) == canon


def test_unknown_systems_are_kept_and_spaces_allowed() -> None:
    assert canonical_system(" DOID ") == "DOID"
    assert canonical_system("Meas  Type") == "Meas Type"  # OMOP vocabulary_id with a space


@pytest.mark.parametrize("name", ["", "1CD10", "icd10;drop", "bad!", "x" * 65, " "])
def test_invalid_system_names_raise_e101(name: str) -> None:
    with pytest.raises(InputError) as info:
        canonical_system(name)
    assert info.value.code == "E101"


def test_code_parse_and_str() -> None:
    ref = Code.parse("icd10", "e119")
    assert ref == Code(ICD10CM, "E11.9")
    assert str(ref) == "ICD10CM:E11.9"


def test_a_bad_system_name_raises_on_every_call_and_a_good_one_is_remembered() -> None:
    for _ in range(2):  # the cache behind canonical_system keeps answers, never failures
        with pytest.raises(InputError) as info:
            canonical_system("9 bad")
        assert info.value.code == "E101"
    assert canonical_system("icd-10-cm") == canonical_system("icd-10-cm") == "ICD10CM"
