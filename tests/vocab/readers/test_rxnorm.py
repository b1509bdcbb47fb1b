"""RxNorm RRF: RXNORM atoms by RXCUI, TTY preference, product -> ingredient hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.codes import RXNORM
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers import read_rxnorm

RXN = Path(__file__).parents[2] / "fixtures" / "vocab" / "rxnorm"


def test_fixture() -> None:
    source = read_rxnorm(RXN / "RXNCONSO.RRF", RXN / "RXNREL.RRF")
    vocab, hier = source.vocabulary, source.hierarchies[RXNORM]
    scd = vocab.get("rxnorm", "847230")
    assert scd is not None and scd.name == "3 ML insulin glargine 100 UNT/ML Pen Injector"  # SCD before PSN
    assert scd.synonyms == ("insulin glargine 100 UNT/ML in a 3 mL pen",)
    assert vocab.get(RXNORM, "274783").synonyms == ("glargine",)  # type: ignore[union-attr]
    # SBD -tradename_of-> SCD -isa-> SCDF -has_ingredient-> IN
    assert hier.ancestors("847232") == {"847230": 1, "1311502": 2, "274783": 3}
    assert source.skipped == {
        "suppressed atom": 1,
        "atom of another source (SAB)": 1,
        "atom with a malformed RXCUI or no string": 1,
        "hierarchy relation to a concept without RXNORM atoms": 2,
    }


def test_chosen_relas() -> None:
    hier = read_rxnorm(RXN / "RXNCONSO.RRF", RXN / "RXNREL.RRF", relas=("isa", "inverse_isa")).hierarchies[RXNORM]
    assert hier.ancestors("847230") == {"1311502": 1}
    assert hier.parents("847232") == ()
    with pytest.raises(VocabularyError, match="unknown hierarchy RELA"):
        read_rxnorm(RXN / "RXNCONSO.RRF", relas=("consists_of",))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="RXNCONSO"):
        read_rxnorm(tmp_path / "RXNCONSO.RRF")
