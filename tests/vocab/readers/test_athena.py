"""OMOP Athena vocabulary files: TAB (Athena) and comma (CDM export) variants."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ehrfeat.codes import SNOMED
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab import VocabSource
from ehrfeat.vocab.readers import read_athena

ATHENA = Path(__file__).parents[2] / "fixtures" / "vocab" / "athena"


def test_tab_separated_athena_folder(check_athena_fixture: Callable[[VocabSource], None]) -> None:
    check_athena_fixture(read_athena(ATHENA))


def test_include_invalid_and_lowercase_names(tmp_path: Path) -> None:
    for f in ATHENA.iterdir():
        shutil.copy(f, tmp_path / f.name.lower())
    source = read_athena(tmp_path, include_invalid=True)
    assert source.vocabulary.name("OMOP", 4000000) == "Diabetes mellitus type 2 (old)"


def test_missing_column(tmp_path: Path) -> None:
    (tmp_path / "CONCEPT.csv").write_text("concept_id\tconcept_name\tvocabulary_id\n1\tx\tSNOMED\n")
    with pytest.raises(VocabularyError, match="concept_code"):
        read_athena(tmp_path)


def test_synthea_cdm_export(shared_data: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(shared_data / "omop" / "Synthea27Nj_5.4.zip") as z:
        for name in ("CONCEPT.csv", "CONCEPT_RELATIONSHIP.csv", "CONCEPT_ANCESTOR.csv", "CONCEPT_SYNONYM.csv"):
            z.extract(name, tmp_path)
    source = read_athena(tmp_path)
    vocab = source.vocabulary
    assert len(vocab) > 2_000
    assert {"SNOMED", "LOINC", "RxNorm"} <= set(vocab.systems)
    assert vocab.name("OMOP", 1749008) == "cefpodoxime" == vocab.name("RxNorm", "20489")
    assert source.hierarchies[SNOMED].edge_count > 100
    assert source.skipped["invalid concept (invalid_reason D)"] > 0
