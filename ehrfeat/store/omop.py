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
import weakref
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.codes import OMOP, canonical_system, normalize_code
from ehrfeat.errors import EhrfeatError, InputError, SchemaError
from ehrfeat.store.database import column_names, in_batches, sql_table
from ehrfeat.store.dates import parse_times
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

__all__ = ["RepeatedConcepts", "add_repeated_concepts", "code_groups", "code_texts", "iter_chunks", "patient_ids", "patient_refs", "repeated_concepts",
           "repeated_concepts_error"]

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


def _concept_table(engine: Engine, schema: PatientSchema) -> Any:
    """CONCEPT's (concept_id, vocabulary_id, concept_code[, concept_name]) columns, one row per concept id by
    ``schema.duplicate_concepts``: ``error`` refuses repeated ids, ``first`` keeps the first row by
    (vocabulary_id, concept_code), ``skip`` drops repeated ids (their events fall back to source values)."""
    if "concept" not in schema.tables:
        return None
    actual = schema.tables["concept"]
    cols = column_names(engine, actual)
    for col in ("concept_id", "vocabulary_id", "concept_code"):
        if col not in cols:
            raise SchemaError(f"OMOP table {actual!r} has no column {col!r}",
                              fix="load CONCEPT with the OMOP CDM columns (ehrfeat import-omop)", code="E213")
    names = ["concept_id", "vocabulary_id", "concept_code", *(["concept_name"] if "concept_name" in cols else [])]
    table = sql_table(actual, [cols[c] for c in names])
    repeated = repeated_concepts(engine, schema)
    if not repeated.ids:
        return table
    rule = schema.duplicate_concepts
    if rule == "first":
        rank = sa.func.row_number().over(partition_by=table.c[0], order_by=(table.c[1], table.c[2])).label("ehrfeat_rank")
        ranked = sa.select(*table.c, rank).subquery("concept_ranked")
        return sa.select(*(ranked.c[c.name] for c in table.c)).where(ranked.c.ehrfeat_rank == 1).subquery("concept_first")
    if rule == "skip":
        once = sa.select(table.c[0]).group_by(table.c[0]).having(sa.func.count() == 1)
        return sa.select(*table.c).where(table.c[0].in_(once)).subquery("concept_once")
    raise repeated_concepts_error(actual, repeated)


def repeated_concepts_error(actual: str, repeated: RepeatedConcepts) -> InputError:
    """E1222 for CONCEPT table ``actual`` listing ``repeated`` ids more than once (one machine and Spark)."""
    shown = ", ".join(str(i) for i in repeated.examples) + (" and more" if repeated.ids > len(repeated.examples) else "")
    return InputError(
        f"OMOP table {actual!r} lists {repeated.ids} concept ids more than once: {shown}; events of those concepts would map to "
        "either row's code and be counted twice",
        fix=f"choose a rule: --duplicate-concepts first (keep the first row by vocabulary_id, concept_code) or skip (drop those "
        f"ids); or keep one row per concept_id in {actual} (e.g. DELETE FROM {actual} WHERE rowid NOT IN "
        f"(SELECT min(rowid) FROM {actual} GROUP BY concept_id) on SQLite), or re-import CONCEPT.csv with --replace",
        code="E1222",
    )


@dataclass(frozen=True)
class RepeatedConcepts:
    """How many concept ids CONCEPT lists more than once, and the first few."""

    ids: int
    examples: tuple[int, ...]

    def reason(self, rule: str) -> str:
        kept = "the first row by vocabulary_id, concept_code used" if rule == "first" else "their events use source values"
        return f"concept ids listed more than once in CONCEPT (--duplicate-concepts {rule}: {kept})"


_REPEATED: weakref.WeakKeyDictionary[Engine, dict[str, RepeatedConcepts]] = weakref.WeakKeyDictionary()


def repeated_concepts(engine: Engine, schema: PatientSchema) -> RepeatedConcepts:
    """The repeated concept ids of the schema's CONCEPT table (counted once per engine)."""
    actual = schema.tables.get("concept")
    if actual is None:
        return RepeatedConcepts(0, ())
    known = _REPEATED.setdefault(engine, {})
    if actual not in known:
        cid = sql_table(actual, [column_names(engine, actual)["concept_id"]]).c[0]
        groups = sa.select(cid).group_by(cid).having(sa.func.count() > 1)
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(groups.subquery())).scalar_one()
            first = conn.execute(groups.order_by(cid).limit(5)).scalars().all()
        known[actual] = RepeatedConcepts(int(total), tuple(int(i) for i in first))
    return known[actual]


def add_repeated_concepts(engine: Engine, schema: PatientSchema, counts: dict[str, int], examples: dict[str, list[str]] | None = None) -> None:
    """Put the repeated concept ids a ``first``/``skip`` rule handled into a summary's counts (and examples)."""
    if schema.kind != "omop" or "concept" not in schema.tables:
        return
    repeated = repeated_concepts(engine, schema)
    if repeated.ids and schema.duplicate_concepts != "error":
        reason = repeated.reason(schema.duplicate_concepts)
        counts[reason] = repeated.ids
        if examples is not None:
            examples[reason] = [str(i) for i in repeated.examples]


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


class _Concepts:
    """concept_id -> canonical key (or a failure reason) and name, looked up in batches and cached."""

    def __init__(self, engine: Engine, schema: PatientSchema) -> None:
        self.table = _concept_table(engine, schema)
        self.keys: dict[int, Key | SkipReason] = {}
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
        for batch in in_batches(todo):
            for cid, vocab, code, name in conn.execute(sa.select(c[0], c[1], c[2], name_col).where(c[0].in_(batch))):
                self.keys[int(cid)] = _key(vocab, code)
                self.names[int(cid)] = str(name).strip() or None if name is not None else None
                self.raw[int(cid)] = f"{vocab}:{code}"


def _key(vocab: object, code: object) -> Key | SkipReason:
    if vocab is None or code is None or not str(code).strip():
        return SkipReason.NULL_CODE
    try:
        system = canonical_system(str(vocab))
        return system, normalize_code(system, code)
    except EhrfeatError:
        return SkipReason.MALFORMED_CODE


def code_groups(
    engine: Engine,
    schema: PatientSchema,
    systems: Collection[str] | None,
    skips: SkipCollector,
    usage: list[ValueUsage] | None = None,
) -> list[RawGroup]:
    concepts, groups = _Concepts(engine, schema), []
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
    concepts = _Concepts(engine, schema)
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

