"""The database path on SQLite: one pass over the events, packed into text values per range of rows.

Each query reads one rowid range (``NOT INDEXED``: rowid order, as the per-event
reader) and returns ``group_concat`` texts: the patient ids (numpy parses them in
C), the raw code keys (pyarrow splits and dictionary-encodes them in C; only keys
not seen before reach Python, where each is canonicalised once, see
:mod:`ehrfeat.store.coded_keys`) and the raw time texts. Strict ISO times are read
from the Arrow bytes (:mod:`ehrfeat.store.iso_bytes`); every other value goes through
the time reader; each distinct time text of a range is read once. A range whose times are not all text or
null (numbers, blobs), or hold a separator, is read again with the times converted
in SQL (:func:`~ehrfeat.store.coded_events.sql_time_seconds`): values SQL cannot vouch
for come back as a marker holding the rowid, and those rows alone are read again.
Nothing is scanned before the ranges: no DISTINCT over codes or times, no temporary
table, no join.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.store.coded_events import (
    MALFORMED,
    MAX_ROWID,
    NOT_CACHED,
    NULL_CODE,
    PID_NULL,
    TIME_MARK,
    CodedChunk,
    Unsupported,
    _cut,
    _read,
    cached_reader_seconds,
    dictionary_seconds,
    sql_time_seconds,
)
from ehrfeat.store.coded_keys import RS, Known, decode_key, split_keys, typed_key
from ehrfeat.store.native import CodeNormalizer, _system_of
from ehrfeat.store.records import EventReadReport, Key, SkipReason
from ehrfeat.store.sqlite_workers import Worker as _Worker
from ehrfeat.store.sqlite_workers import reader_team

__all__ = ["iter_coded_sqlite"]

logger = logging.getLogger(__name__)

ROWS_PER_QUERY = 250_000
PID_BAD = PID_NULL + 1  # a patient id that is not an integer
_KEY = ("CASE WHEN typeof(e.code_system) = 'text' AND typeof(e.code) = 'text' THEN e.code_system || char(31) || e.code "
        "ELSE char(1) || quote(e.code_system) || char(31) || quote(e.code) END")
NOT_TEXT = "\x02"  # stands for a time that is neither text nor null: SQL reads that range's times
# A time as text: null as '' (blank, as the time reader reads it); anything else (numbers, blobs) marks its range.
_TIME_TEXT = "CASE typeof(e.time) WHEN 'text' THEN e.time WHEN 'null' THEN '' ELSE char(2) END"
_PID = f"CASE typeof(e.patient_id) WHEN 'integer' THEN e.patient_id WHEN 'null' THEN {PID_NULL} ELSE {PID_BAD} END"


def _rowids(_: _Worker, conn: Connection, events: str) -> tuple[int, int]:
    try:
        low = conn.exec_driver_sql(f"SELECT min(rowid) FROM {events}").scalar()
        high = conn.exec_driver_sql(f"SELECT max(rowid) FROM {events}").scalar()
        n = conn.exec_driver_sql(f"SELECT count(*) FROM {events}").scalar() or 0
    except sa.exc.DBAPIError as exc:  # a table WITHOUT ROWID
        raise Unsupported(f"{events} has no rowid ({exc.orig})") from exc
    if not n:
        return 0, -1
    if low is None or high is None:  # a view: rowid is NULL there
        raise Unsupported(f"{events} has no rowid (a view?)")
    if (high - low + 1) > 10 * n + ROWS_PER_QUERY:  # rowids far apart: ranges would mostly be empty
        raise Unsupported(f"{events} has sparse rowids ({n} rows between {low} and {high})")
    if max(abs(low), abs(high)) >= MAX_ROWID:
        raise Unsupported(f"{events} has rowids beyond {MAX_ROWID}")
    return int(low), int(high)


def _raw_systems(_: _Worker, conn: Connection, events: str, systems: Collection[str] | None) -> list[object] | None:
    if systems is None:
        return None
    found = conn.exec_driver_sql(f"SELECT DISTINCT code_system FROM {events}").scalars()
    return [s for s in found if s is not None and _system_of(s) in systems]


class _Range:
    """One range of rows as SQL packed it: ``[patient, seconds]`` rows, and each row's index into ``keys`` (an Arrow array)."""

    def __init__(self, numbers: np.ndarray, index: np.ndarray, keys: Any) -> None:
        self.numbers, self.index, self.keys = numbers, index, keys


def _read_range(worker: _Worker, conn: Connection, queries: tuple[str, str], again: str, where: tuple[object, ...],
                start: int, stop: int) -> _Range:
    fast, query = queries
    pid_text, keys_text, times_text = conn.exec_driver_sql(fast, (start, stop, *where)).one()
    numbers = None if times_text and NOT_TEXT in times_text else _text_times(worker, pid_text, times_text)
    if numbers is None:  # times that are not text, or a separator inside one: SQL reads the times
        numbers_text, keys_text = conn.exec_driver_sql(query, (start, stop, *where)).one()
        numbers = (np.fromstring(numbers_text, dtype=np.int64, sep=",").reshape(-1, 2) if numbers_text
                   else np.zeros((0, 2), np.int64))
    if (numbers[:, 0] == PID_BAD).any():
        raise Unsupported("the events table holds patient ids that are not integers")
    split = split_keys(keys_text, len(numbers))
    if split is None:  # a separator inside a code: read this range's codes as rows
        rows = conn.exec_driver_sql(again.replace("{what}", "e.code_system, e.code"), (start, stop, *where)).all()
        import pyarrow as pa

        keys = list(dict.fromkeys(typed_key(s, c) for s, c in rows))
        at = {k: i for i, k in enumerate(keys)}
        split = np.fromiter((at[typed_key(s, c)] for s, c in rows), np.int64, len(rows)), pa.array(keys, pa.large_string())
    t = numbers[:, 1]
    marked = np.flatnonzero((t >= TIME_MARK - MAX_ROWID) & (t <= TIME_MARK + MAX_ROWID))
    if len(marked):
        _resolve_times(worker, conn, again, where, start, stop, t, marked)
    return _Range(numbers, split[0], split[1])


