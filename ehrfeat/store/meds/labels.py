"""A MEDS label table (``subject_id``, ``prediction_time``, ``boolean_value``/``integer_value``/...): the prediction times.

A parquet file or a folder of parquet files (labels are often sharded). Rows are
sorted by subject and prediction time; rows that cannot be used are counted by
reason, never fatal: a null subject or prediction time, and a (subject, time) listed
twice (the first row is kept). Every other column is a label, carried through.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.store.meds.columns import NAT, time_us

__all__ = ["NULL_PREDICTION_TIME", "NULL_SUBJECT", "REPEATED", "UNKNOWN_SUBJECT", "PredictionTimes", "read_labels"]

NULL_SUBJECT = "null subject_id (label row dropped)"
NULL_PREDICTION_TIME = "null prediction_time (label row dropped)"
REPEATED = "same subject and prediction_time listed again (first row kept)"
UNKNOWN_SUBJECT = "subject not in the data (label row dropped)"
_FIX = "a MEDS label table (meds.LabelSchema) has subject_id int64, prediction_time timestamp[us] and label columns"


@dataclass(frozen=True)
class PredictionTimes:
    """Label rows sorted by (subject, prediction time); ``labels`` are pyarrow arrays in that order."""

    subject_id: np.ndarray  # int64
    prediction_us: np.ndarray  # int64 microseconds
    labels: dict[str, Any] = field(default_factory=dict)
    issues: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.subject_id)

    def keep(self, mask: np.ndarray, reason: str) -> PredictionTimes:
        """Only the rows of ``mask``; the others are counted under ``reason``."""
        dropped = int((~mask).sum())
        if not dropped:
            return self
        issues = dict(self.issues)
        issues[reason] = issues.get(reason, 0) + dropped
        where = np.flatnonzero(mask)
        return PredictionTimes(self.subject_id[where], self.prediction_us[where],
                               {k: v.take(where) for k, v in self.labels.items()}, issues)


def from_arrays(subject_id: Any, prediction_time: Any, labels: dict[str, Any] | None = None) -> PredictionTimes:
    """Label rows from columns (pyarrow arrays, or anything ``pyarrow.array`` takes)."""
    import pyarrow as pa

    subject = subject_id if isinstance(subject_id, pa.Array | pa.ChunkedArray) else pa.array(subject_id)
    when = prediction_time if isinstance(prediction_time, pa.Array | pa.ChunkedArray) else pa.array(prediction_time)
    if not (pa.types.is_timestamp(when.type) or pa.types.is_date(when.type)):
        when = pa.array(np.asarray(when.to_pylist(), dtype="datetime64[us]"))
    label_arrays = {k: (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v if isinstance(v, pa.Array) else pa.array(v))
                    for k, v in (labels or {}).items()}
    issues: Counter[str] = Counter()
    sid_null = subject.is_null().to_numpy(zero_copy_only=False)
    sid = np.asarray(subject.fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)
    t = time_us(when)
    ok = ~sid_null
    issues[NULL_SUBJECT] += int(sid_null.sum())
    issues[NULL_PREDICTION_TIME] += int((ok & (t == NAT)).sum())
    ok &= t != NAT
    where = np.flatnonzero(ok)
    order = where[np.lexsort((where, t[where], sid[where]))]  # stable: the first of repeated rows comes first
    s, p = sid[order], t[order]
    first = np.ones(len(order), bool)
    first[1:] = (s[1:] != s[:-1]) | (p[1:] != p[:-1])
    issues[REPEATED] += int((~first).sum())
    order = order[first]
    return PredictionTimes(sid[order], t[order], {k: v.take(pa.array(order)) for k, v in label_arrays.items()},
                           {k: v for k, v in issues.items() if v})


def read_labels(path: str | Path) -> PredictionTimes:
    """Read a label table (one parquet file or a folder of them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"label table {p} does not exist", fix=f"give a parquet file or folder; {_FIX}", code="E1506")
    try:
        table = pq.read_table(p)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InputError(f"label table {p} is not readable parquet: {exc}", fix=_FIX, code="E1506") from exc
    names = {n.lower(): n for n in table.column_names}
    subject = names.get("subject_id") or names.get("patient_id")
    when = names.get("prediction_time") or names.get("as_of")
    if subject is None or when is None:
        raise InputError(f"label table {p} needs subject_id and prediction_time columns (it has: {', '.join(table.column_names)})",
                         fix=_FIX, code="E1506")
    sid_type, time_type = table.schema.field(subject).type, table.schema.field(when).type
    if not pa.types.is_integer(sid_type):
        raise InputError(f"label table {p}: {subject} is {sid_type}, not int64", fix=_FIX, code="E1506")
    if not (pa.types.is_timestamp(time_type) or pa.types.is_date(time_type)):
        raise InputError(f"label table {p}: {when} is {time_type}, not timestamp[us]", fix=_FIX, code="E1506")
    labels = {n: table.column(n).combine_chunks() for n in table.column_names if n not in (subject, when)}
    return from_arrays(table.column(subject).combine_chunks(), table.column(when).combine_chunks(), labels)
