"""The distinct raw codes of a native SQLite events table with their counts, in one packed pass (``embed-codes`` discovery).

``SELECT code_system, code, count(*), count(patient_id), count(DISTINCT patient_id)
... GROUP BY code_system, code`` makes SQLite sort every row (or walk an index). Here
each rowid range comes back packed as in the database path of
:mod:`ehrfeat.store.coded_sqlite` (patient ids parsed by numpy, code keys split and
dictionary-encoded by pyarrow) and numpy counts: events per raw code, rows without a
patient, and distinct patients (one sort of packed ``(code, patient)`` values at the
end). The rows are those of the GROUP BY, in its order (SQLite's order of the raw stored values).
:class:`~ehrfeat.store.coded_events.Unsupported` (then the GROUP BY runs) for patient
ids that are not integers in ``[0, 2**40)``, tables without dense rowids, and codes
that hold the packing separators.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, Engine

from ehrfeat.store.coded_events import PID_NULL, Unsupported
from ehrfeat.store.coded_keys import Known, decode_key, split_keys
from ehrfeat.store.coded_sqlite import _KEY, _PID, PID_BAD, ROWS_PER_QUERY, _rowids
from ehrfeat.store.records import sorted_unique
from ehrfeat.store.sqlite_workers import Worker as _Worker
from ehrfeat.store.sqlite_workers import reader_team

__all__ = ["raw_code_counts"]

logger = logging.getLogger(__name__)

_PID_BITS = 40  # packed (code << 40 | patient): patient ids in [0, 2**40), up to 2**23 distinct raw codes


def _counts_range(_: _Worker, conn: Connection, query: str, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    pid_text, keys_text = conn.exec_driver_sql(query, (start, stop)).one()
    pids = np.fromstring(pid_text, dtype=np.int64, sep=",") if pid_text else np.zeros(0, np.int64)
    split = split_keys(keys_text, len(pids))
    if split is None:
        raise Unsupported("a code holds a packing separator")
    nulls = pids == PID_NULL
    if ((pids != PID_NULL) & ((pids < 0) | (pids >= 1 << _PID_BITS))).any() or (pids == PID_BAD).any():
        raise Unsupported("patient ids that are not integers in [0, 2**40)")
    return pids, nulls, split[0], split[1]


def raw_code_counts(engine: Engine, events: str, workers: int | None = None) -> list[tuple[object, object, int, int, int]]:
    """``(code_system, code, rows, rows with a patient, distinct patients)`` per distinct raw pair of ``events`` (quoted)."""
    first = _Worker(engine)
    team: list[Any] = [first]
    known = Known()
    ids: dict[str, int] = {}

    def new_id(key: str) -> int:
        return ids.setdefault(key, len(ids))

    rows_all, rows_pid = np.zeros(0, np.int64), np.zeros(0, np.int64)
    packed: list[np.ndarray] = []
    try:
        low, high = first.submit(_rowids, events).result()
        team = reader_team(engine, high - low + 1, first, workers)
        query = f"SELECT group_concat({_PID}, ','), group_concat({_KEY}, char(30)) FROM {events} e NOT INDEXED WHERE e.rowid >= ? AND e.rowid < ?"
        parts: deque[Future[tuple[np.ndarray, np.ndarray, np.ndarray, Any]]] = deque()
        starts = list(range(low, high + 1, ROWS_PER_QUERY))
        for i, start in enumerate(starts + [None] * len(team)):
            if start is not None:
                parts.append(team[i % len(team)].submit(_counts_range, query, start, start + ROWS_PER_QUERY))
            if (len(parts) <= len(team) and start is not None) or not parts:
                continue
            pids, nulls, index, keys = parts.popleft().result()
            code = known.lookup(keys, new_id)[index]
            if len(ids) >= 1 << (63 - _PID_BITS):
                raise Unsupported("too many distinct raw codes to pack")
            size = max(len(ids), len(rows_all))
            rows_all = np.bincount(code, minlength=size) + np.pad(rows_all, (0, size - len(rows_all)))
            rows_pid = np.bincount(code[~nulls], minlength=size) + np.pad(rows_pid, (0, size - len(rows_pid)))
            packed.append(sorted_unique((code[~nulls] << _PID_BITS) | pids[~nulls]))
    finally:
        for worker in (first, *team):  # close is idempotent: first may be in team
            worker.close()
    pairs = sorted_unique(np.concatenate(packed)) if packed else np.zeros(0, np.int64)
    patients = np.bincount(pairs >> _PID_BITS, minlength=len(ids))
    out = []
    for key, i in ids.items():
        system, code_value = decode_key(key)
        out.append((system, code_value, int(rows_all[i]), int(rows_pid[i]), int(patients[i])))
    out.sort(key=lambda row: (_order(row[0]), _order(row[1])))
    return out


def _order(value: object) -> tuple[int, object]:
    """SQLite's order of values (NULL, numbers, text, blobs), so the rows come in the GROUP BY's order."""
    if value is None:
        return 0, 0
    if isinstance(value, int | float):
        return 1, value
    return (2, value) if isinstance(value, str) else (3, value if isinstance(value, bytes) else repr(value))
