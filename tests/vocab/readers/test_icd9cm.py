"""ICD-9-CM from the CMS long-description file (latin-1), hierarchy by truncation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import ICD9CM
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_icd9cm

CMS = Path(__file__).parents[2] / "fixtures" / "vocab" / "icd9" / "CMS32_DESC_LONG_DX.txt"


def test_fixture_codes_latin1_and_skips() -> None:
    source = read_icd9cm(CMS)
    vocab = source.vocabulary
    assert vocab.name("icd9", "4280") == "Congestive heart failure, unspecified"
    assert vocab.name(ICD9CM, "E8889") == "Fall resulting in other injury"
    assert vocab.name(ICD9CM, "V15.82") == "Personal history of tobacco use"
    assert vocab.name(ICD9CM, "386.00") == "Ménière's disease, unspecified"
    assert vocab.name(ICD9CM, "042") == "Human immunodeficiency virus [HIV] disease"
    assert source.skipped == {"malformed code": 1, "category without a description (hierarchy node only)": 6}
    assert len(vocab) == 11


def test_truncation_hierarchy() -> None:
    hier = read_icd9cm(CMS).hierarchies[ICD9CM]
    assert hier.parents("250.11") == ("250.1",)  # 4-digit parent present in the file
    assert hier.parents("250.01") == ("250",)  # 250.0 absent: up to the category
    assert hier.ancestors("250.11") == {"250.1": 1, "250": 2}
    assert hier.parents("E888.9") == ("E888",) and hier.parents("V15.82") == ("V15",)
    assert set(hier.siblings("250.00")) == {"250.01", "250.1"}
    assert "428" in hier and ("ICD9CM", "428") not in read_icd9cm(CMS).vocabulary


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="CMS ICD-9-CM"):
        read_icd9cm(tmp_path / "CMS32_DESC_LONG_DX.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("code,description\n")
    with pytest.raises(VocabularyError, match="no ICD-9-CM codes"):
        read_icd9cm(empty)


def test_packaged_cms_file() -> None:
    source = read_icd9cm()
    assert len(source.vocabulary) > 14_000
    assert source.vocabulary.name(ICD9CM, "428.0") == "Congestive heart failure, unspecified"
    assert source.vocabulary.name(ICD9CM, "38600") == "Ménière's disease, unspecified"
    assert source.hierarchies[ICD9CM].parents("250.01") == ("250",)
