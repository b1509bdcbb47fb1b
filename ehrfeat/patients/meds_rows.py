"""``PatientEmbedder`` on a MEDS dataset: rows of ``X`` are (subject, prediction time) pairs, in any order.

``X`` is a DataFrame with ``subject_id`` (or ``patient_id``) and ``prediction_time``
(or the embedder's ``as_of_column``); rows may repeat and come in any order, and the
output has one row per row of ``X``. Without a time column every row is at the run's
start. What ``fit`` learns (idf) comes from the fit rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.meds_vectors import PredictionVectors, meds_patient_vectors
from ehrfeat.patients.settings import VectorSettings
from ehrfeat.store.meds.labels import NULL_PREDICTION_TIME, NULL_SUBJECT, from_arrays

__all__ = ["MedsRows", "meds_rows", "meds_vectors_for_rows"]


@dataclass(frozen=True)
class MedsRows:
    subject_id: np.ndarray  # int64, one per row of X
    prediction_us: np.ndarray  # int64, one per row of X


def meds_rows(X: Any, time_column: str, now_us: int) -> MedsRows:
    """The (subject, prediction time) of each row of ``X``; rows without a usable subject or time are an error."""
    if not hasattr(X, "columns"):
        raise InputError("on a MEDS dataset X must be a DataFrame with subject_id and prediction_time",
                         fix="pass e.g. a MEDS label table read with pandas", code="E1517")
    subject = "subject_id" if "subject_id" in X.columns else "patient_id" if "patient_id" in X.columns else None
    if subject is None:
        raise InputError("X has no subject_id column", fix="pass a DataFrame with subject_id and prediction_time", code="E1517")
    when = next((c for c in ("prediction_time", time_column) if c in X.columns), None)
    times = _times_us(X[when]) if when is not None else np.full(len(X), now_us, np.int64)
    ids = X[subject].to_numpy()
    if np.isnat(times.view("datetime64[us]")).any() or X[subject].isna().any():
        raise InputError("X has rows without a subject_id or prediction_time", fix="drop or fill them first", code="E1517")
    return MedsRows(np.asarray(ids, np.int64), times)


def _times_us(column: Any) -> np.ndarray:
    """Microseconds of a time column: datetimes as they are (tz-aware ones in UTC), anything else (ISO text,
    epoch seconds, ``yyyymmdd``) through the one time reader of the stores, :func:`ehrfeat.store.dates.parse_times`."""
    import pandas as pd

    from ehrfeat.store.dates import parse_times

    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        stamps = pd.to_datetime(column, utc=True).dt.tz_localize(None)
        return np.asarray(stamps.to_numpy(dtype="datetime64[us]")).astype(np.int64)
    seconds = parse_times(np.asarray(column.to_numpy(), dtype=object)).times
    return seconds.astype("datetime64[us]").astype(np.int64)


def meds_vectors_for_rows(meds_dir: str | Path, rows: MedsRows, settings: VectorSettings, *, idf: np.ndarray | None,
                          embeddings: str | Path | None = None) -> tuple[np.ndarray, PredictionVectors]:
    """Vectors for each row of ``rows`` (zero rows for subjects not in the data), and the unique-row result."""
    labels = from_arrays(rows.subject_id, rows.prediction_us.astype("datetime64[us]"))
    issues = {k: v for k, v in labels.issues.items() if k in (NULL_SUBJECT, NULL_PREDICTION_TIME)}
    if issues:
        raise InputError(f"X has rows that cannot be used: {issues}", fix="drop or fill them first", code="E1517")
    vectors = meds_patient_vectors(meds_dir, settings, labels=labels, idf=idf, embeddings=embeddings)
    import pandas as pd

    index = pd.MultiIndex.from_arrays([vectors.subject_id, vectors.prediction_time.astype(np.int64)])
    pos = index.get_indexer(pd.MultiIndex.from_arrays([rows.subject_id, rows.prediction_us]))
    out = np.zeros((len(pos), vectors.matrix.shape[1]), np.float32)
    found = pos >= 0
    out[found] = vectors.matrix[pos[found]]
    return out, vectors
