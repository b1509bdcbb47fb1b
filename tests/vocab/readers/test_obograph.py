"""OBO Graphs JSON: classes of the ontology's own prefix, exact synonyms, is_a edges."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_obograph

DOID = Path(__file__).parents[2] / "fixtures" / "vocab" / "obo" / "doid_mini.json"


def test_fixture(tmp_path: Path) -> None:
    packed = tmp_path / "doid_mini.json.gz"
    with DOID.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    for path in (DOID, packed):
        source = read_obograph(path)
        vocab, hier = source.vocabulary, source.hierarchies["DOID"]
        t2d = vocab.get("DOID", "DOID:9352")
        assert t2d is not None and t2d.synonyms == ("type II diabetes mellitus", "NIDDM")
        assert vocab.get("DOID", "DOID:9351").synonyms == ("diabetes",)  # type: ignore[union-attr]
        assert hier.ancestors("DOID:9352") == {"DOID:9351": 1, "DOID:4": 2}
        assert source.skipped == {
            "not a class (property or individual)": 1,
            "deprecated class": 1,
            "class without a label": 1,
            "class of another system (import)": 1,
        }


def test_explicit_system_keeps_imports() -> None:
    source = read_obograph(DOID, system="SYMP")
    assert source.vocabulary.name("SYMP", "SYMP:0000001") == "symptom"


def test_not_obographs(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"nodes": []}')
    with pytest.raises(VocabularyError, match="graphs"):
        read_obograph(bad)
    bad.write_text("{not json")
    with pytest.raises(VocabularyError, match="not an OBO Graphs JSON"):
        read_obograph(bad)


@pytest.mark.slow
def test_real_ontologies(shared_data: Path) -> None:
    d = shared_data / "ontologies"
    doid = read_obograph(d / "doid-2018-07-05.json.gz")
    assert doid.vocabulary.systems == ("DOID",)
    assert len(doid.vocabulary) > 8_000 and doid.hierarchies["DOID"].edge_count > 9_000
    assert doid.skipped["deprecated class"] > 1_000
    assert doid.vocabulary.name("DOID", "DOID:9352") == "type 2 diabetes mellitus"
    assert "DOID:9351" in doid.hierarchies["DOID"].parents("DOID:9352")
    ordo = read_obograph(d / "ordo-2_6-2018-07-12.json.gz")
    assert ordo.vocabulary.systems == ("Orphanet",) and len(ordo.vocabulary) > 12_000
    ncit = read_obograph(d / "ncit-disease-2018-06-08.json.gz")
    assert ncit.vocabulary.systems == ("NCIT",) and sum(len(c.synonyms) for c in ncit.vocabulary) > 30_000
