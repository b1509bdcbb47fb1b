"""LOINC: Loinc.csv terms, deprecated ones skipped, multiaxial hierarchy with LP part nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import LOINC
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_loinc

LOINC_DIR = Path(__file__).parents[2] / "fixtures" / "vocab" / "loinc"


def test_fixture() -> None:
    source = read_loinc(LOINC_DIR / "Loinc.csv", LOINC_DIR / "MultiAxialHierarchy.csv")
    vocab, hier = source.vocabulary, source.hierarchies[LOINC]
    a1c = vocab.get("lnc", "4548-4")
    assert a1c is not None and a1c.name == "Hemoglobin A1c/Hemoglobin.total in Blood"
    assert a1c.synonyms == (
        "Hgb A1c MFr Bld",
        "Hemoglobin A1c/Hemoglobin total [Mass fraction] in Blood",
        "Hemoglobin A1c",
    )
    assert vocab.name(LOINC, "LP14635-4") == "Glucose"  # part code as a concept
    assert hier.ancestors("2345-7") == {"LP14635-4": 1, "LP29693-6": 2, "LP432695-7": 3}
    assert (LOINC, "1558-6") not in vocab
    assert source.skipped == {
        "deprecated term": 1,
        "malformed LOINC_NUM": 1,
        "hierarchy row for a term not in Loinc.csv (deprecated or absent)": 1,
        "hierarchy row with a malformed code": 1,
    }


def test_missing_column(tmp_path: Path) -> None:
    bad = tmp_path / "Loinc.csv"
    bad.write_text('"LOINC_NUM","COMPONENT","STATUS"\n"2345-7","Glucose","ACTIVE"\n')
    with pytest.raises(VocabularyError, match="LONG_COMMON_NAME"):
        read_loinc(bad)
