"""Raw code counts per patient (a sparse patient x code matrix), under the same as-of rules as the vectors.

Used for top codes by lift in cluster reports and as the raw-count baseline
features of risk models. Columns are the codes of the embedding cache, so counts
and vectors see exactly the same events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ehrfeat.codes import Code
from ehrfeat.patients.as_of import AsOf, resolve_as_of
from ehrfeat.patients.settings import VectorSettings, now_seconds
from ehrfeat.patients.timing import NAT
from ehrfeat.patients.vectors import PatientVectors, open_inputs, patient_weights
from ehrfeat.store.embeddings import DEFAULT_TABLE

__all__ = ["CodeCounts", "code_counts", "code_presence"]


@dataclass(frozen=True)
class CodeCounts:
    """``matrix[i, j]``: events of code ``codes[j]`` of patient ``patient_ids[i]`` before its as-of."""

    patient_ids: np.ndarray
    matrix: sp.csr_matrix
    codes: tuple[Code, ...]
    texts: tuple[str, ...]
    skipped: dict[str, int]


def code_counts(
    database: Any, *, as_of: Any = None, as_of_table: str | None = None, as_of_column: str | None = None,
    window: str | float | None = None, systems: Sequence[str] | None = None, table: str = DEFAULT_TABLE,
    fingerprint: str | None = None, patient_ids: np.ndarray | None = None,
) -> CodeCounts:
    """Counts of every cached code per patient (all patients, the as-of table's, or ``patient_ids`` in that order)."""
    settings = VectorSettings(
        weighting="count", as_of=as_of, as_of_table=as_of_table, as_of_column=as_of_column, window=window,
        systems=tuple(systems) if systems else None, table=table, fingerprint=fingerprint,
    )
    engine, schema, embeddings = open_inputs(database, settings)
    cohort = resolve_as_of(engine, schema, as_of=as_of, table=as_of_table, column=as_of_column, now_s=now_seconds())
    if patient_ids is not None:
        cohort = _restrict(cohort, np.asarray(patient_ids, np.int64))
    weights = patient_weights(engine, schema, cohort, embeddings, settings).weights
    matrix, ids = weights.matrix, cohort.patient_ids
    if patient_ids is not None:
        wanted_ids = np.asarray(patient_ids, np.int64)
        matrix, ids = matrix[np.searchsorted(ids, wanted_ids)], wanted_ids
    return CodeCounts(ids, matrix.tocsr(), embeddings.codes, embeddings.texts, weights.skipped)


def _restrict(cohort: AsOf, ids: np.ndarray) -> AsOf:
    """``cohort`` over exactly ``ids`` (sorted, unique); ids the cohort lacks get no as-of (the run's start)."""
    unique = np.unique(ids)
    pos = np.clip(np.searchsorted(cohort.patient_ids, unique), 0, max(len(cohort.patient_ids) - 1, 0))
    found = (cohort.patient_ids[pos] == unique) if len(cohort.patient_ids) else np.zeros(len(unique), bool)
    as_of = np.where(found, cohort.as_of_s[pos] if len(cohort.patient_ids) else NAT, NAT)
    return AsOf(unique, as_of.astype(np.int64), cohort.now_s, cohort.explicit, cohort.issues)


def code_presence(database: Any, vectors: PatientVectors) -> tuple[sp.csr_matrix, tuple[Code, ...], tuple[str, ...]]:
    """Counts aligned to ``vectors`` rows, with the settings recorded in ``vectors.params``."""
    p = vectors.params
    counts = code_counts(
        database, as_of=p.get("as_of"), as_of_table=p.get("as_of_table"), as_of_column=p.get("as_of_column"),
        window=p.get("window"), systems=p.get("systems"), table=p.get("table") or DEFAULT_TABLE,
        fingerprint=p.get("fingerprint"), patient_ids=vectors.patient_ids,
    )
    return counts.matrix, counts.codes, counts.texts
