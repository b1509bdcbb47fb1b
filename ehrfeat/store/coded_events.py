"""Events as integer columns (patient, code column, epoch seconds), with the code and time work done in SQL.

The per-event reader (:func:`ehrfeat.store.events.iter_events`) turns every row into
Python objects to canonicalise its code and parse its time. Here the database does
that work for the common case and Python sees only integers:

* **codes**: the distinct raw ``(code_system, code)`` pairs are canonicalised once in
  Python (thousands, not millions) and sent back as a temporary mapping table of
  column numbers, joined to the events in SQL;
* **times**: SQL turns strict ISO text (``2020-03-04``, ``2020-03-04 05:06[:07]``,
  ``T`` or space) into epoch seconds and checks the result by formatting it back, so
  an impossible date is never guessed; every other distinct value (offsets,
  ``20200304``, epoch numbers, blanks) is read by the one time reader,
  :func:`ehrfeat.store.dates.parse_times`, and joined back as a second mapping table.
* **rows**: SQLite packs each chunk of rows into one text value (``group_concat``)
  that numpy parses in C: no Python object per event.

The results are those of the per-event reader, row for row and in the same order
(a SQLite table is scanned in rowid order either way), with the same read issues.
Native schema on SQLite (and DuckDB: :mod:`ehrfeat.store.coded_duckdb`) only; :class:`Unsupported` says why anything else is not.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.errors import DatabaseError
from ehrfeat.store.dates import null_mask, parse_times
from ehrfeat.store.native import CodeNormalizer, _system_of
from ehrfeat.store.records import EventReadReport, Key, SkipReason
from ehrfeat.store.schema import PatientSchema

__all__ = ["CodedChunk", "Unsupported", "iter_coded_events", "sql_time_seconds"]

logger = logging.getLogger(__name__)

NAT = np.iinfo(np.int64).min
PID_NULL = -9_223_372_036_854_775_807  # a null patient id
NULL_T = -9_000_000_000_000_000_000  # a null (or blank) time
BAD_T = NULL_T - 1  # an unparsable time
NOT_CACHED, MALFORMED, NULL_CODE = -1, -2, -3  # code columns that are not columns
_MIN_S, _MAX_S = -5_364_662_400, 4_102_444_800  # 1800-01-01 .. 2100-01-01, as the time reader
ROWS_PER_QUERY = 500_000
INDEX_NAME = "ehrfeat_events_code"
WORKERS = max(1, min(4, os.cpu_count() or 1))  # connections reading in parallel
_D2, _D4 = "[0-9][0-9]", "[0-9][0-9][0-9][0-9]"


class Unsupported(Exception):
    """This engine or schema has no database path (the per-event path reads it)."""


@dataclass(frozen=True)
class CodedChunk:
    """Events of one chunk: ``column`` ``-1`` when the code has no cached vector; ``time`` ``NAT`` when none."""

    patient_id: np.ndarray
    column: np.ndarray
    time: np.ndarray


def _epoch(t: str) -> str:
    return f"unixepoch({t})" if sqlite3.sqlite_version_info >= (3, 38) else f"CAST(strftime('%s', {t}) AS INTEGER)"


def _plain_iso(t: str) -> str:
    """SQLite: ``t`` is strict ISO text that SQLite reads exactly as the time reader does.

    SQLite itself returns NULL for months, days, minutes or seconds out of range
    (the reader: unparsable too), but reads hour 24 and 2019-02-30 (a day past the
    month's end) as the next day: those are left to the reader, like years outside 1800-2099.
    """
    day = f"{_D4}-{_D2}-{_D2}"
    return (
        f"typeof({t}) = 'text' AND ("
        f"(length({t}) = 10 AND {t} GLOB '{day}') OR "
        f"(length({t}) = 16 AND {t} GLOB '{day}[ T]{_D2}:{_D2}' AND substr({t}, 12, 2) < '24') OR "
        f"(length({t}) = 19 AND {t} GLOB '{day}[ T]{_D2}:{_D2}:{_D2}' AND substr({t}, 12, 2) < '24')) "
        f"AND substr({t}, 1, 4) BETWEEN '1800' AND '2099' "
        f"AND (substr({t}, 9, 2) <= '28' OR date({_epoch(t)}, 'unixepoch') = substr({t}, 1, 10))"
    )


def sql_time_seconds(t: str, mapped: str | None, *, all_plain: bool = False) -> str:
    """SQLite expression: epoch seconds of ``t`` (``NULL_T``/``BAD_T`` markers); ``mapped`` holds the Python-read ones.

    ``all_plain``: a scan found every non-null value strict ISO text, so no row needs the check again.
    """
    if all_plain:
        return f"CASE WHEN {t} IS NULL THEN {NULL_T} ELSE coalesce({_epoch(t)}, {BAD_T}) END"
    other = f"coalesce({mapped}, {BAD_T})" if mapped else str(BAD_T)
    return f"CASE WHEN {t} IS NULL THEN {NULL_T} WHEN {_plain_iso(t)} THEN coalesce({_epoch(t)}, {BAD_T}) ELSE {other} END"


def _supported(engine: Engine, schema: PatientSchema) -> None:
    if engine.dialect.name not in ("sqlite", "duckdb"):
        raise Unsupported(f"no database path for {engine.dialect.name} yet")
    if schema.kind != "native":
        raise Unsupported(f"no database path for the {schema.kind} schema yet")


def _check_ids(conn: Connection, events: str) -> None:
    """Patient ids that are not integers go the per-event way, which names the bad one (E217)."""
    query = f"SELECT 1 FROM {events} WHERE typeof(patient_id) NOT IN ('integer', 'null') LIMIT 1"
    try:
        found = conn.exec_driver_sql(query).first()
    except sa.exc.DBAPIError as exc:
        raise Unsupported(f"cannot read {events}: {exc.orig}") from exc
    if found is not None:
        raise Unsupported(f"{events} holds patient ids that are not integers")


def _code_map(
    conn: Connection, events: str, column_of: Callable[[Key], int], raw_systems: list[object] | None, report: EventReadReport,
) -> list[tuple[object, object, int]]:
    where = f" WHERE code_system IN ({', '.join('?' * len(raw_systems))})" if raw_systems is not None else ""
    pairs = conn.exec_driver_sql(f"SELECT DISTINCT code_system, code FROM {events}{where}", tuple(raw_systems or ())).all()
    norm, out = CodeNormalizer(), []
    for system, code in pairs:
        key = norm(system, code)
        if isinstance(key, SkipReason):
            if key in (SkipReason.MALFORMED_CODE, SkipReason.INVALID_SYSTEM):
                report.add_example(SkipReason.MALFORMED_CODE, f"{system}:{code}")
                out.append((system, code, MALFORMED))
            continue  # null codes: not in the map, the join finds nothing
        out.append((system, code, column_of(key)))
    return out


def _time_map(conn: Connection, events: str, where: str, params: tuple[object, ...]) -> list[tuple[object, int]]:
    cond = f"time IS NOT NULL AND NOT ({_plain_iso('time')})"
    values = [r[0] for r in conn.exec_driver_sql(f"SELECT DISTINCT time FROM {events} WHERE {cond}{where}", params)]
    if not values:
        return []
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    secs = parse_times(arr).times.view(np.int64)
    secs = np.where(null_mask(values), NULL_T, np.where(secs == NAT, BAD_T, secs))
    return list(zip(values, secs.tolist(), strict=True))


def ensure_index(conn: Connection, table: str) -> str | None:
    """Create ehrfeat's index on ``table(code_system, code)`` unless one leads with those columns; say what was done."""
    for (name,) in conn.exec_driver_sql("SELECT name FROM pragma_index_list(?)", (table,)).all():
        cols = [r[0] for r in conn.exec_driver_sql("SELECT name FROM pragma_index_info(?)", (name,)).all()]
        if [str(c).lower() for c in cols[:2]] == ["code_system", "code"]:
            return None
    quoted = '"' + table.replace('"', '""') + '"'
    conn.exec_driver_sql(f'CREATE INDEX "{INDEX_NAME}" ON {quoted} (code_system, code, patient_id)')
    return f"created index {INDEX_NAME} on {table}(code_system, code, patient_id) for the database path (drop it: DROP INDEX {INDEX_NAME})"


class _Worker:
    """One thread with its own connection: SQLite reads in parallel, one statement per connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(1)
        self.conn: Connection | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.pool.submit(self._run, fn, args)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self.conn is None:
            self.conn = self.engine.connect()
        return fn(self.conn, *args)

    def close(self) -> None:
        def close(conn: Connection) -> None:
            conn.close()

        if self.conn is not None:
            self.submit(close).result()
        self.pool.shutdown()


def _temp_tables(conn: Connection, codes: list[tuple[object, object, int]], times: list[tuple[object, int]]) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.ehrfeat_code_map")
    conn.exec_driver_sql("CREATE TEMP TABLE ehrfeat_code_map (code_system, code, col INTEGER, PRIMARY KEY (code_system, code)) WITHOUT ROWID")
    conn.exec_driver_sql("INSERT INTO temp.ehrfeat_code_map VALUES (?, ?, ?)", codes)  # type: ignore[arg-type]
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.ehrfeat_time_map")
    if times:
        conn.exec_driver_sql("CREATE TEMP TABLE ehrfeat_time_map (raw PRIMARY KEY, secs INTEGER) WITHOUT ROWID")
        conn.exec_driver_sql("INSERT INTO temp.ehrfeat_time_map VALUES (?, ?)", times)  # type: ignore[arg-type]


def _raw_systems(conn: Connection, events: str, systems: Collection[str] | None) -> list[object] | None:
    if systems is None:
        return None
    found = conn.exec_driver_sql(f"SELECT DISTINCT code_system FROM {events}").scalars()
    return [s for s in found if s is not None and _system_of(s) in systems]


def _rowids(conn: Connection, events: str) -> tuple[int, int]:
    try:
        low, high, n = conn.exec_driver_sql(f"SELECT min(rowid), max(rowid), count(*) FROM {events}").one()
    except sa.exc.DBAPIError as exc:  # a view or a table WITHOUT ROWID
        raise Unsupported(f"{events} has no rowid ({exc.orig})") from exc
    if n and (low is None or high is None):  # a view: rowid is NULL there
        raise Unsupported(f"{events} has no rowid (a view?)")
    if n and (high - low + 1) > 10 * n + ROWS_PER_QUERY:  # rowids far apart: ranges would mostly be empty
        raise Unsupported(f"{events} has sparse rowids ({n} rows between {low} and {high})")
    return int(low or 0), int(high if high is not None else -1)


def _packed(conn: Connection, query: str, params: tuple[object, ...]) -> np.ndarray:
    text = conn.exec_driver_sql(query, params).scalar()
    return np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, 3) if text else np.zeros((0, 3), np.int64)


def iter_coded_events(
    engine: Engine, schema: PatientSchema, column_of: Callable[[Key], int], *, systems: Collection[str] | None,
    chunk_size: int, report: EventReadReport, create_indexes: bool = False, notes: list[str] | None = None,
    workers: int | None = None,
) -> Iterator[CodedChunk]:
    """Stream the events as :class:`CodedChunk` blocks, exactly as :func:`~ehrfeat.store.events.iter_events` would.

    ``column_of`` gives the column of a canonical code (``-1``: not cached). Chunks
    hold ``chunk_size`` rows read, less the rows the store does not yield. ``workers``
    connections read row ranges in parallel; the chunks still come in rowid order.
    """
    _supported(engine, schema)
    if engine.dialect.name == "duckdb":  # DuckDB needs no index: it scans in parallel
        from ehrfeat.store.coded_duckdb import iter_coded_duckdb

        yield from iter_coded_duckdb(engine, schema, column_of, systems=systems, chunk_size=chunk_size, report=report)
        return
    events = '"' + schema.tables["events"].replace('"', '""') + '"'
    notes = notes if notes is not None else []
    if create_indexes:
        try:
            with engine.begin() as conn:
                made = ensure_index(conn, schema.tables["events"])
        except sa.exc.DBAPIError as exc:
            raise DatabaseError(f"cannot create an index on {events}: {exc.orig}",
                                fix="make the database writable, or drop --create-indexes", code="E1903") from exc
        if made:
            notes.append(made)
    team = [_Worker(engine) for _ in range(max(1, workers or WORKERS))]
    try:
        first, other = team[0], team[-1]
        raw_systems = first.submit(_raw_systems, events, systems).result()
        where = f" AND code_system IN ({', '.join('?' * len(raw_systems))})" if raw_systems is not None else ""
        params = tuple(raw_systems or ())
        checked = other.submit(_check_ids, events)
        times_f = other.submit(_time_map, events, where, params)
        codes = first.submit(_code_map, events, column_of, raw_systems, report).result()
        low, high = first.submit(_rowids, events).result()
        checked.result()
        times = times_f.result()
        for done in [w.submit(_temp_tables, codes, times) for w in team]:
            done.result()
        join, mapped = ("", None) if not times else (" LEFT JOIN temp.ehrfeat_time_map tm ON tm.raw = e.time", "tm.secs")
        packed = (f"coalesce(e.patient_id, {PID_NULL}) || ',' || coalesce(m.col, {NULL_CODE}) || ',' || "
                  f"({sql_time_seconds('e.time', mapped, all_plain=not times)})")
        query = (f"SELECT group_concat({packed}, ',') FROM {events} e LEFT JOIN temp.ehrfeat_code_map m "
                 f"ON m.code_system = e.code_system AND m.code = e.code{join} WHERE e.rowid >= ? AND e.rowid < ?"
                 + where.replace("code_system", "e.code_system"))
        starts = range(low, high + 1, ROWS_PER_QUERY)
        parts: deque[Future[np.ndarray]] = deque()
        pending = np.zeros((0, 3), np.int64)
        for i, start in enumerate(starts):
            parts.append(team[i % len(team)].submit(_packed, query, (start, start + ROWS_PER_QUERY, *params)))
            if len(parts) <= len(team):
                continue
            pending = yield from _cut(np.concatenate([pending, parts.popleft().result()]), chunk_size, report)
        while parts:
            pending = yield from _cut(np.concatenate([pending, parts.popleft().result()]), chunk_size, report)
        if len(pending):
            yield _read(pending, report)
    finally:
        for worker in team:
            worker.close()


def _cut(rows: np.ndarray, chunk_size: int, report: EventReadReport) -> Generator[CodedChunk, None, np.ndarray]:
    """Yield the whole chunks of ``rows``; return the rest."""
    while len(rows) >= chunk_size:
        yield _read(rows[:chunk_size], report)
        rows = rows[chunk_size:]
    return rows


def _read(rows: np.ndarray, report: EventReadReport) -> CodedChunk:
    """Count the read issues of one chunk, as the per-event reader does, and keep the rows it yields."""
    pid, col, t = rows[:, 0], rows[:, 1], rows[:, 2]
    report.rows_read += len(rows)
    has_pid = pid != PID_NULL
    report.null_patient += int((~has_pid).sum())
    report.malformed_code += int((has_pid & (col == MALFORMED)).sum())
    report.null_code += int((has_pid & (col == NULL_CODE)).sum())
    keep = has_pid & (col >= NOT_CACHED)
    pid, col, t = pid[keep], col[keep], t[keep]
    report.null_time += int((t == NULL_T).sum())
    report.unparsable_time += int((t == BAD_T).sum())
    report.rows_yielded += len(pid)
    return CodedChunk(pid, col, np.where(t <= NULL_T, NAT, t))
