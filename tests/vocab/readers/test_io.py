"""Reader plumbing: missing files, missing columns, undecodable bytes and CURIEs give clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import Code
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_athena, read_mesh, read_umls
from ehrfeat.vocab.readers._io import Skips, curie_to_code, read_delimited, read_rrf


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError) as info:
        read_mesh(tmp_path / "nope.tsv")
    assert "nope.tsv" in str(info.value) and info.value.code == "E111" and info.value.fix


def test_non_utf8_file_is_a_vocabulary_error(tmp_path: Path) -> None:
    terms = tmp_path / "mesh_terms.tsv"
    terms.write_bytes(b"DescriptorUI\tDescriptorName\tTermName\nD008675\tM\xe9ni\xe8re Disease\tM\xe9ni\xe8re\n")
    with pytest.raises(VocabularyError) as info:
        read_mesh(terms)
    assert "mesh_terms.tsv" in str(info.value) and "UTF-8" in str(info.value) and info.value.code == "E113"


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(VocabularyError) as info:
        list(read_delimited(path, ["a", "c"]))
    assert "no column(s) c" in str(info.value) and info.value.code == "E112"


def test_delimiter_detection_and_unquoted_tabs(tmp_path: Path) -> None:
    tsv = tmp_path / "t.tsv"
    tsv.write_text('id\tname\n1\tPen "SoloStar", 3 mL\n')
    assert list(read_delimited(tsv, ["id", "name"])) == [{"id": "1", "name": 'Pen "SoloStar", 3 mL'}]
    csv_ = tmp_path / "t.csv"
    csv_.write_text('id,name\n1,"Pen, 3 mL"\n2\n')
    assert list(read_delimited(csv_, ["id", "name"])) == [{"id": "1", "name": "Pen, 3 mL"}, {"id": "2", "name": ""}]


def test_rrf_wrong_width_on_first_line_raises(tmp_path: Path) -> None:
    rrf = tmp_path / "MRCONSO.RRF"
    rrf.write_text("C0011849|ENG|P|Diabetes|\n")
    with pytest.raises(VocabularyError) as info:
        read_umls(rrf)
    assert "MRCONSO.RRF" in str(info.value) and "expected 18" in str(info.value)
    skips = Skips()
    rrf.write_text("a|b|\na|\n")
    assert list(read_rrf(rrf, ("x", "y"), skips)) == [["a", "b"]]
    assert skips == {"malformed line (wrong number of fields)": 1}


def test_athena_folder_without_concept_file(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError) as info:
        read_athena(tmp_path)
    assert "CONCEPT.csv" in str(info.value)


@pytest.mark.parametrize(
    ("curie", "ref"),
    [
        ("ICD10CM:E11.9", Code("ICD10CM", "E11.9")),
        ("mesh:D003920", Code("MeSH", "D003920")),
        ("HP:0001250", Code("HPO", "HP:0001250")),
        ("http://purl.obolibrary.org/obo/HP_0001250", Code("HPO", "HP:0001250")),
        ("http://purl.obolibrary.org/obo/DOID_8718", Code("DOID", "DOID:8718")),
        ("http://www.orpha.net/ORDO/Orphanet_125", Code("Orphanet", "Orphanet:125")),
        ("MONDO:0005148", Code("MONDO", "MONDO:0005148")),
        ("SNOMEDCT_US:44054006", Code("SNOMED", "44054006")),
    ],
)
def test_curie_to_code(curie: str, ref: Code) -> None:
    assert curie_to_code(curie) == ref


def test_curie_without_prefix_raises() -> None:
    with pytest.raises(VocabularyError):
        curie_to_code("E11.9")


def test_lines_with_extra_fields_are_counted_or_raise(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("id\tname\n1\tok\n2\tstray\ttab\n")
    skips = Skips()
    assert list(read_delimited(path, ["id"], skips=skips)) == [{"id": "1", "name": "ok"}]
    assert skips == {"line with more fields than the header of t.tsv": 1}
    with pytest.raises(VocabularyError, match="3 fields"):
        list(read_delimited(path, ["id"]))
