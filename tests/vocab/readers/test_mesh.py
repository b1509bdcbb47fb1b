"""MeSH descriptors from the terms and tree-number TSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import MESH
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_mesh

MESH_DIR = Path(__file__).parents[2] / "fixtures" / "vocab" / "mesh"


def test_fixture() -> None:
    source = read_mesh(MESH_DIR / "mesh_terms.tsv", MESH_DIR / "mesh_tree_numbers.tsv")
    vocab, hier = source.vocabulary, source.hierarchies[MESH]
    concept = vocab.get("msh", "d003924")
    assert concept is not None and concept.name == "Diabetes Mellitus, Type 2"
    assert concept.synonyms == ("NIDDM", "Type 2 Diabetes")
    assert hier.ancestors("D003924") == {"D003920": 1, "D044882": 2, "D004700": 2}
    assert set(hier.parents("D003920")) == {"D044882", "D004700"}  # two tree numbers, two parents
    assert source.skipped == {"term row without a descriptor id or name": 1}


def test_terms_only() -> None:
    source = read_mesh(MESH_DIR / "mesh_terms.tsv")
    assert len(source.vocabulary) == 4 and source.hierarchies[MESH].edge_count == 0


def test_missing_column(tmp_path: Path) -> None:
    bad = tmp_path / "mesh_tree_numbers.tsv"
    bad.write_text("DescriptorUI\tDescriptorName\tTreeNumber\nD003920\tDiabetes Mellitus\tC19.246\n")
    with pytest.raises(VocabularyError, match="tree_location"):
        read_mesh(MESH_DIR / "mesh_terms.tsv", bad)


@pytest.mark.slow
def test_real_mesh(shared_data: Path) -> None:
    d = shared_data / "mesh"
    source = read_mesh(d / "mesh_terms.tsv", d / "mesh_tree_numbers.tsv")
    vocab, hier = source.vocabulary, source.hierarchies[MESH]
    assert len(vocab) > 30_000
    assert hier.edge_count > 35_000
    assert sum(len(c.synonyms) for c in vocab) > 90_000
    assert vocab.name(MESH, "D003920") == "Diabetes Mellitus"
    assert "D044882" in hier.parents("D003920")
    assert len(hier.cycles()) <= 5  # MeSH has a few (Strabismus / Ocular Motility Disorders)
