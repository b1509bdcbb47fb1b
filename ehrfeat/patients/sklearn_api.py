"""``PatientEmbedder``: patient vectors as a scikit-learn transformer, for pipelines and cross-validation.

``X`` names patients, not features: a 1-D array of patient ids, or a DataFrame with a
``patient_id`` column and optionally an as-of column (``as_of_column``, default
``as_of``; each row's as-of time). On a MEDS dataset ``X`` is a DataFrame of
``subject_id`` and ``prediction_time`` rows (:mod:`ehrfeat.patients.meds_rows`), and
``as_of_rule`` defaults to ``inclusive``. What the embedder learns (``idf_``, the code
blocks ``blocks_`` of ``by_system``) comes from the patients given to :meth:`fit`
only, so inside ``cross_val_score`` a test fold never informs its own features.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ehrfeat.errors import InputError
from ehrfeat.patients.as_of import AsOf, cohort_from_rows
from ehrfeat.patients.product import combine
from ehrfeat.patients.results import embedding_columns
from ehrfeat.patients.settings import DEFAULT_CHUNK, VectorSettings, now_seconds
from ehrfeat.patients.timing import NAT, parse_as_of
from ehrfeat.patients.vectors import open_inputs, patient_weights
from ehrfeat.patients.weights import Weights, smooth_idf
from ehrfeat.store.embeddings import DEFAULT_TABLE

__all__ = ["PatientEmbedder"]

logger = logging.getLogger(__name__)


class PatientEmbedder(TransformerMixin, BaseEstimator):
    """Patient ids (and as-of times) -> patient vectors from the cached code embeddings of ``database``."""

    def __init__(
        self,
        database: str | Path,
        *,
        weighting: str = "mean",
        window: str | float | None = None,
        half_life: str | float | None = "180d",
        systems: Sequence[str] | None = None,
        by_system: bool = False,
        as_of: str | None = None,
        as_of_column: str = "as_of",
        fingerprint: str | None = None,
        table: str = DEFAULT_TABLE,
        chunk_size: int = DEFAULT_CHUNK,
        aggregate: str = "auto",
        create_indexes: bool = False,
        as_of_rule: str | None = None,
        embeddings: str | Path | None = None,
    ) -> None:
        self.database = database
        self.weighting = weighting
        self.window = window
        self.half_life = half_life
        self.systems = systems
        self.by_system = by_system
        self.as_of = as_of
        self.as_of_column = as_of_column
        self.fingerprint = fingerprint
        self.table = table
        self.chunk_size = chunk_size
        self.aggregate = aggregate
        self.create_indexes = create_indexes
        self.as_of_rule = as_of_rule
        self.embeddings = embeddings

    # -- helpers ----------------------------------------------------------------
    def settings(self) -> VectorSettings:
        """The :class:`VectorSettings` of this embedder's parameters (the as-of of ``X`` rows comes with ``X``)."""
        return VectorSettings(
            weighting=self.weighting, window=self.window, half_life=self.half_life,
            systems=tuple(self.systems) if self.systems else None, by_system=self.by_system, as_of=self.as_of,
            fingerprint=self.fingerprint, table=self.table, chunk_size=self.chunk_size, aggregate=self.aggregate,
            create_indexes=self.create_indexes, as_of_rule=self.as_of_rule or "strict",
        )

    def _rows(self, X: Any) -> tuple[np.ndarray, AsOf, np.ndarray]:
        """Patient id of each row of ``X``, the cohort (unique ids), and each row's position in it."""
        now_s = now_seconds()
        if hasattr(X, "columns"):
            if "patient_id" not in X.columns:
                raise InputError("X has no patient_id column", fix="pass a DataFrame with patient_id (and as_of)", code="E160")
            ids = X["patient_id"].to_numpy()
            dates = X[self.as_of_column].to_numpy() if self.as_of_column in X.columns else None
        else:
            arr = np.asarray(X)
            ids = arr.ravel() if arr.ndim == 1 or arr.shape[1] == 1 else None
            if ids is None:
                raise InputError(f"X of shape {arr.shape} is not a list of patient ids", fix="pass ids or a DataFrame", code="E160")
            dates = None
        if dates is None and self.as_of is not None:
            dates = np.full(len(ids), str(parse_as_of(self.as_of)), dtype=object)
        if dates is None:
            dates = np.full(len(ids), str(np.datetime64(now_s, "s")), dtype=object)
        cohort = cohort_from_rows(ids, dates, None, now_s)
        unusable = {k: v for k, v in cohort.issues.items() if not k.startswith("patient listed more than once")}
        if unusable:
            raise InputError(f"X has rows that cannot be used: {unusable}", fix="give integer patient ids and valid as-of dates", code="E161")
        pid = np.asarray(ids).astype(np.int64)
        pos = np.searchsorted(cohort.patient_ids, pid)
        if cohort.issues:  # a patient listed twice: allowed only with the same as-of
            _check_repeats(pid, dates)
        explicit = self.as_of is not None or (hasattr(X, "columns") and self.as_of_column in X.columns)
        as_of = cohort.as_of_s if explicit else np.full(len(cohort.patient_ids), NAT, np.int64)
        return pid, AsOf(cohort.patient_ids, as_of, now_s, explicit), pos

    def _weights(self, X: Any, blocks: Sequence[str] | None) -> tuple[Weights, np.ndarray, Any]:
        settings = self.settings()
        engine, schema, embeddings = open_inputs(self.database, settings, getattr(self, "fingerprint_", None))
        _, cohort, pos = self._rows(X)
        weights = patient_weights(engine, schema, cohort, embeddings, settings, blocks=blocks).weights
        return weights, pos, embeddings

    def _is_meds(self) -> bool:
        from ehrfeat.store.meds.dataset import looks_like_meds

        return isinstance(self.database, str | Path) and looks_like_meds(self.database)

    def _meds(self, X: Any, idf: np.ndarray | None) -> tuple[np.ndarray, Any]:
        from ehrfeat.patients.meds_rows import meds_rows, meds_vectors_for_rows

        rows = meds_rows(X, self.as_of_column, now_seconds() * 1_000_000)
        settings = self.settings().with_(as_of_rule=self.as_of_rule or "inclusive",
                                         fingerprint=getattr(self, "fingerprint_", self.fingerprint))
        return meds_vectors_for_rows(self.database, rows, settings, idf=idf, embeddings=self.embeddings)

    # -- scikit-learn API -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> PatientEmbedder:
        """Learn the encoder fingerprint, code blocks and (``idf``) idf weights from the patients of ``X``."""
        if self._is_meds():
            _, vectors = self._meds(X, None)
            self.fingerprint_ = vectors.params["fingerprint"]
            self.blocks_ = tuple(vectors.params["blocks"])
            self.idf_ = vectors.idf
            self.feature_names_out_ = vectors.columns
            self.n_features_in_ = X.shape[1]
            return self
        weights, _, embeddings = self._weights(X, None)
        self.fingerprint_ = embeddings.fingerprint
        self.blocks_ = weights.blocks
        self.idf_ = smooth_idf(weights.matrix) if self.weighting == "idf" else None
        self.feature_names_out_ = embedding_columns(weights.blocks, embeddings.dim, self.by_system)
        self.n_features_in_ = X.shape[1] if hasattr(X, "columns") else 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Vectors (float32, one row per row of ``X``); patients without usable codes get zero rows."""
        check_is_fitted(self, "feature_names_out_")
        if self._is_meds():
            return self._meds(X, self.idf_)[0]
        weights, pos, embeddings = self._weights(X, self.blocks_)
        matrix = combine(weights, embeddings.matrix, self.weighting, self.idf_)
        empty = int((weights.n_events[pos] == 0).sum())
        if empty:
            logger.warning("%d of %d patients have no usable code: their rows are zero", empty, len(pos))
        return matrix[pos]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)


def _check_repeats(pid: np.ndarray, dates: Any) -> None:
    seen: dict[int, Any] = {}
    for p, d in zip(pid.tolist(), list(dates), strict=True):
        if p in seen and str(seen[p]) != str(d):
            raise InputError(
                f"patient {p} appears in X with two as-of dates",
                fix="give each patient one row (one as-of); vectors of one patient at several dates need several calls",
                code="E162",
            )
        seen[p] = d
