"""SSSOM TSV: mappings with their predicate, labelled sides as concepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import ICD10CM, MESH, Code
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab import CodeMapping
from ehrfeat.vocab.readers import read_sssom

SSSOM = Path(__file__).parents[2] / "fixtures" / "vocab" / "sssom" / "mondo_mini.sssom.tsv"


def test_fixture() -> None:
    source = read_sssom(SSSOM)
    assert source.mappings == (
        CodeMapping(Code("MONDO", "MONDO:0005148"), Code(ICD10CM, "E11"), "skos:exactMatch"),
        CodeMapping(Code("MONDO", "MONDO:0000088"), Code(ICD10CM, "E30.1"), "skos:exactMatch"),
        CodeMapping(Code("MONDO", "MONDO:0005015"), Code(MESH, "D003920"), "skos:exactMatch"),
    )
    assert source.vocabulary.name("icd10", "E301") == "Precocious puberty"
    assert source.vocabulary.name("MONDO", "MONDO:0005148") == "type 2 diabetes mellitus"
    assert (MESH, "D003920") not in source.vocabulary
    assert source.skipped == {
        "mapped id without a label (mapping kept, no concept)": 1,
        "row with a malformed subject or object id (e.g. an ICD-10 block range)": 1,
    }
    assert "mondo_exactmatch_mini" in source.name


def test_missing_column(tmp_path: Path) -> None:
    bad = tmp_path / "x.sssom.tsv"
    bad.write_text("# license: cc0\nsubject_id\tobject_id\nMONDO:1\tDOID:4\n")
    with pytest.raises(VocabularyError, match="predicate_id"):
        read_sssom(bad)


def test_real_mondo_icd10cm(shared_data: Path) -> None:
    source = read_sssom(shared_data / "ontologies" / "mondo_exactmatch_icd10cm.sssom.tsv")
    assert len(source.mappings) > 1_500
    assert CodeMapping(Code("MONDO", "MONDO:0000088"), Code(ICD10CM, "E30.1"), "skos:exactMatch") in source.mappings
    assert set(source.vocabulary.systems) == {ICD10CM, "MONDO"}
    mesh = read_sssom(shared_data / "ontologies" / "mondo_exactmatch_mesh.sssom.tsv")
    assert mesh.mappings[0].target.system == MESH
