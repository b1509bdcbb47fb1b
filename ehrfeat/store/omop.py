"""Reading OMOP CDM 5.3/5.4 clinical tables through CONCEPT.

Each row's concept is its standard ``*_concept_id`` when that is non-zero and
in CONCEPT, else its ``*_source_concept_id`` (same test), else the row is
unmapped and reported with its ``*_source_value``. A concept becomes the code
``(canonical_system(vocabulary_id), normalize_code(concept_code))`` with
``concept_name`` as its text. Without a CONCEPT table, codes are OMOP concept
ids (system ``OMOP``) and have no text. :class:`ConceptIds` goes the other way:
a code to its source and standard concept ids (for NOTE_NLP rows).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.codes import OMOP, Code, canonical_system, normalize_code
from ehrfeat.errors import EhrfeatError, SchemaError
from ehrfeat.store.database import column_names, sql_table, table_names
from ehrfeat.store.dates import parse_times
from ehrfeat.store.native import Key, RawGroup
from ehrfeat.store.records import EventChunk, EventReadReport, SkipCollector, to_float_values, to_patient_ids
from ehrfeat.store.schema import OMOP_DOMAIN_TABLES, PatientSchema, omop_event_columns

__all__ = ["ConceptIds", "code_groups", "iter_chunks", "patient_ids", "patient_refs"]

UNMAPPED = "unmapped concept (source value only)"
_IN_BATCH = 500


@dataclass(frozen=True)
class _Domain:
    name: str
    select_from: Any  # the clinical table, outer-joined to CONCEPT when there is one
    person: Any
    concept: Any  # the effective concept id (NULL when unmapped)
    vocabulary: Any  # the effective concept's vocabulary_id (NULL without CONCEPT)
    source_value: Any
    time: Any
    value: Any


def _concept_table(engine: Engine, schema: PatientSchema) -> sa.TableClause | None:
    if "concept" not in schema.tables:
        return None
    actual = schema.tables["concept"]
    cols = column_names(engine, actual)
    for col in ("concept_id", "vocabulary_id", "concept_code"):
        if col not in cols:
            raise SchemaError(f"OMOP table {actual!r} has no column {col!r}",
                              fix="load CONCEPT with the OMOP CDM columns (ehrfeat import-omop)", code="E213")
    names = ["concept_id", "vocabulary_id", "concept_code", *(["concept_name"] if "concept_name" in cols else [])]
    return sql_table(actual, [cols[c] for c in names])


def _domains(engine: Engine, schema: PatientSchema) -> Iterator[_Domain]:
    concept = _concept_table(engine, schema)
    for name, logical in OMOP_DOMAIN_TABLES.items():
        if logical not in schema.tables:
            continue
        cols = column_names(engine, schema.tables[logical])
        tbl = sql_table(schema.tables[logical], list(cols.values()))
        col = functools.partial(_column, tbl, cols)

        concept_col, date_col = omop_event_columns(logical)
        cid, scid = col(concept_col), col(concept_col.replace("_concept_id", "_source_concept_id"))
        datetime_col = col(date_col.replace("_date", "_datetime"))
        time = sa.func.coalesce(datetime_col, col(date_col)) if datetime_col is not None else col(date_col)
        value = col("value_as_number") if "value_as_number" in cols else sa.null()
        source_value = col(concept_col.replace("_concept_id", "_source_value"))
        joined: Any = tbl
        eff: Any
        if concept is None:
            eff = sa.func.nullif(cid, 0)
            if scid is not None:
                eff = sa.func.coalesce(eff, sa.func.nullif(scid, 0))
            vocab: Any = sa.null()
        else:
            c1 = concept.alias(f"c_{name}")
            joined = joined.outerjoin(c1, sa.and_(c1.c[0] == cid, cid != 0))
            eff, vocab = c1.c[0], c1.c[1]
            if scid is not None:
                c2 = concept.alias(f"s_{name}")
                joined = joined.outerjoin(c2, sa.and_(c2.c[0] == scid, scid != 0))
                eff = sa.func.coalesce(c1.c[0], c2.c[0])
                vocab = sa.case((c1.c[0].is_not(None), c1.c[1]), else_=c2.c[1])
        yield _Domain(name, joined, col("person_id"), eff, vocab,
                      source_value if source_value is not None else sa.null(), time, value)


def _column(tbl: sa.TableClause, cols: dict[str, str], lower: str) -> Any:
    return tbl.c[cols[lower]] if lower in cols else None


class _Concepts:
    """concept_id -> canonical key (or a failure reason) and name, looked up in batches and cached."""

    def __init__(self, engine: Engine, schema: PatientSchema) -> None:
        self.table = _concept_table(engine, schema)
        self.keys: dict[int, Key | str] = {}
        self.names: dict[int, str | None] = {}
        self.raw: dict[int, str] = {}

    def resolve(self, conn: Connection, ids: Iterable[int]) -> None:
        todo = sorted({int(i) for i in ids} - self.keys.keys())
        if self.table is None:
            for i in todo:
                self.keys[i], self.names[i], self.raw[i] = (OMOP, str(i)), None, str(i)
            return
        c = self.table.c
        name_col = c[3] if len(c) > 3 else sa.null()
        for start in range(0, len(todo), _IN_BATCH):
            batch = todo[start:start + _IN_BATCH]
            for cid, vocab, code, name in conn.execute(sa.select(c[0], c[1], c[2], name_col).where(c[0].in_(batch))):
                self.keys[int(cid)] = _key(vocab, code)
                self.names[int(cid)] = str(name).strip() or None if name is not None else None
                self.raw[int(cid)] = f"{vocab}:{code}"


def _key(vocab: object, code: object) -> Key | str:
    if vocab is None or code is None or not str(code).strip():
        return "null code"
    try:
        system = canonical_system(str(vocab))
        return system, normalize_code(system, code)
    except EhrfeatError:
        return "malformed code"


def code_groups(engine: Engine, schema: PatientSchema, systems: Collection[str] | None, skips: SkipCollector) -> list[RawGroup]:
    concepts, groups = _Concepts(engine, schema), []
    with engine.connect() as conn:
        for d in _domains(engine, schema):
            query = sa.select(d.concept, sa.func.count(), sa.func.count(sa.distinct(d.person)))
            rows = conn.execute(query.select_from(d.select_from).group_by(d.concept)).all()
            concepts.resolve(conn, (r[0] for r in rows if r[0] is not None))
            for cid, n, n_pat in rows:
                if cid is None:
                    if systems is None:
                        examples = conn.execute(sa.select(d.source_value).select_from(d.select_from)
                                                .where(d.concept.is_(None), d.source_value.is_not(None))
                                                .distinct().limit(5)).scalars().all()
                        skips.add(f"{UNMAPPED} (rows)", n)
                        for example in examples:
                            skips.add(f"{UNMAPPED} (rows)", 0, f"{d.name}:{example}")
                    continue
                key = concepts.keys[int(cid)]
                if isinstance(key, str):
                    if systems is None:
                        skips.add(f"{key} (rows)", n, concepts.raw.get(int(cid)))
                elif systems is None or key[0] in systems:
                    groups.append(RawGroup((d.name, int(cid)), key, int(n), int(n_pat), d.name, int(cid),
                                           concepts.names.get(int(cid))))
    return groups


def patient_refs(
    engine: Engine, schema: PatientSchema, refs: Collection[tuple[object, ...]], chunk_size: int
) -> Iterator[list[tuple[object, tuple[object, ...]]]]:
    """Distinct (person_id, (domain, concept_id)) pairs of the concepts in ``refs``, streamed in chunks."""
    for d in _domains(engine, schema):
        ids = sorted({int(cid) for name, cid in refs if name == d.name})  # type: ignore[call-overload]
        query = sa.select(d.person, d.concept).select_from(d.select_from).distinct()
        with engine.connect() as conn:
            for start in range(0, len(ids), _IN_BATCH):
                batch = query.where(d.concept.in_(ids[start:start + _IN_BATCH]))
                result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(batch)
                for rows in result.partitions(chunk_size):
                    yield [(pid, (d.name, int(cid))) for pid, cid in rows]


def iter_chunks(
    engine: Engine, schema: PatientSchema, systems: Collection[str] | None, chunk_size: int, report: EventReadReport
) -> Iterator[EventChunk]:
    concepts = _Concepts(engine, schema)
    for d in _domains(engine, schema):
        query = sa.select(d.person, d.time, d.concept, d.value, d.source_value).select_from(d.select_from)
        with engine.connect() as conn:
            if systems is not None:
                raw = _raw_vocabularies(conn, concepts.table, systems)
                query = query.where(d.vocabulary.in_(raw)) if concepts.table is not None else query
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(query)
            for rows in result.partitions(chunk_size):
                report.rows_read += len(rows)
                concepts.resolve(conn, (r[2] for r in rows if r[2] is not None))
                kept, keys = [], []
                for row in rows:
                    pid, cid = row[0], row[2]
                    key = concepts.keys[int(cid)] if cid is not None else UNMAPPED
                    if pid is None:
                        report.null_patient += 1
                    elif key == UNMAPPED:
                        report.unmapped_concept += 1
                        report.add_example(UNMAPPED, f"{d.name}:{row[4]}")
                    elif key == "malformed code":
                        report.malformed_code += 1
                        report.add_example("malformed code", concepts.raw.get(int(cid)))
                    elif isinstance(key, str):
                        report.null_code += 1
                    elif systems is None or key[0] in systems:
                        kept.append(row)
                        keys.append(key)
                if not kept:
                    continue
                times = parse_times(np.asarray([r[1] for r in kept], dtype=object))
                report.null_time += times.n_null
                report.unparsable_time += times.n_unparsable
                report.rows_yielded += len(kept)
                yield EventChunk(
                    patient_id=to_patient_ids([r[0] for r in kept], f"OMOP {d.name} table"),
                    time=times.times,
                    system=np.asarray([k[0] for k in keys], dtype=object),
                    code=np.asarray([k[1] for k in keys], dtype=object),
                    value=to_float_values([r[3] for r in kept]),
                    domain=np.full(len(kept), d.name, dtype=object),
                )


def _raw_vocabularies(conn: Connection, concept: sa.TableClause | None, systems: Collection[str]) -> list[str]:
    if concept is None:
        return []
    found = conn.execute(sa.select(concept.c[1]).distinct()).scalars()
    out = []
    for vocab in found:
        try:
            if vocab is not None and canonical_system(str(vocab)) in systems:
                out.append(vocab)
        except EhrfeatError:
            continue
    return out


def patient_ids(engine: Engine, schema: PatientSchema) -> np.ndarray:
    actual = schema.tables["person"]
    cols = column_names(engine, actual)
    if "person_id" not in cols:
        raise SchemaError(f"OMOP table {actual!r} has no column 'person_id'", fix="load PERSON with its CDM columns",
                          code="E213")
    pid = sql_table(actual, [cols["person_id"]]).c[cols["person_id"]]
    with engine.connect() as conn:
        values = list(conn.execute(sa.select(pid).where(pid.is_not(None))).scalars())
    return np.unique(to_patient_ids(values, f"OMOP table {actual!r}"))


class ConceptIds:
    """``(system, code)`` -> ``(source concept id, standard concept id)`` through OMOP CONCEPT (and ``Maps to``)."""

    def __init__(self, engine: Engine) -> None:
        names = table_names(engine)
        self._concept = self._relationship = None
        if "concept" in names:
            cols = column_names(engine, names["concept"])
            wanted = ["concept_id", "vocabulary_id", "concept_code", "standard_concept"]
            if all(c in cols for c in wanted[:3]):
                self._concept = sql_table(names["concept"], [cols[c] for c in wanted if c in cols])
        if "concept_relationship" in names:
            cols = column_names(engine, names["concept_relationship"])
            if all(c in cols for c in ("concept_id_1", "concept_id_2", "relationship_id")):
                self._relationship = sql_table(names["concept_relationship"], [cols["concept_id_1"], cols["concept_id_2"], cols["relationship_id"]])
        self._cache: dict[Code, tuple[int, int]] = {}

    def resolve(self, conn: Connection, codes: Iterable[Code]) -> dict[Code, tuple[int, int]]:
        todo = sorted({c for c in codes if c not in self._cache})
        found: dict[Code, tuple[int, str | None]] = {}
        for code in todo:
            if code.system == OMOP and code.code.isdigit():
                found[code] = (int(code.code), "S")
        if self._concept is not None:
            c = self._concept.c
            raw = sorted({code.code for code in todo} | {code.code.replace(".", "") for code in todo})
            for start in range(0, len(raw), _IN_BATCH):
                query = sa.select(*c).where(c[2].in_(raw[start : start + _IN_BATCH]))
                for row in conn.execute(query):
                    raw_key = _key(row[1], row[2])
                    key = Code(*raw_key) if isinstance(raw_key, tuple) else None
                    if key is not None and key in todo:
                        found.setdefault(key, (int(row[0]), row[3] if len(row) > 3 else None))
        standard = self._maps_to(conn, [cid for cid, flag in found.values() if flag != "S"])
        for code in todo:
            if code in found:
                cid, flag = found[code]
                self._cache[code] = (cid, cid if flag == "S" else standard.get(cid, 0))
            else:
                self._cache[code] = (0, 0)
        return {code: self._cache[code] for code in codes}

    def _maps_to(self, conn: Connection, ids: Collection[int]) -> dict[int, int]:
        if self._relationship is None or not ids:
            return {}
        c = self._relationship.c
        out: dict[int, int] = {}
        values = sorted(ids)
        for start in range(0, len(values), _IN_BATCH):
            query = sa.select(c[0], c[1]).where(c[0].in_(values[start : start + _IN_BATCH]), c[2] == "Maps to")
            for a, b in conn.execute(query):
                out.setdefault(int(a), int(b))
        return out

