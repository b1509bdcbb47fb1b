"""Events as integer columns (patient, code column, epoch seconds), with the code and time work done in SQL.

The per-event reader (:func:`ehrfeat.store.events.iter_events`) turns every row into
Python objects to canonicalise its code and parse its time. Here the database does
that work for the common case and Python sees only integers:

* **codes**: each distinct raw ``(code_system, code)`` pair is canonicalised once in
  Python (thousands, not millions) and mapped to its column number;
* **times**: SQL turns strict ISO text (``2020-03-04``, ``2020-03-04 05:06[:07]``,
  ``T`` or space) into epoch seconds and checks the result by formatting it back, so
  an impossible date is never guessed; every other value (offsets, ``20200304``,
  epoch numbers, blanks) is read by the one time reader,
  :func:`ehrfeat.store.dates.parse_times`, once per distinct value.
* **rows**: SQLite packs each range of rows into text values (``group_concat``)
  that numpy and pyarrow parse in C: no Python object per event
  (:mod:`ehrfeat.store.coded_sqlite`); DuckDB hands over Arrow batches
  (:mod:`ehrfeat.store.coded_duckdb`); PostgreSQL sends the scan as CSV by COPY, parsed by
  pyarrow (:mod:`ehrfeat.store.coded_postgresql`). :func:`iter_coded_counts` has PostgreSQL or
  DuckDB count (patient, code) pairs instead (:mod:`ehrfeat.store.pair_counts`).

The results are those of the per-event reader, row for row and in the same order
(a SQLite table is scanned in rowid order either way), with the same read issues.
Native schema on SQLite, DuckDB and PostgreSQL only; :class:`Unsupported` says why anything else is not.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.errors import DatabaseError
from ehrfeat.store.dates import null_mask, parse_times
from ehrfeat.store.iso_bytes import plain_iso_seconds
from ehrfeat.store.native import CodeNormalizer
from ehrfeat.store.records import EventReadReport, Key, SkipReason
from ehrfeat.store.schema import PatientSchema

if TYPE_CHECKING:
    from ehrfeat.store.pair_counts import CountRules, PairCounts

__all__ = ["CodedChunk", "Unsupported", "cached_reader_seconds", "code_rows", "dictionary_seconds", "iter_coded_counts", "iter_coded_events", "reader_seconds", "sql_time_seconds", "text_seconds"]

logger = logging.getLogger(__name__)

NAT = np.iinfo(np.int64).min
PID_NULL = -9_223_372_036_854_775_807  # a null patient id
NULL_T = -9_000_000_000_000_000_000  # a null (or blank) time
BAD_T = NULL_T - 1  # an unparsable time
NOT_CACHED, MALFORMED, NULL_CODE = -1, -2, -3  # code columns that are not columns
_MIN_S, _MAX_S = -5_364_662_400, 4_102_444_800  # 1800-01-01 .. 2100-01-01, as the time reader
TIME_MARK = -4_000_000_000_000_000_000  # TIME_MARK - rowid: a time that the time reader must read
MAX_ROWID = 10**18  # rowids within +-MAX_ROWID: markers never meet NULL_T, BAD_T or a real time
INDEX_NAME = "ehrfeat_events_code"
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
    """SQLite: ``t`` has the shape of strict ISO text that SQLite reads exactly as the time reader does.

    ``YYYY-MM-DD``, then optionally ``[ T]HH:MM`` and ``:SS``, years 1800-2099, hours
    below 24; days past the 28th only where SQLite's date formats back to the same
    day (SQLite reads 2019-02-30 as March 2nd). A value of this shape that SQLite
    cannot read (letters for digits: SQLite insists on exact digits) is left to the
    reader, as every other value; so the shape needs only ``?`` patterns, which are cheap.
    """
    hour = f"substr({t}, 12, 2) < '24'"
    return (
        f"typeof({t}) = 'text' AND CASE length({t}) WHEN 10 THEN {t} GLOB '????-??-??' "
        f"WHEN 19 THEN {t} GLOB '????-??-??[ T]??:??:??' AND {hour} WHEN 16 THEN {t} GLOB '????-??-??[ T]??:??' AND {hour} END "
        f"AND {t} >= '1800' AND {t} < '2100' "
        f"AND (substr({t}, 9, 2) <= '28' OR date({_epoch(t)}, 'unixepoch') = substr({t}, 1, 10))"
    )


def sql_time_seconds(t: str, rowid: str) -> str:
    """SQLite expression: epoch seconds of ``t``; ``NULL_T`` when null, else ``TIME_MARK - rowid`` when the reader must read it."""
    return (f"CASE WHEN {t} IS NULL THEN {NULL_T} "
            f"ELSE coalesce(CASE WHEN {_plain_iso(t)} THEN {_epoch(t)} END, {TIME_MARK} - {rowid}) END")


def _supported(engine: Engine, schema: PatientSchema) -> None:
    if engine.dialect.name not in ("sqlite", "duckdb", "postgresql"):
        raise Unsupported(f"no database path for {engine.dialect.name} yet")
    if schema.kind != "native":
        raise Unsupported(f"no database path for the {schema.kind} schema yet")


def ensure_index(conn: Connection, table: str) -> str | None:
    """Create ehrfeat's index on ``table(code_system, code)`` unless one leads with those columns; say what was done."""
    for (name,) in conn.exec_driver_sql("SELECT name FROM pragma_index_list(?)", (table,)).all():
        cols = [r[0] for r in conn.exec_driver_sql("SELECT name FROM pragma_index_info(?)", (name,)).all()]
        if [str(c).lower() for c in cols[:2]] == ["code_system", "code"]:
            return None
    quoted = '"' + table.replace('"', '""') + '"'
    conn.exec_driver_sql(f'CREATE INDEX "{INDEX_NAME}" ON {quoted} (code_system, code, patient_id)')
    return f"created index {INDEX_NAME} on {table}(code_system, code, patient_id) for the database path (drop it: DROP INDEX {INDEX_NAME})"


