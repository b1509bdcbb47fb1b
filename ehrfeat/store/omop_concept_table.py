"""OMOP's CONCEPT table as ehrfeat reads it: one row per concept id, under the ``--duplicate-concepts`` rule.

:class:`Concepts` looks concept ids up in it in batches: each id's canonical code (or why
it has none) and its name.

A CONCEPT table that lists a concept id twice would map that concept's events to
either row's code and count them twice: ``error`` (the default) refuses it with
E1222, ``first`` keeps the first row by (vocabulary_id, concept_code), ``skip``
drops those ids (their events fall back to source values). The repeated ids are
counted once per engine and put into the run's summary.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.codes import OMOP, canonical_system, normalize_code
from ehrfeat.errors import EhrfeatError, InputError, SchemaError
from ehrfeat.store.database import column_names, in_batches, sql_table
from ehrfeat.store.records import Key, SkipReason
from ehrfeat.store.schema import PatientSchema

__all__ = ["Concepts", "RepeatedConcepts", "add_repeated_concepts", "concept_key", "concept_table", "repeated_concepts",
           "repeated_concepts_error"]


def concept_table(engine: Engine, schema: PatientSchema) -> Any:
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


class Concepts:
    """concept_id -> canonical key (or a failure reason) and name, looked up in batches and cached."""

    def __init__(self, engine: Engine, schema: PatientSchema) -> None:
        self.table = concept_table(engine, schema)
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
                self.keys[int(cid)] = concept_key(vocab, code)
                self.names[int(cid)] = str(name).strip() or None if name is not None else None
                self.raw[int(cid)] = f"{vocab}:{code}"


def concept_key(vocab: object, code: object) -> Key | SkipReason:
    """The canonical code of a CONCEPT row (vocabulary_id, concept_code), or why it has none."""
    if vocab is None or code is None or not str(code).strip():
        return SkipReason.NULL_CODE
    try:
        system = canonical_system(str(vocab))
        return system, normalize_code(system, code)
    except EhrfeatError:
        return SkipReason.MALFORMED_CODE
