"""Reading ehrfeat's native schema (``patients``, ``events``, ``vocabulary``); see :mod:`ehrfeat.store.schema`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ehrfeat.codes import canonical_system, normalize_code
from ehrfeat.errors import EhrfeatError, SchemaError
from ehrfeat.store.database import column_names, in_batches, sql_table
from ehrfeat.store.dates import parse_times
from ehrfeat.store.records import (
    EventChunk,
    EventReadReport,
    Key,
    RawGroup,
    SkipCollector,
    SkipReason,
    sorted_unique,
    to_float_values,
    to_patient_ids,
)
from ehrfeat.store.schema import PatientSchema

__all__ = ["CodeNormalizer", "code_groups", "code_texts", "iter_chunks", "patient_ids", "patient_refs"]

logger = logging.getLogger(__name__)



def _events(engine: Engine, schema: PatientSchema) -> tuple[sa.TableClause, dict[str, str]]:
    actual = schema.tables["events"]
    cols = column_names(engine, actual)
    return sql_table(actual, list(cols.values())), cols


class CodeNormalizer:
    """Raw (system, code) -> canonical key, cached; failures go to a reason (shared with ehrfeat.spark)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[object, object], Key | SkipReason] = {}
        self.systems: dict[object, str | None] = {}  # raw system -> canonical (None: invalid); there are few

    def __call__(self, system: object, code: object) -> Key | SkipReason:
        hit = self.cache.get((system, code))
        if hit is None:
            hit = self.cache[(system, code)] = self._resolve(system, code)
        return hit

    def _resolve(self, system: object, code: object) -> Key | SkipReason:
        if system is None or (isinstance(system, str) and not system.strip()):
            return SkipReason.NULL_SYSTEM
        if code is None or (isinstance(code, str) and not code.strip()):
            return SkipReason.NULL_CODE
        if system not in self.systems:
            try:
                self.systems[system] = canonical_system(str(system))
            except EhrfeatError:
                self.systems[system] = None
        sys_ = self.systems[system]
        if sys_ is None:
            return SkipReason.INVALID_SYSTEM
        try:
            return sys_, normalize_code(sys_, code)
        except EhrfeatError:
            return SkipReason.MALFORMED_CODE


_ROW_OF_ANOTHER_SYSTEM = (SkipReason.NULL_CODE, SkipReason.MALFORMED_CODE)
_NULL = (SkipReason.NULL_CODE, SkipReason.NULL_SYSTEM)


def code_groups(
    engine: Engine, schema: PatientSchema, systems: Collection[str] | None, skips: SkipCollector, usage: object = None
) -> list[RawGroup]:
    """Raw code groups of the events table (``usage`` is for OMOP tables only and left untouched)."""
    norm, groups = CodeNormalizer(), []
    for system, code, n_all, n, n_pat in _raw_groups(engine, schema):
        if n_all > n:
            skips.add(SkipReason.NULL_PATIENT.rows, n_all - n)
        key = norm(system, code)
        if n == 0:
            continue
        if isinstance(key, SkipReason):
            if key in _ROW_OF_ANOTHER_SYSTEM and systems is not None and _system_of(system) not in systems:
                continue
            skips.add(key.rows, n, None if key in _NULL else f"{system}:{code}")
        elif systems is None or key[0] in systems:
            groups.append(RawGroup((system, code), key, int(n), int(n_pat)))
    return groups


def _raw_groups(engine: Engine, schema: PatientSchema) -> Iterator[tuple[object, object, int, int, int]]:
    """``(system, code, rows, rows with a patient, distinct patients)`` per raw pair: packed on SQLite, else a GROUP BY."""
    ev, cols = _events(engine, schema)
    if (engine.dialect.name == "sqlite" and all(cols.get(c) == c for c in ("patient_id", "code_system", "code"))
            and _has_pyarrow()):  # embed-codes is core: without pyarrow (an extra) the GROUP BY counts
        from ehrfeat.store.coded_counts import raw_code_counts
        from ehrfeat.store.coded_events import Unsupported

        try:
            yield from raw_code_counts(engine, '"' + schema.tables["events"].replace('"', '""') + '"')
            return
        except Unsupported as exc:
            logger.info("counting codes with a GROUP BY: %s", exc)
    sys_c, code_c, pid_c = ev.c[cols["code_system"]], ev.c[cols["code"]], ev.c[cols["patient_id"]]
    query = sa.select(sys_c, code_c, sa.func.count(), sa.func.count(pid_c), sa.func.count(sa.distinct(pid_c)))
    with engine.connect() as conn:
        yield from conn.execute(query.group_by(sys_c, code_c))


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _system_of(system: object) -> str | None:
    try:
        return canonical_system(str(system))
    except EhrfeatError:
        return None


