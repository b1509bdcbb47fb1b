"""Fixtures shared by the reader tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ehrfeat.codes import ICD10CM, SNOMED
from ehrfeat.vocab import VocabSource

ATHENA_FIXTURE = Path(__file__).parents[2] / "fixtures" / "vocab" / "athena"


@pytest.fixture
def athena_fixture() -> Path:
    """The Athena-format (TAB) vocabulary folder."""
    return ATHENA_FIXTURE


@pytest.fixture
def check_athena_fixture() -> Callable[[VocabSource], None]:
    """Asserts what both the file and the database readers must find in the Athena fixture."""
    return check_fixture_source


def check_fixture_source(source: VocabSource) -> None:
    """Shared with the database reader's test: both must read the fixture the same way."""
    vocab = source.vocabulary
    t2d = vocab.get("OMOP", 201826)
    assert t2d is not None and (t2d.system, t2d.code) == (SNOMED, "44054006")
    assert vocab.get("SNOMED", "44054006") == t2d
    assert t2d.synonyms == ("Type II diabetes mellitus", "Non-insulin dependent diabetes mellitus")
    assert vocab.name("OMOP", 45576876) == "Type 2 diabetes mellitus without complications"
    assert vocab.name("icd10", "E119") == "Type 2 diabetes mellitus without complications"
    assert vocab.name("RxNorm", "847232") == 'Insulin glargine 100 UNT/ML Pen Injector "SoloStar"'
    assert vocab.name("Visit Type", "OMOP4822465") == "Visit derived from EHR record"
    assert vocab.get("OMOP", 4000000) is None  # deprecated
    snomed = source.hierarchies[SNOMED]
    assert snomed.ancestors("44054006") == {"73211009": 1, "126877002": 2}
    assert source.hierarchies[ICD10CM].parents("E11.9") == ("E11",)
    assert source.skipped == {
        "invalid concept (invalid_reason D)": 1,
        "concept with a malformed id, vocabulary, code or an empty name": 1,
        "hierarchy edge between two vocabularies": 1,
        "hierarchy edge to a concept not in CONCEPT": 1,
        "invalid 'Is a' relationship": 1,
        "synonym of a concept not in CONCEPT": 1,
    }
