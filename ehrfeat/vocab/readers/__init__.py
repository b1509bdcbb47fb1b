"""Vocabulary readers: one module per source format, each returning a :class:`~ehrfeat.vocab.VocabSource`.

Rows a reader cannot use are counted by reason in ``VocabSource.skipped``; a
missing file or a file in the wrong format raises
:class:`~ehrfeat.errors.VocabularyError` naming the file and the fix.
"""

from __future__ import annotations

from ehrfeat.vocab.readers.athena import read_athena
from ehrfeat.vocab.readers.athena_db import read_athena_db
from ehrfeat.vocab.readers.icd9cm import read_icd9cm
from ehrfeat.vocab.readers.icd10cm import read_icd10cm
from ehrfeat.vocab.readers.loinc import read_loinc
from ehrfeat.vocab.readers.mesh import read_mesh
from ehrfeat.vocab.readers.obo import read_hpo, read_obo
from ehrfeat.vocab.readers.obograph import read_obograph
from ehrfeat.vocab.readers.phecode import read_phecode
from ehrfeat.vocab.readers.rxnorm import read_rxnorm
from ehrfeat.vocab.readers.sssom import read_sssom
from ehrfeat.vocab.readers.umls import read_umls

__all__ = [
    "read_athena",
    "read_athena_db",
    "read_hpo",
    "read_icd9cm",
    "read_icd10cm",
    "read_loinc",
    "read_mesh",
    "read_obo",
    "read_obograph",
    "read_phecode",
    "read_rxnorm",
    "read_sssom",
    "read_umls",
]
