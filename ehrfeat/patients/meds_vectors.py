"""Patient vectors of a MEDS dataset at its prediction times: one row per (subject, prediction_time) of a label table.

``meds_patient_vectors("meds/", labels="labels.parquet")`` streams the shards once,
batch by batch, through :class:`~ehrfeat.patients.prediction_weights.PredictionAccumulator`
and combines the weights with the code vectors written by ``embed-codes`` exactly as
the SQL path does (mean, count, idf, time-decay; ``by_system`` blocks per code system).
MEDS lets a model use data up to and including the prediction time, so the default
as-of rule is ``inclusive``; ``strict`` keeps only events before it, as ehrfeat does for
OMOP and native databases. Without a label table, every subject gets one row at the
run's start time. Labels are carried through to the output.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.paths import atomic_file
from ehrfeat.patients.as_of_rule import rule_line
from ehrfeat.patients.prediction_weights import MedsColumns, meds_weights
from ehrfeat.patients.product import combine
from ehrfeat.patients.results import EventReport, embedding_columns
from ehrfeat.patients.settings import VectorSettings, now_seconds
from ehrfeat.patients.weights import smooth_idf
from ehrfeat.report import Summary
from ehrfeat.store.meds.code_vectors import MedsCodeVectors, read_code_vectors
from ehrfeat.store.meds.dataset import MedsDataset, open_meds
from ehrfeat.store.meds.labels import UNKNOWN_SUBJECT, PredictionTimes, from_arrays, read_labels

__all__ = [
    "MedsVectorReport", "PredictionVectors", "check_prediction_output", "meds_patient_vectors", "meds_settings",
    "write_prediction_vectors",
]

logger = logging.getLogger(__name__)

NOT_SELECTED = "code of a system not selected (--systems)"
PREDICTION_KEYS = ("subject_id", "prediction_time", "n_events", "no_codes")  # every prediction-vector file has them


@dataclass(frozen=True, kw_only=True)
class MedsVectorReport(EventReport):
    """Counts of one run: prediction rows, events used and skipped by reason, shard and label-table issues."""

    rows: int
    rows_without_codes: int
    subjects: int
    as_of_rule: str
    label_issues: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        head = Summary(24).text(rule_line(self.as_of_rule)).fields([
            ("prediction rows", f"{self.rows} ({self.subjects} subjects)"),
            ("  without usable codes", f"{self.rows_without_codes} (zero rows, flagged no_codes)"),
        ])
        out = self._summary(head, "reading the shards:").reasons(self.label_issues, heading="label table:", width=9)
        return out.field("elapsed", f"{self.elapsed_s:.1f} s ({self.events_per_s:,.0f} events/s)").lines


@dataclass(frozen=True)
class PredictionVectors:
    """``matrix[i]`` (float32) is the vector of ``subject_id[i]`` at ``prediction_time[i]``; labels carried through."""

    subject_id: np.ndarray
    prediction_time: np.ndarray  # datetime64[us]
    matrix: np.ndarray
    columns: tuple[str, ...]
    n_events: np.ndarray
    no_codes: np.ndarray
    labels: dict[str, Any] = field(default_factory=dict)  # name -> pyarrow array
    report: MedsVectorReport | None = None
    params: dict[str, Any] = field(default_factory=dict)
    idf: np.ndarray | None = None  # the idf weights used (idf weighting), over the columns of every block

    def __len__(self) -> int:
        return len(self.subject_id)

    def to_frame(self) -> Any:
        """A pandas DataFrame: ``subject_id``, ``prediction_time``, the labels, ``n_events``, ``no_codes``, the vector."""
        import pandas as pd

        head = {"subject_id": self.subject_id, "prediction_time": self.prediction_time}
        head.update({k: v.to_pandas() for k, v in self.labels.items()})
        head.update({"n_events": self.n_events, "no_codes": self.no_codes})
        return pd.concat([pd.DataFrame(head), pd.DataFrame(self.matrix, columns=list(self.columns))], axis=1)


def _embeddings(dataset: MedsDataset, path: str | Path | None, fingerprint: str | None) -> MedsCodeVectors:
    vectors = read_code_vectors(path or dataset.embeddings_path)
    if fingerprint is not None and vectors.fingerprint != fingerprint:
        raise InputError(f"code vectors in {path or dataset.embeddings_path} are of encoder {vectors.fingerprint}, not {fingerprint}",
                         fix="run `ehrfeat embed-codes MEDS_DIR --model ...` for that encoder with its own --out", code="E1507")
    if len(vectors) == 0:
        raise InputError(f"{path or dataset.embeddings_path} holds no code vectors", fix="run `ehrfeat embed-codes MEDS_DIR` first",
                         code="E1508")
    return vectors


def meds_settings(settings: VectorSettings | None = None, **options: Any) -> VectorSettings:
    """The :class:`VectorSettings` of a MEDS run: ``settings`` with ``options`` over them, or ``options``
    alone over the MEDS default, the ``inclusive`` as-of rule."""
    if settings is None:
        return VectorSettings(**{"as_of_rule": "inclusive", **options})
    return settings.with_(**options) if options else settings


def meds_patient_vectors(
    meds_dir: str | Path | MedsDataset,
    settings: VectorSettings | None = None,
    *,
    labels: str | Path | PredictionTimes | None = None,
    embeddings: str | Path | None = None,
    static: bool = True,
    idf: np.ndarray | None = None,
    batch_size: int = 262_144,
    **options: Any,
) -> PredictionVectors:
    """Vectors at every (subject, prediction_time) of ``labels`` (a MEDS label table), or of every subject now.

    Pass a :class:`VectorSettings`, or its fields as keywords (``weighting="idf"``, ``window="365d"``,
    ``as_of_rule="strict"``, ``systems=[...]``, ``fingerprint=...``; see :func:`meds_settings`).
    """
    started = time.perf_counter()
    settings = meds_settings(settings, **options)
    dataset = meds_dir if isinstance(meds_dir, MedsDataset) else open_meds(meds_dir)
    vectors = _embeddings(dataset, embeddings, settings.fingerprint)
    now_us = now_seconds() * 1_000_000
    if labels is None:
        subjects = dataset.subject_ids()
        rows = from_arrays(subjects, np.full(len(subjects), now_us, "datetime64[us]"))
        settings = settings.with_(as_of_rule="strict")
    else:
        rows = labels if isinstance(labels, PredictionTimes) else read_labels(labels)
    columns = MedsColumns.of(vectors, settings)
    weights, seen, read_issues, not_selected = meds_weights(dataset, rows, columns, settings, now_us=now_us,
                                                            static=static, batch_size=batch_size)
    everyone = bool(seen.all())
    if idf is None and settings.weighting == "idf":
        idf = smooth_idf(weights.matrix if everyone else weights.matrix[np.flatnonzero(seen)])
    matrix = combine(weights, columns.matrix, settings.weighting, idf)
    kept = rows.keep(seen, UNKNOWN_SUBJECT)
    n_events = weights.n_events
    if not everyone:  # rows of subjects not in the data are dropped (counted in the label issues)
        where = np.flatnonzero(seen)
        matrix, n_events = matrix[where], n_events[where]
    no_codes = n_events == 0
    skipped = dict(weights.skipped) | ({NOT_SELECTED: not_selected} if not_selected else {})
    report = MedsVectorReport(
        rows=len(kept), rows_without_codes=int(no_codes.sum()), subjects=len(np.unique(kept.subject_id)),
        events_read=weights.events_read + not_selected,
        events_used=weights.events_read - sum(weights.skipped.values()), as_of_rule=settings.as_of_rule, skipped=skipped,
        read_issues=read_issues, label_issues=kept.issues, elapsed_s=time.perf_counter() - started,
    )
    recorded = settings.params()
    params = {
        "meds_dir": str(dataset.root), "fingerprint": vectors.fingerprint, "as_of_rule": settings.as_of_rule,
        "labels": str(labels) if isinstance(labels, str | Path) else None,
        **{key: recorded[key] for key in ("window", "weighting", "half_life")},
        "systems": sorted(settings.systems) if settings.systems else None, "by_system": settings.by_system,
        "blocks": list(weights.blocks), "static_rows": static,
    }
    return PredictionVectors(
        subject_id=kept.subject_id, prediction_time=kept.prediction_us.astype("datetime64[us]"), matrix=matrix,
        columns=embedding_columns(weights.blocks, vectors.dim, settings.by_system), n_events=n_events, no_codes=no_codes,
        labels=kept.labels, report=report, params=params, idf=idf if settings.weighting == "idf" else None,
    )


def check_prediction_output(path: str | Path) -> Path:
    """Refuse, before any work, an output that is not ``.parquet`` or cannot be written."""
    from ehrfeat.paths import check_output_file, parquet_has_columns

    path = Path(path)
    if path.suffix.lower() != ".parquet":
        raise InputError(f"MEDS patient vectors are written as parquet, not {path.name!r}", fix="end --out with .parquet",
                         code="E1512")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", fix=f"mkdir -p {path.parent}", code="E1510")
    check_output_file(path, "patient-vector file", ours=lambda p: parquet_has_columns(p, PREDICTION_KEYS))
    return path


def write_prediction_vectors(vectors: PredictionVectors, path: str | Path) -> Path:
    """Parquet keyed by ``subject_id``, ``prediction_time``: labels, ``n_events``, ``no_codes``, ``emb_000 ..``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = check_prediction_output(path)
    params = vectors.params
    columns: dict[str, Any] = {
        "subject_id": pa.array(vectors.subject_id, pa.int64()),
        "prediction_time": pa.array(vectors.prediction_time, pa.timestamp("us")),
    }
    columns.update(vectors.labels)
    columns["n_events"] = pa.array(vectors.n_events, pa.int64())
    columns["no_codes"] = pa.array(vectors.no_codes, pa.bool_())
    for j, name in enumerate(vectors.columns):
        columns[name] = pa.array(np.ascontiguousarray(vectors.matrix[:, j]), pa.float32())
    table = pa.table(columns).replace_schema_metadata({b"ehrfeat": json.dumps(params).encode()})
    with atomic_file(path) as tmp:  # a killed run never leaves half a file
        pq.write_table(table, tmp)
    return path
