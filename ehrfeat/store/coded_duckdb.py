"""The database path on DuckDB: codes mapped and times read inside DuckDB, rows fetched as Arrow batches.

The same rules as :mod:`ehrfeat.store.coded_events` (SQLite): the distinct raw codes
are canonicalised once in Python and registered as a mapping table; strict ISO text
times are read by DuckDB (hour 24 and years outside 1800-2099 are left to the time
reader; impossible dates are NULL for both), TIMESTAMP and DATE columns by
``epoch``, and every other distinct value by :func:`ehrfeat.store.dates.parse_times`.
Rows come in DuckDB's scan order: the weights never depend on the order or the cut
(:class:`ehrfeat.patients.weights.WeightAccumulator` finds duplicates across
chunks), and ordering by rowid cost a sort (1.8 s of 2.5 s at 10M rows, measured).
:func:`iter_counted_duckdb` has DuckDB count the (patient, code) pairs instead
(:mod:`ehrfeat.store.pair_counts`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, Engine

from ehrfeat.store.coded_events import (
    _MAX_S,
    _MIN_S,
    BAD_T,
    NULL_CODE,
    NULL_T,
    PID_NULL,
    CodedChunk,
    Unsupported,
    _cut,
    _read,
    code_rows,
    reader_seconds,
)
from ehrfeat.store.native import _system_of
from ehrfeat.store.pair_counts import CountRules, PairCounts, pair_count_query
from ehrfeat.store.records import EventReadReport, Key
from ehrfeat.store.schema import PatientSchema

__all__ = ["duckdb_time_seconds", "iter_coded_duckdb", "iter_counted_duckdb"]

NAT = np.iinfo(np.int64).min
BATCH = 1_000_000
_STRICT = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?"
_TYPED = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")


def _strict(t: str) -> str:
    return (f"(regexp_full_match({t}, '{_STRICT}') AND substr({t}, 1, 4) BETWEEN '1800' AND '2099' "
            f"AND (length({t}) = 10 OR substr({t}, 12, 2) < '24'))")


def duckdb_time_seconds(t: str, kind: str, mapped: str | None) -> str:
    """DuckDB expression: epoch seconds of ``t`` (a column of type ``kind``), with the ``NULL_T``/``BAD_T`` markers."""
    if kind in _TYPED:
        s = f"CAST(floor(epoch({t})) AS BIGINT)"
        return f"CASE WHEN {t} IS NULL THEN {NULL_T} WHEN {s} >= {_MIN_S} AND {s} < {_MAX_S} THEN {s} ELSE {BAD_T} END"
    other = f"coalesce({mapped}, {BAD_T})" if mapped else str(BAD_T)
    if kind != "VARCHAR":
        return f"CASE WHEN {t} IS NULL THEN {NULL_T} ELSE {other} END"
    value = f"CAST(epoch(TRY_CAST({t} AS TIMESTAMP)) AS BIGINT)"
    return f"CASE WHEN {t} IS NULL THEN {NULL_T} WHEN {_strict(t)} THEN coalesce({value}, {BAD_T}) ELSE {other} END"


def _types(raw: Any, table: str) -> dict[str, str]:
    rows = raw.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {str(name).lower(): str(kind).upper() for name, kind in rows}


@contextmanager
def _duckdb_rows(
    engine: Engine, schema: PatientSchema, column_of: Callable[[Key], int], systems: Collection[str] | None,
    report: EventReadReport,
) -> Iterator[tuple[Any, str, list[Any]]]:
    """The raw connection, the SQL of the ``(pid, col, t)`` rows (from ``events e``) and its parameters.

    The code map (and the time map of the values DuckDB does not read) are registered
    for as long as the context lasts.
    """
    import pandas as pd

    table = schema.tables["events"]
    events = '"' + table.replace('"', '""') + '"'
    with engine.connect() as conn:
        raw = _raw(conn)
        types = _types(raw, table)
        if types.get("patient_id", "") not in ("BIGINT", "INTEGER", "SMALLINT", "HUGEINT", "UBIGINT", "UINTEGER"):
            raise Unsupported(f"{table}.patient_id is {types.get('patient_id')}, not an integer type")
        if types.get("code_system") != "VARCHAR" or types.get("code") != "VARCHAR":
            raise Unsupported(f"{table}.code_system and code are not both VARCHAR")
        raw_systems = None
        if systems is not None:
            found = [r[0] for r in raw.execute(f"SELECT DISTINCT code_system FROM {events}").fetchall()]
            raw_systems = [s for s in found if s is not None and _system_of(s) in systems]
        where = " WHERE e.code_system IN (SELECT unnest(?::VARCHAR[]))" if raw_systems is not None else ""
        params = [raw_systems] if raw_systems is not None else []
        pairs = raw.execute(f"SELECT DISTINCT e.code_system, e.code FROM {events} e{where}", params).fetchall()
        code_map = pd.DataFrame(code_rows(pairs, column_of, report), columns=["code_system", "code", "col"]).astype({"col": "int64"})
        kind = types.get("time", "")
        join, mapped = "", None
        time_map = None
        if kind not in _TYPED:
            cond = "e.time IS NOT NULL" + (f" AND NOT {_strict('e.time')}" if kind == "VARCHAR" else "")
            values = [r[0] for r in raw.execute(
                f"SELECT DISTINCT e.time FROM {events} e WHERE {cond}" + where.replace(" WHERE", " AND"), params).fetchall()]
            if values:
                arr = np.empty(len(values), dtype=object)
                arr[:] = values
                time_map = pd.DataFrame({"raw": arr, "secs": reader_seconds(values)})
                join, mapped = " LEFT JOIN ehrfeat_time_map tm ON tm.raw = e.time", "tm.secs"
        raw.register("ehrfeat_code_map", code_map)
        if time_map is not None:
            raw.register("ehrfeat_time_map", time_map)
        try:
            yield raw, (f"SELECT coalesce(e.patient_id, {PID_NULL}) AS pid, coalesce(m.col, {NULL_CODE}) AS col, "
                        f"{duckdb_time_seconds('e.time', kind, mapped)} AS t FROM {events} e LEFT JOIN ehrfeat_code_map m "
                        f"ON m.code_system = e.code_system AND m.code = e.code{join}{where}"), params
        finally:
            raw.unregister("ehrfeat_code_map")
            if time_map is not None:
                raw.unregister("ehrfeat_time_map")


def _batches(raw: Any, query: str, params: list[Any]) -> Any:
    relation = raw.sql(query, params=params or None) if hasattr(raw, "sql") else None
    if relation is not None and hasattr(relation, "to_arrow_reader"):  # no extra copy of the rows
        return relation.to_arrow_reader(BATCH)
    return raw.execute(query, params).fetch_record_batch(BATCH)


def iter_coded_duckdb(
    engine: Engine, schema: PatientSchema, column_of: Callable[[Key], int], *, systems: Collection[str] | None,
    chunk_size: int, report: EventReadReport,
) -> Iterator[CodedChunk]:
    """As :func:`ehrfeat.store.coded_events.iter_coded_events`, for a native database in DuckDB."""
    with _duckdb_rows(engine, schema, column_of, systems, report) as (raw, rows, params):
        pending = np.zeros((0, 3), np.int64)
        for batch in _batches(raw, rows, params):
            cols = [np.asarray(batch.column(i).to_numpy(zero_copy_only=False), dtype=np.int64) for i in range(3)]
            pending = yield from _cut(np.concatenate([pending, np.column_stack(cols)]), chunk_size, report)
        if len(pending):
            yield _read(pending, report)


def iter_counted_duckdb(
    engine: Engine, schema: PatientSchema, column_of: Callable[[Key], int], rules: CountRules, *,
    systems: Collection[str] | None, report: EventReadReport,
) -> Iterator[PairCounts]:
    """As :func:`ehrfeat.store.coded_events.iter_coded_counts`, for a native database in DuckDB."""
    import pandas as pd

    with _duckdb_rows(engine, schema, column_of, systems, report) as (raw, rows, params):
        cohort = None
        if rules.global_as_of is None:
            raw.register("ehrfeat_cohort", pd.DataFrame({"pid": np.asarray(rules.patient_ids, np.int64),
                                                         "a": np.asarray(rules.as_of_s, np.int64)}))
            cohort = "ehrfeat_cohort"
        try:
            for batch in _batches(raw, pair_count_query(rows, rules, cohort), params):
                ints = [batch.column(i).to_numpy(zero_copy_only=False) for i in range(9)]
                yield PairCounts.from_columns(ints, batch.column(9).to_numpy(zero_copy_only=False))
        finally:
            if cohort:
                raw.unregister(cohort)


def _raw(conn: Connection) -> Any:
    """The duckdb connection under SQLAlchemy's (duckdb-engine wraps it and passes calls through)."""
    return conn.connection.dbapi_connection
