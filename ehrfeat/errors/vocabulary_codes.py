"""Codes of :class:`~ehrfeat.errors.VocabularyError`: vocabulary files and the pairs made from them."""

from __future__ import annotations

from ehrfeat.errors import VocabularyError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["VOCABULARY_CODES"]

_V = VocabularyError

VOCABULARY_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("E111", _V, "A vocabulary file is not found.", "Pass the path of the file (check the folder and the file name's case).", ("vocab.readers._io",)),
    ErrorCode("E112", _V, "A vocabulary file is empty or not in the format its reader reads (header, columns, fields per line).", "Pass the file as released by its publisher; the message names what is missing.", ("vocab.readers._io", "vocab.readers.athena_db", "vocab.readers.icd9cm", "vocab.readers.obo", "vocab.readers.obograph")),
    ErrorCode("E113", _V, "A vocabulary file is not valid text in its encoding.", "Re-export the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).", ("vocab.readers._io",)),
    ErrorCode("E114", _V, "An identifier is not a CURIE.", "Identifiers look like PREFIX:LOCAL (e.g. DOID:8718).", ("vocab.readers._io",)),
    ErrorCode("E115", _V, "The package a vocabulary reader needs is not installed.", "pip install the package the message names.", ("vocab.readers.icd10cm",)),
    ErrorCode("E116", _V, "An RxNorm hierarchy relation (RELA) is unknown.", "Choose among the relations the message lists.", ("vocab.readers.rxnorm",)),
    ErrorCode("E117", _V, "A training source yields too few codes with text to make pairs.", "Check the reader's input files and read the names along with the hierarchy, or switch the hierarchy off for that source.", ("training.pairs", "training.phecode_pairs")),
    ErrorCode("E118", _V, "The database has no OMOP concept table.", "Pass the database (and schema=) holding the OMOP vocabulary tables.", ("vocab.readers.athena_db",)),
)
