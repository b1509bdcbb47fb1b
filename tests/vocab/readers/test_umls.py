"""UMLS RRF: CUI concepts, English strings as synonyms, source codes as aliases, PAR/CHD direction."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_umls

UMLS_DIR = Path(__file__).parents[2] / "fixtures" / "vocab" / "umls"


def test_fixture() -> None:
    source = read_umls(UMLS_DIR / "MRCONSO.RRF", UMLS_DIR / "MRREL.RRF")
    vocab, hier = source.vocabulary, source.hierarchies["UMLS"]
    t2d = vocab.get("UMLS", "C0011860")
    assert t2d is not None
    assert t2d.name == "Diabetes Mellitus, Non-Insulin-Dependent"  # TS=P, STT=PF, ISPREF=Y
    assert t2d.synonyms == ("NIDDM", "Type 2 diabetes mellitus", "Type 2 diabetes mellitus (disorder)")
    assert "Diabetes Mellitus, Type II" not in t2d.synonyms  # SUPPRESS=O
    assert vocab.get("SNOMED", "44054006") == t2d
    assert vocab.get("icd10", "E11") == t2d
    assert vocab.get("MeSH", "D003924") == t2d
    assert "Diabète" not in vocab.get("UMLS", "C0011849").terms  # type: ignore[union-attr]
    # PAR on C0011860|..|C0011849 means C0011849 is the parent of C0011860
    assert hier.ancestors("C0011860") == {"C0011849": 1, "C0025517": 2}
    assert hier.cycles() == []
    assert source.skipped == {
        "string in another language": 1,
        "suppressed string": 1,
        "malformed line (wrong number of fields)": 1,
        "PAR/CHD relation to a concept without strings": 1,
    }


def test_sab_filter_and_languages() -> None:
    only_snomed = read_umls(UMLS_DIR / "MRCONSO.RRF", sabs={"SNOMEDCT_US"})
    assert len(only_snomed.vocabulary) == 2
    assert only_snomed.vocabulary.name("UMLS", "C0011860") == "Type 2 diabetes mellitus"
    french = read_umls(UMLS_DIR / "MRCONSO.RRF", languages=("FRE",))
    assert french.vocabulary.name("UMLS", "C0011849") == "Diabète"


def test_wrong_file(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="MRREL"):
        read_umls(UMLS_DIR / "MRCONSO.RRF", tmp_path / "MRREL.RRF")
    with pytest.raises(VocabularyError, match="expected 16"):
        read_umls(UMLS_DIR / "MRCONSO.RRF", UMLS_DIR / "MRCONSO.RRF")