def iter_coded_events(
    engine: Engine, schema: PatientSchema, column_of: Callable[[Key], int], *, systems: Collection[str] | None,
    chunk_size: int, report: EventReadReport, create_indexes: bool = False, notes: list[str] | None = None,
    workers: int | None = None,
) -> Iterator[CodedChunk]:
    """Stream the events as :class:`CodedChunk` blocks, exactly as :func:`~ehrfeat.store.events.iter_events` would.

    ``column_of`` gives the column of a canonical code (``-1``: not cached). Chunks
    hold ``chunk_size`` rows read, less the rows the store does not yield. On SQLite
    ``workers`` connections read row ranges in parallel; the chunks still come in rowid order.
    """
    _supported(engine, schema)
    if engine.dialect.name == "duckdb":  # DuckDB needs no index: it scans in parallel
        from ehrfeat.store.coded_duckdb import iter_coded_duckdb

        yield from iter_coded_duckdb(engine, schema, column_of, systems=systems, chunk_size=chunk_size, report=report)
        return
    if engine.dialect.name == "postgresql":  # the server maps, reads and groups; a named cursor streams the groups
        from ehrfeat.store.coded_postgresql import iter_coded_postgresql

        yield from iter_coded_postgresql(engine, schema, column_of, systems=systems, chunk_size=chunk_size, report=report)
        return
    from ehrfeat.store.coded_sqlite import iter_coded_sqlite

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
    yield from iter_coded_sqlite(engine, events, column_of, systems=systems, chunk_size=chunk_size, report=report,
                                 workers=workers)


def iter_coded_counts(
    engine: Engine, schema: PatientSchema, column_of: Callable[[Key], int], rules: CountRules, *,
    systems: Collection[str] | None, report: EventReadReport,
) -> Iterator[PairCounts]:
    """The (patient, code) counts of :mod:`ehrfeat.store.pair_counts`, computed by the engine (PostgreSQL, DuckDB).

    ``report`` gets the malformed-code examples here; the caller counts the read
    issues from the pairs (their markers). SQLite has no count path: its row stream
    reads ranges on parallel connections, which a single-threaded GROUP BY cannot match.
    """
    _supported(engine, schema)
    if engine.dialect.name == "duckdb":
        from ehrfeat.store.coded_duckdb import iter_counted_duckdb

        yield from iter_counted_duckdb(engine, schema, column_of, rules, systems=systems, report=report)
    elif engine.dialect.name == "postgresql":
        from ehrfeat.store.coded_postgresql import iter_counted_postgresql

        yield from iter_counted_postgresql(engine, schema, column_of, rules, systems=systems, report=report)
    else:
        raise Unsupported(f"no (patient, code) counts in SQL on {engine.dialect.name}: its database path streams rows")


def code_rows(pairs: Iterable[tuple[object, object]], column_of: Callable[[Key], int],
              report: EventReadReport) -> list[tuple[object, object, int]]:
    """``(system, code, column)`` of each distinct raw pair with a column or a malformed code (the rest: no code)."""
    norm, rows = CodeNormalizer(), []
    for system, code in pairs:
        key = norm(system, code)
        if isinstance(key, SkipReason):
            if key in (SkipReason.MALFORMED_CODE, SkipReason.INVALID_SYSTEM):
                report.add_example(SkipReason.MALFORMED_CODE, f"{system}:{code}")
                rows.append((system, code, MALFORMED))
            continue
        rows.append((system, code, column_of(key)))
    return rows


def reader_seconds(values: Sequence[object]) -> np.ndarray:
    """The time reader's seconds of raw values: ``NULL_T`` where null or blank, ``BAD_T`` where unparsable."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    parsed = parse_times(arr).times.view(np.int64)
    return np.where(null_mask(list(values)), NULL_T, np.where(parsed == NAT, BAD_T, parsed))


def cached_reader_seconds(cache: dict[object, int], values: Sequence[object], limit: int = 1_000_000) -> np.ndarray:
    """:func:`reader_seconds` of ``values``, each distinct value read once and kept in ``cache`` (emptied past ``limit``)."""
    if len(cache) > limit:  # a cache, not a copy of the column
        cache.clear()
    new = [v for v in dict.fromkeys(values) if v not in cache]
    if new:
        cache.update(zip(new, reader_seconds(new).tolist(), strict=True))
    return np.fromiter((cache[v] for v in values), np.int64, len(values))


def dictionary_seconds(texts: Any, cache: dict[object, int]) -> np.ndarray:
    """Seconds of an Arrow string array whose values repeat (dates): each distinct text read once (:func:`text_seconds`),
    the values the time reader must read through ``cache``."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(texts)
    secs = text_seconds(encoded.dictionary, lambda rest: cached_reader_seconds(cache, rest))
    return secs[np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.intp)]


def text_seconds(texts: Any, read_rest: Callable[[list[Any]], np.ndarray] = reader_seconds) -> np.ndarray:
    """Seconds of an Arrow ``large_string`` array: strict ISO read from its bytes, every other value by ``read_rest``."""
    import pyarrow as pa

    secs, ok = plain_iso_seconds(texts)
    rest = np.flatnonzero(~ok)
    if len(rest):  # blanks, offsets, other forms: the time reader
        secs[rest] = read_rest(texts.take(pa.array(rest)).to_pylist())
    return secs


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
