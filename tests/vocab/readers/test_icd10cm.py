"""ICD-10-CM from simple_icd_10_cm: real codes only, categories as roots, inclusion terms as synonyms."""

from __future__ import annotations

import pytest

from ehrfeat.codes import ICD10CM
from ehrfeat.vocab import VocabSource
from ehrfeat.vocab.readers import read_icd10cm

pytestmark = pytest.mark.slow  # the package parses its XML tabular list: 3-7 s


@pytest.fixture(scope="module")
def icd10() -> VocabSource:
    return read_icd10cm()


def test_counts_and_known_codes(icd10: VocabSource) -> None:
    vocab, hier = icd10.vocabulary, icd10.hierarchies[ICD10CM]
    assert len(vocab) > 90_000
    assert vocab.name("icd10", "E119") == "Type 2 diabetes mellitus without complications"
    assert hier.parents("E11.9") == ("E11",)
    assert hier.ancestors("S72.001A") == {"S72.001": 1, "S72.00": 2, "S72.0": 3, "S72": 4}
    assert hier.edge_count > 90_000


def test_chapters_and_blocks_are_not_codes(icd10: VocabSource) -> None:
    hier = icd10.hierarchies[ICD10CM]
    assert hier.parents("E11") == ()  # a category is a root: its block E08-E13 is not a code
    assert "E08-E13" not in hier
    assert icd10.skipped["chapter or block (not a code)"] > 250
    assert icd10.vocabulary.name("ICD10CM", "B99") == "Other and unspecified infectious diseases"
    assert set(hier.children("B99")) == {"B99.8", "B99.9"}
    assert all(len(root) == 3 for root in hier.roots())


def test_inclusion_terms_are_synonyms(icd10: VocabSource) -> None:
    with_synonyms = [c for c in icd10.vocabulary if c.synonyms]
    assert len(with_synonyms) > 5_000
    assert sum(len(c.synonyms) for c in with_synonyms) > 10_000