def _resolve_times(worker: _Worker, conn: Connection, again: str, where: tuple[object, ...], start: int, stop: int,
                   t: np.ndarray, marked: np.ndarray) -> None:
    """Replace the markers in ``t`` by the time reader's seconds of those rows' raw values."""
    expr = sql_time_seconds("e.time", "e.rowid")
    rows = conn.exec_driver_sql(again.replace("{what}", "e.rowid, e.time") + f" AND ({expr}) BETWEEN "
                                f"{TIME_MARK - MAX_ROWID} AND {TIME_MARK + MAX_ROWID}", (start, stop, *where)).all()
    rowid = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    value = cached_reader_seconds(worker.times, [r[1] for r in rows])
    order = np.argsort(rowid)
    rowid, value = rowid[order], value[order]
    want = TIME_MARK - t[marked]
    at = np.searchsorted(rowid, want)
    if len(rowid) == 0 or (at >= len(rowid)).any() or (rowid[np.minimum(at, len(rowid) - 1)] != want).any():
        raise Unsupported("the events table changed while it was read")
    t[marked] = value[at]


def _text_times(worker: _Worker, pid_text: str | None, times_text: str | None) -> np.ndarray | None:
    """``[patient, seconds]`` rows from SQL's packed patient ids and raw time texts; ``None`` if a separator hides in a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pids = np.fromstring(pid_text, dtype=np.int64, sep=",") if pid_text else np.zeros(0, np.int64)
    if len(pids) == 0:
        return np.zeros((0, 2), np.int64)
    texts = pc.split_pattern(pa.array([times_text or ""], pa.large_string()), RS).flatten()
    if len(texts) != len(pids):
        return None
    return np.column_stack([pids, dictionary_seconds(texts, worker.times)])  # dates repeat: each distinct text read once


def iter_coded_sqlite(
    engine: Engine, events: str, column_of: Callable[[Key], int], *, systems: Collection[str] | None,
    chunk_size: int, report: EventReadReport, workers: int | None = None,
) -> Iterator[CodedChunk]:
    """As :func:`ehrfeat.store.coded_events.iter_coded_events`, for a native SQLite table ``events`` (quoted)."""
    first = _Worker(engine)
    team: list[Any] = [first]
    norm, columns, known = CodeNormalizer(), dict[str, int](), Known()

    def column(key: str) -> int:
        found = columns.get(key)
        if found is None:
            system, code = decode_key(key)
            canonical = norm(system, code)
            if isinstance(canonical, SkipReason):
                malformed = canonical in (SkipReason.MALFORMED_CODE, SkipReason.INVALID_SYSTEM)
                if malformed:
                    report.add_example(SkipReason.MALFORMED_CODE, f"{system}:{code}")
                found = MALFORMED if malformed else NULL_CODE
            else:
                found = column_of(canonical)
                found = found if found >= 0 else NOT_CACHED
            columns[key] = found
        return found

    try:
        raw_systems = first.submit(_raw_systems, events, systems).result()
        where = f" AND e.code_system IN ({', '.join('?' * len(raw_systems))})" if raw_systems is not None else ""
        params = tuple(raw_systems or ())
        low, high = first.submit(_rowids, events).result()
        team = reader_team(engine, high - low + 1, first, workers)
        rows = f"FROM {events} e NOT INDEXED WHERE e.rowid >= ? AND e.rowid < ?{where}"
        query = (f"SELECT group_concat(({_PID}) || ',' || ({sql_time_seconds('e.time', 'e.rowid')}), ','), "
                 f"group_concat({_KEY}, char(30)) {rows}")
        fast = f"SELECT group_concat({_PID}, ','), group_concat({_KEY}, char(30)), group_concat({_TIME_TEXT}, char(30)) {rows}"
        again = "SELECT {what} " + rows
        parts: deque[Future[_Range]] = deque()
        pending = np.zeros((0, 3), np.int64)
        starts = list(range(low, high + 1, ROWS_PER_QUERY))
        for i, start in enumerate(starts + [None] * len(team)):
            if start is not None:
                parts.append(team[i % len(team)].submit(_read_range, (fast, query), again, params, start, start + ROWS_PER_QUERY))
            if (len(parts) <= len(team) and start is not None) or not parts:
                continue
            got = parts.popleft().result()
            lookup = known.lookup(got.keys, column)
            block = np.column_stack([got.numbers[:, 0], lookup[got.index], got.numbers[:, 1]])
            pending = yield from _cut(np.concatenate([pending, block]), chunk_size, report)
        if len(pending):
            yield _read(pending, report)
    finally:
        for worker in (first, *team):  # close is idempotent: first may be in team
            worker.close()
