"""PheCode 1.2 CSVs: concepts, rollup hierarchy, ICD -> phecode mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import PHECODE, Code
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab import CodeMapping
from ehrfeat.vocab.readers import read_phecode

PHE = Path(__file__).parents[2] / "fixtures" / "vocab" / "phecode"


def test_fixture_with_rollup() -> None:
    source = read_phecode(PHE / "phecode_map.csv", PHE / "pheinfo.csv", PHE / "phecode_rollup_map.csv")
    vocab, hier = source.vocabulary, source.hierarchies[PHECODE]
    assert vocab.name("phecode", "250.21") == "Type 2 diabetes, uncomplicated"
    assert hier.ancestors("250.21") == {"250.2": 1, "250": 2}
    assert hier.parents("250.1") == ("250",)
    assert "1019" in hier and (PHECODE, "1019") not in vocab
    assert CodeMapping(Code("ICD10CM", "E11.9"), Code(PHECODE, "250.21"), "rollsUpTo") in source.mappings
    assert CodeMapping(Code("ICD9CM", "250.00"), Code(PHECODE, "250.2"), "rollsUpTo") in source.mappings
    assert len(source.mappings) == 6
    assert source.skipped == {
        "pheinfo row with a malformed phecode or no description": 1,
        "map row with a malformed code (e.g. an ICD-10 block range A00-A09)": 1,
        "phecode without a description in pheinfo.csv (hierarchy node and mapping target only)": 1,
    }


def test_decimal_hierarchy_without_rollup() -> None:
    hier = read_phecode(PHE / "phecode_map.csv", PHE / "pheinfo.csv").hierarchies[PHECODE]
    assert hier.ancestors("250.21") == {"250.2": 1, "250": 2}


def test_missing_column(tmp_path: Path) -> None:
    bad = tmp_path / "pheinfo.csv"
    bad.write_text("phecode,phenotype\n250,Diabetes\n")
    with pytest.raises(VocabularyError, match="no column"):
        read_phecode(PHE / "phecode_map.csv", bad)


def test_real_phecode(shared_data: Path) -> None:
    d = shared_data / "phecode"
    source = read_phecode(d / "phecode_map.csv", d / "pheinfo.csv", d / "phecode_rollup_map.csv")
    hier = source.hierarchies[PHECODE]
    assert len(source.vocabulary) >= 1_500
    assert len(source.mappings) > 70_000
    assert hier.ancestors("250.21") == {"250.2": 1, "250": 2}
    assert hier.parents("008.51") == ("008.5",)
    assert hier.cycles() == []
    assert CodeMapping(Code("ICD10CM", "E11.9"), Code(PHECODE, "250.2"), "rollsUpTo") in source.mappings
    assert CodeMapping(Code("ICD9CM", "250.00"), Code(PHECODE, "250.2"), "rollsUpTo") in source.mappings
    assert source.skipped["phecode without a description in pheinfo.csv (hierarchy node and mapping target only)"] > 0
