"""UMLS Metathesaurus RRF files: ``MRCONSO.RRF`` (strings) and ``MRREL.RRF`` (relations).

Pipe-delimited, a trailing ``|``, no header, UTF-8. Concepts are keyed by
``("UMLS", CUI)``; the name is the concept's preferred string (``TS=P``,
``STT=PF``, ``ISPREF=Y``; else its first string) and every other string in
``languages`` is a synonym. Each source code (``SAB``/``CODE``, e.g. SNOMEDCT_US
``44054006``, ICD10CM ``E11.9``) becomes an alias ``(canonical_system(SAB), CODE)``
of its CUI; a source code that names several CUIs keeps its first CUI and is
counted. Suppressed strings (``SUPPRESS`` O, E or Y) are skipped.

MRREL's ``REL`` is the relationship the SECOND concept has to the FIRST: on a
``CUI1|..|PAR|CUI2`` row CUI2 is a parent of CUI1, on ``CHD`` CUI2 is its child.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from ehrfeat.codes import Code, canonical_system, normalize_code
from ehrfeat.errors import InputError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import UMLS, Skips, read_rrf, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["MRCONSO_COLUMNS", "MRREL_COLUMNS", "read_umls"]

MRCONSO_COLUMNS = (
    "CUI",
    "LAT",
    "TS",
    "LUI",
    "STT",
    "SUI",
    "ISPREF",
    "AUI",
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
MRREL_COLUMNS = (
    "CUI1",
    "AUI1",
    "STYPE1",
    "REL",
    "CUI2",
    "AUI2",
    "STYPE2",
    "RELA",
    "RUI",
    "SRUI",
    "SAB",
    "SL",
    "RG",
    "DIR",
    "SUPPRESS",
    "CVF",
)
_C = {name: i for i, name in enumerate(MRCONSO_COLUMNS)}
_R = {name: i for i, name in enumerate(MRREL_COLUMNS)}


def read_umls(
    mrconso: str | Path,
    mrrel: str | Path | None = None,
    *,
    sabs: Collection[str] | None = None,
    languages: Sequence[str] = ("ENG",),
) -> VocabSource:
    """UMLS concepts with their strings, source-code aliases and the PAR/CHD hierarchy.

    ``sabs`` restricts strings (and relations) to those source vocabularies.
    """
    skips = Skips()
    conso = require_file(mrconso, "UMLS MRCONSO.RRF")
    langs, wanted = set(languages), set(sabs) if sabs is not None else None
    names: dict[str, tuple[int, str]] = {}  # CUI -> (rank, name); rank 0 = TS=P, STT=PF, ISPREF=Y
    strings: dict[str, list[str]] = {}
    codes: dict[Code, str] = {}
    for f in read_rrf(conso, MRCONSO_COLUMNS, skips):
        cui, text = f[_C["CUI"]], f[_C["STR"]].strip()
        if f[_C["LAT"]] not in langs:
            skips.add("string in another language")
        elif wanted is not None and f[_C["SAB"]] not in wanted:
            skips.add("string of another source (SAB)")
        elif f[_C["SUPPRESS"]] in ("O", "E", "Y"):
            skips.add("suppressed string")
        elif not cui or not text:
            skips.add("row without a CUI or string")
        else:
            rank = 0 if (f[_C["TS"]], f[_C["STT"]], f[_C["ISPREF"]]) == ("P", "PF", "Y") else 1
            if cui not in names or rank < names[cui][0]:
                names[cui] = (rank, text)
            strings.setdefault(cui, []).append(text)
            if f[_C["CODE"]] in ("", "NOCODE"):
                continue  # Metathesaurus-only strings have no source code to alias
            try:
                ref = Code.parse(canonical_system(f[_C["SAB"]]), f[_C["CODE"]])
            except InputError:
                skips.add("source code that is malformed in its system (no alias)")
                continue
            if codes.setdefault(ref, cui) != cui:
                skips.add("source code naming several CUIs (alias kept for the first)")
    vocab = Vocabulary()
    hier = Hierarchy(UMLS)
    for cui, (_, name) in names.items():
        vocab.add(UMLS, cui, name, strings[cui])
        hier.add_node(cui)
    for ref, cui in codes.items():
        vocab.add_alias(ref.system, ref.code, Code(UMLS, normalize_code(UMLS, cui)))
    if mrrel is not None:
        rel = require_file(mrrel, "UMLS MRREL.RRF")
        for f in read_rrf(rel, MRREL_COLUMNS, skips):
            kind = f[_R["REL"]]
            if kind not in ("PAR", "CHD"):
                continue
            if wanted is not None and f[_R["SAB"]] not in wanted:
                skips.add("relation of another source (SAB)")
                continue
            if f[_R["SUPPRESS"]] in ("O", "E", "Y"):
                skips.add("suppressed relation")
                continue
            a, b = f[_R["CUI1"]], f[_R["CUI2"]]
            child, parent = (a, b) if kind == "PAR" else (b, a)
            if child in names and parent in names:
                hier.add_edge(child, parent)
            else:
                skips.add("PAR/CHD relation to a concept without strings")
    return VocabSource("UMLS", vocab, {UMLS: hier}, (), dict(skips))
