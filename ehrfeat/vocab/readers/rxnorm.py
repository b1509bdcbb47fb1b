"""RxNorm from the full release's ``RXNCONSO.RRF`` and ``RXNREL.RRF``.

Concepts are the ``SAB=RXNORM`` atoms grouped by RXCUI (other sources' atoms and
suppressed atoms are counted, not kept). The name is the atom with the best term
type in :data:`TTY_PREFERENCE` (the normalised SCD/SBD/IN... name before the
prescribable PSN and the SY/TMSY synonyms); every other atom is a synonym.

Hierarchy (a documented choice): the more specific concept is the child along
these RXNORM relations, read as "RXCUI2 RELA RXCUI1" (RXNREL's direction):
``isa`` (SCD -> SCDF -> SCDG, SBD -> SBDF), ``tradename_of`` (SBD -> SCD, BN -> IN),
``has_ingredient`` (SCDC/SCDF/SCDG -> IN) and ``form_of`` (PIN -> IN), each with
its inverse. So a branded drug climbs to its generic, its dose-form group and its
ingredient. Pass ``relas=`` to choose others from :data:`CHILD_SIDE`.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from ehrfeat.codes import RXNORM
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, read_rrf, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["CHILD_SIDE", "DEFAULT_RELAS", "RXNCONSO_COLUMNS", "RXNREL_COLUMNS", "TTY_PREFERENCE", "read_rxnorm"]

RXNCONSO_COLUMNS = (
    "RXCUI",
    "LAT",
    "TS",
    "LUI",
    "STT",
    "SUI",
    "ISPREF",
    "RXAUI",
    "SAUI",
    "SCUI",
    "SDUI",
    "SAB",
    "TTY",
    "CODE",
    "STR",
    "SRL",
    "SUPPRESS",
    "CVF",
)
RXNREL_COLUMNS = (
    "RXCUI1",
    "RXAUI1",
    "STYPE1",
    "REL",
    "RXCUI2",
    "RXAUI2",
    "STYPE2",
    "RELA",
    "RUI",
    "SRUI",
    "SAB",
    "SL",
    "DIR",
    "RG",
    "SUPPRESS",
    "CVF",
)
_C = {name: i for i, name in enumerate(RXNCONSO_COLUMNS)}
_R = {name: i for i, name in enumerate(RXNREL_COLUMNS)}

TTY_PREFERENCE = (
    "SCD",
    "SBD",
    "GPCK",
    "BPCK",
    "SCDG",
    "SBDG",
    "SCDF",
    "SBDF",
    "SCDC",
    "SBDC",
    "IN",
    "PIN",
    "MIN",
    "BN",
    "DF",
    "DFG",
    "PSN",
    "SY",
    "TMSY",
    "ET",
)
_RANK = {tty: i for i, tty in enumerate(TTY_PREFERENCE)}

# For "RXCUI2 RELA RXCUI1": which of the two is the child (more specific) concept.
CHILD_SIDE = {
    "isa": 2,
    "inverse_isa": 1,
    "tradename_of": 2,
    "has_tradename": 1,
    "has_ingredient": 2,
    "ingredient_of": 1,
    "form_of": 2,
    "has_form": 1,
}
DEFAULT_RELAS = tuple(CHILD_SIDE)


def read_rxnorm(
    rxnconso: str | Path, rxnrel: str | Path | None = None, *, relas: Collection[str] = DEFAULT_RELAS
) -> VocabSource:
    """RxNorm concepts (RXCUI) with their RXNORM strings and the product -> ingredient hierarchy."""
    unknown = set(relas) - CHILD_SIDE.keys()
    if unknown:
        raise VocabularyError(
            f"unknown hierarchy RELA(s): {', '.join(sorted(unknown))}",
            fix=f"choose among {', '.join(CHILD_SIDE)}",
            code="E116",
        )
    skips = Skips()
    conso = require_file(rxnconso, "RxNorm RXNCONSO.RRF")
    best: dict[str, tuple[int, str]] = {}
    strings: dict[str, list[str]] = {}
    cui_of_atom: dict[str, str] = {}
    for f in read_rrf(conso, RXNCONSO_COLUMNS, skips):
        rxcui, text = f[_C["RXCUI"]].strip(), f[_C["STR"]].strip()
        if f[_C["SAB"]] != "RXNORM":
            skips.add("atom of another source (SAB)")
        elif f[_C["SUPPRESS"]] in ("O", "E", "Y"):
            skips.add("suppressed atom")
        elif not rxcui.isdigit() or not text:
            skips.add("atom with a malformed RXCUI or no string")
        else:
            rank = _RANK.get(f[_C["TTY"]], len(_RANK))
            if rxcui not in best or rank < best[rxcui][0]:
                best[rxcui] = (rank, text)
            strings.setdefault(rxcui, []).append(text)
            cui_of_atom[f[_C["RXAUI"]]] = rxcui
    vocab = Vocabulary()
    hier = Hierarchy(RXNORM)
    for rxcui, (_, name) in best.items():
        concept = vocab.add(RXNORM, rxcui, name, strings[rxcui])
        hier.add_node(concept.code)
    if rxnrel is not None:
        rel = require_file(rxnrel, "RxNorm RXNREL.RRF")
        for f in read_rrf(rel, RXNREL_COLUMNS, skips):
            rela = f[_R["RELA"]]
            if rela not in relas or f[_R["SAB"]] != "RXNORM":
                continue  # other relations are not hierarchy
            # concept-level rows carry RXCUIs, atom-level rows RXAUIs only
            one = f[_R["RXCUI1"]] or cui_of_atom.get(f[_R["RXAUI1"]], "")
            two = f[_R["RXCUI2"]] or cui_of_atom.get(f[_R["RXAUI2"]], "")
            child, parent = (two, one) if CHILD_SIDE[rela] == 2 else (one, two)
            if child in best and parent in best:
                hier.add_edge(child, parent)
            else:
                skips.add("hierarchy relation to a concept without RXNORM atoms")
    return VocabSource("RxNorm", vocab, {RXNORM: hier}, (), dict(skips))
