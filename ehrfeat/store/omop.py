"""Reading OMOP CDM 5.3/5.4 clinical tables through CONCEPT, or through their source values.

Each row's concept is its standard ``*_concept_id`` when that is non-zero and
in CONCEPT, else its ``*_source_concept_id`` (same test). A concept becomes the code
``(canonical_system(vocabulary_id), normalize_code(concept_code))`` with
``concept_name`` as its text. A row whose concepts CONCEPT does not know (or any row,
when there is no CONCEPT table) is keyed by its ``*_source_value`` instead
(:mod:`ehrfeat.store.source_values`: a recognised ICD/PCS code, or ``SOURCE_TEXT``), or
reported as unresolved with the reason. Every row has exactly one key (or none), decided
by the database as it is now: after the vocabularies are loaded, a row keyed by its source
value before is keyed by its concept, never by both.
:class:`ehrfeat.store.omop_concepts.ConceptIds` goes the other way (codes to concept ids).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.codes import canonical_system
from ehrfeat.errors import EhrfeatError, SchemaError
from ehrfeat.store.database import column_names, in_batches, sql_table
from ehrfeat.store.dates import parse_times
from ehrfeat.store.omop_concept_table import Concepts, concept_table
from ehrfeat.store.records import (
    EventChunk,
    EventReadReport,
    Key,
    RawGroup,
    SkipCollector,
    SkipReason,
    to_float_values,
    to_patient_ids,
)
from ehrfeat.store.schema import OMOP_DOMAIN_TABLES, PatientSchema, omop_event_columns
from ehrfeat.store.source_values import SourceClassifier
from ehrfeat.store.usage import ValueUsage

__all__ = ["code_groups", "code_texts", "iter_chunks", "patient_ids", "patient_refs"]

UNMAPPED = SkipReason.UNMAPPED
_SRC = "src"  # refs of source-value groups: (domain, "src", raw source value)


@dataclass(frozen=True)
class _Domain:
    name: str
    select_from: Any  # the clinical table, outer-joined to CONCEPT when there is one
    person: Any
    concept: Any  # the effective concept id (NULL when unmapped); None without a CONCEPT table
    vocabulary: Any  # the effective concept's vocabulary_id (NULL without CONCEPT)
    source_value: Any
    time: Any
    value: Any


def _domains(engine: Engine, schema: PatientSchema) -> Iterator[_Domain]:
    concept = concept_table(engine, schema)
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
        vocab: Any
        if concept is None:  # no CONCEPT: no concept is known, every row uses its source value
            eff, vocab = None, sa.null()
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


def code_groups(
    engine: Engine,
    schema: PatientSchema,
    systems: Collection[str] | None,
    skips: SkipCollector,
    usage: list[ValueUsage] | None = None,
) -> list[RawGroup]:
    concepts, groups = Concepts(engine, schema), []
    classifier = SourceClassifier(schema.source_systems)
    seen: list[ValueUsage] = usage if usage is not None else []
    with engine.connect() as conn:
        for d in _domains(engine, schema):
            unmapped = True
            if d.concept is not None:
                query = sa.select(d.concept, sa.func.count(), sa.func.count(sa.distinct(d.person)))
                rows = conn.execute(query.select_from(d.select_from).group_by(d.concept)).all()
                concepts.resolve(conn, (r[0] for r in rows if r[0] is not None))
                unmapped = any(r[0] is None for r in rows)
                for cid, n, n_pat in rows:
                    if cid is None:
                        continue
                    key = concepts.keys[int(cid)]
                    if isinstance(key, SkipReason):
                        seen.append(ValueUsage(d.name, "unresolved", str(cid), None, f"concept with a {key}", int(n)))
                        if systems is None:
                            skips.add(key.rows, n, concepts.raw.get(int(cid)))
                        continue
                    seen.append(ValueUsage(d.name, "concept", str(cid), key, None, int(n)))
                    if systems is None or key[0] in systems:
                        groups.append(RawGroup((d.name, int(cid)), key, int(n), int(n_pat), d.name, int(cid),
                                               concepts.names.get(int(cid))))
            if unmapped:
                groups += _source_groups(conn, d, classifier, systems, skips, seen)
    return groups


def _source_groups(
    conn: Connection, d: _Domain, classifier: SourceClassifier, systems: Collection[str] | None, skips: SkipCollector,
    usage: list[ValueUsage],
) -> list[RawGroup]:
    """Groups of the rows without a known concept, by source value."""
    query = sa.select(d.source_value, sa.func.count(), sa.func.count(sa.distinct(d.person))).select_from(d.select_from)
    if d.concept is not None:
        query = query.where(d.concept.is_(None))
    groups = []
    for raw, n, n_pat in conn.execute(query.group_by(d.source_value)):
        kind, key, text = classifier.classify(d.name, raw)
        if key is None:
            usage.append(ValueUsage(d.name, "unresolved", "" if raw is None else str(raw), None, kind, int(n)))
            if systems is None:
                skips.add(UNMAPPED.rows_of(kind), n, None if raw is None else f"{d.name}:{raw}")
            continue
        usage.append(ValueUsage(d.name, kind, str(raw), key, None, int(n)))
        if systems is None or key[0] in systems:
            groups.append(RawGroup((d.name, _SRC, raw), key, int(n), int(n_pat), d.name, None, text))
    return groups


def patient_refs(
    engine: Engine, schema: PatientSchema, refs: Collection[tuple[object, ...]], chunk_size: int
) -> Iterator[list[tuple[object, tuple[object, ...]]]]:
    """Distinct (person_id, ref) pairs of the refs asked for: (domain, concept_id) or (domain, "src", source value)."""
    for d in _domains(engine, schema):
        ids = sorted({int(r[1]) for r in refs if r[0] == d.name and len(r) == 2})  # type: ignore[call-overload]
        values = sorted({str(r[2]) for r in refs if r[0] == d.name and len(r) == 3})
        with engine.connect() as conn:
            if d.concept is not None:
                query = sa.select(d.person, d.concept).select_from(d.select_from).distinct()
                for ids_batch in in_batches(ids):
                    batch = query.where(d.concept.in_(ids_batch))
                    result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(batch)
                    for rows in result.partitions(chunk_size):
                        yield [(pid, (d.name, int(cid))) for pid, cid in rows]
            query = sa.select(d.person, d.source_value).select_from(d.select_from).distinct()
            if d.concept is not None:
                query = query.where(d.concept.is_(None))
            for values_batch in in_batches(values):
                batch = query.where(d.source_value.in_(values_batch))
                result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(batch)
                for rows in result.partitions(chunk_size):
                    yield [(pid, (d.name, _SRC, raw)) for pid, raw in rows]


def iter_chunks(
    engine: Engine, schema: PatientSchema, systems: Collection[str] | None, chunk_size: int, report: EventReadReport
) -> Iterator[EventChunk]:
    concepts = Concepts(engine, schema)
    classifier = SourceClassifier(schema.source_systems)
    for d in _domains(engine, schema):
        concept = d.concept if d.concept is not None else sa.null()
        query = sa.select(d.person, d.time, concept, d.value, d.source_value).select_from(d.select_from)
        # concepts are looked up on a second connection: DuckDB ends a streamed result (silently, after its
        # first chunk) when the same connection runs another query
        with engine.connect() as conn, engine.connect() as lookup:
            if systems is not None and d.concept is not None:
                raw = _raw_vocabularies(conn, concepts.table, systems)
                query = query.where(sa.or_(d.vocabulary.in_(raw), d.concept.is_(None)))
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(query)
            for rows in result.partitions(chunk_size):
                report.rows_read += len(rows)
                concepts.resolve(lookup, (r[2] for r in rows if r[2] is not None))
                kept, keys = [], []
                for row in rows:
                    pid, cid, reason = row[0], row[2], ""
                    if cid is not None:
                        key: Key | SkipReason = concepts.keys[int(cid)]
                    else:
                        kind, src_key, _ = classifier.classify(d.name, row[4])
                        key, reason = (src_key, "") if src_key is not None else (UNMAPPED, kind)
                    if pid is None:
                        report.null_patient += 1
                    elif key == UNMAPPED:
                        report.unmapped_concept += 1
                        report.add_example(UNMAPPED, f"{d.name}:{row[4]} ({reason})")
                    elif key == SkipReason.MALFORMED_CODE:
                        report.malformed_code += 1
                        report.add_example(SkipReason.MALFORMED_CODE, concepts.raw.get(int(cid)))
                    elif isinstance(key, SkipReason):
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


def code_texts(engine: Engine, schema: PatientSchema, keys: Collection[Key]) -> dict[Key, str]:
    """No texts beyond the groups' own: an OMOP code's text is its CONCEPT name or source text, read with the group."""
    return {}


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