def patient_refs(
    engine: Engine, schema: PatientSchema, refs: Collection[tuple[object, ...]], chunk_size: int
) -> Iterator[list[tuple[object, tuple[object, ...]]]]:
    """Distinct (patient_id, (code_system, code)) pairs of the raw codes in ``refs`` (and maybe others), in chunks."""
    ev, cols = _events(engine, schema)
    code = ev.c[cols["code"]]
    query = sa.select(ev.c[cols["patient_id"]], ev.c[cols["code_system"]], code).distinct()
    values = sorted({str(ref[1]) for ref in refs})  # a code value lies in one batch: no pair comes twice
    with engine.connect() as conn:
        for values_batch in in_batches(values):
            batch = query.where(code.in_(values_batch))
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(batch)
            for rows in result.partitions(chunk_size):
                yield [(pid, (system, raw)) for pid, system, raw in rows]


def code_texts(engine: Engine, schema: PatientSchema, keys: Collection[Key]) -> dict[Key, str]:
    """Descriptions from the optional ``vocabulary`` table, for the canonical ``keys`` asked for."""
    if "vocabulary" not in schema.tables or not keys:
        return {}
    actual = schema.tables["vocabulary"]
    cols = column_names(engine, actual)
    for col in ("code_system", "code", "description"):
        if col not in cols:
            raise SchemaError(
                f"table {actual!r} has no column {col!r}",
                fix="the native vocabulary table is vocabulary(code_system, code, description)",
                code="E212",
            )
    voc = sql_table(actual, list(cols.values()))
    desc = voc.c[cols["description"]]
    query = sa.select(voc.c[cols["code_system"]], voc.c[cols["code"]], desc).where(desc.is_not(None))
    norm, texts = CodeNormalizer(), {}
    with engine.connect() as conn:
        for system, code, text in conn.execution_options(stream_results=True, yield_per=50_000).execute(query):
            key = norm(system, code)
            if not isinstance(key, SkipReason) and key in keys and key not in texts and str(text).strip():
                texts[key] = str(text).strip()
    return texts


def iter_chunks(
    engine: Engine, schema: PatientSchema, systems: Collection[str] | None, chunk_size: int, report: EventReadReport
) -> Iterator[EventChunk]:
    ev, cols = _events(engine, schema)
    sys_c = ev.c[cols["code_system"]]
    value = ev.c[cols["value"]] if "value" in cols else sa.null()
    query = sa.select(ev.c[cols["patient_id"]], ev.c[cols["time"]], sys_c, ev.c[cols["code"]], value)
    norm = CodeNormalizer()
    with engine.connect() as conn:
        if systems is not None:
            raw = [s for (s,) in conn.execute(sa.select(sys_c).distinct()) if s is not None and _system_of(s) in systems]
            query = query.where(sys_c.in_(raw))
        result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(query)
        for rows in result.partitions(chunk_size):
            report.rows_read += len(rows)
            keep, keys = [], []
            for i, (pid, _t, system, code, _v) in enumerate(rows):
                key = norm(system, code)
                if pid is None:
                    report.null_patient += 1
                elif isinstance(key, SkipReason):
                    if key in (SkipReason.MALFORMED_CODE, SkipReason.INVALID_SYSTEM):
                        report.malformed_code += 1
                        report.add_example(SkipReason.MALFORMED_CODE, f"{system}:{code}")
                    else:
                        report.null_code += 1
                else:
                    keep.append(i)
                    keys.append(key)
            if not keep:
                continue
            kept = [rows[i] for i in keep]
            times = parse_times(np.asarray([r[1] for r in kept], dtype=object))
            report.null_time += times.n_null
            report.unparsable_time += times.n_unparsable
            report.rows_yielded += len(kept)
            system_arr = np.asarray([k[0] for k in keys], dtype=object)
            yield EventChunk(
                patient_id=to_patient_ids([r[0] for r in kept], f"table {schema.tables['events']!r}"),
                time=times.times,
                system=system_arr,
                code=np.asarray([k[1] for k in keys], dtype=object),
                value=to_float_values([r[4] for r in kept]),
                domain=system_arr.copy(),
            )


def patient_ids(engine: Engine, schema: PatientSchema) -> np.ndarray:
    if "patients" in schema.tables:
        actual = schema.tables["patients"]
        cols = column_names(engine, actual)
        if "patient_id" not in cols:
            raise SchemaError(f"table {actual!r} has no column 'patient_id'", fix="patients(patient_id, birth_date, sex)",
                              code="E212")
        pid = sql_table(actual, [cols["patient_id"]]).c[cols["patient_id"]]
        query = sa.select(pid).where(pid.is_not(None))
    else:
        ev, cols = _events(engine, schema)
        pid = ev.c[cols["patient_id"]]
        query = sa.select(pid).where(pid.is_not(None)).distinct()
        actual = schema.tables["events"]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # the DB-API cursor: a list of tuples, no result object per row
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(str(query.compile(dialect=engine.dialect)))
                values = [row[0] for row in cursor.fetchall()]
            finally:
                cursor.close()
        else:
            values = list(conn.execute(query).scalars())
    return sorted_unique(to_patient_ids(values, f"table {actual!r}"))
