"""Codes and events of a patient database, whatever its schema (OMOP CDM or native).

:func:`distinct_codes` counts every code with SQL ``GROUP BY`` and merges raw
forms of one code (``E119``, ``e11.9 ``, ``E11.9``) into one :class:`CodeCount`;
patients of merged codes are recounted exactly by streaming the distinct
``(patient, raw code)`` pairs of those codes only. :func:`iter_events` streams
events in columnar chunks; neither ever holds a whole table in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import Engine

from ehrfeat.codes import canonical_system
from ehrfeat.errors import InputError
from ehrfeat.store.backends import backend_for
from ehrfeat.store.records import CodeCount, EventChunk, EventReadReport, Key, RawGroup, SkipCollector, SkipReport
from ehrfeat.store.schema import PatientSchema
from ehrfeat.store.usage import ValueUsage

if TYPE_CHECKING:
    from ehrfeat.store.backends import PatientStore

__all__ = [
    "CodeCount", "EventChunk", "EventReadReport", "SkipReport", "SqlStore", "distinct_codes", "iter_events", "patient_ids",
]

logger = logging.getLogger(__name__)


def _systems(systems: Sequence[str] | None) -> frozenset[str] | None:
    if systems is None:
        return None
    if isinstance(systems, str):
        systems = [systems]
    return frozenset(canonical_system(s) for s in systems)


def distinct_codes(
    engine: Engine,
    schema: PatientSchema,
    systems: Sequence[str] | None = None,
    *,
    usage: list[ValueUsage] | None = None,
) -> tuple[list[CodeCount], SkipReport]:
    """Every distinct canonical code with its event and patient counts, and what was skipped.

    ``systems`` keeps only those code systems (aliases accepted: ``icd-10-cm``).
    Codes come sorted by system, then by descending events, then code. For OMOP databases
    ``usage`` (a list) receives one :class:`~ehrfeat.store.usage.ValueUsage` per distinct stored
    value of each domain table, whatever became of it (for the coverage report).
    """
    backend, wanted, skips = backend_for(schema), _systems(systems), SkipCollector()
    groups: list[RawGroup] = backend.code_groups(engine, schema, wanted, skips, usage)
    by_key: dict[Key, list[RawGroup]] = {}
    for g in groups:
        by_key.setdefault(g.key, []).append(g)
    patients = {key: parts[0].n_patients for key, parts in by_key.items()}
    merged = {g.ref: key for key, parts in by_key.items() if len(parts) > 1 for g in parts}
    if merged:
        seen: dict[Key, set[object]] = {key: set() for key in set(merged.values())}
        for pairs in backend.patient_refs(engine, schema, merged.keys(), 200_000):
            for pid, ref in pairs:
                key = merged.get(ref)
                if key is not None and pid is not None:
                    seen[key].add(pid)
        patients.update({key: len(pids) for key, pids in seen.items()})
        logger.info("merged %d raw code forms into %d codes", len(merged), len(seen))
    texts = backend.code_texts(engine, schema, by_key.keys())
    out = []
    for key, parts in by_key.items():
        main = max(parts, key=lambda g: g.n_events)
        text = texts.get(key) or next((g.text for g in sorted(parts, key=lambda g: -g.n_events) if g.text), None)
        out.append(CodeCount(key[0], key[1], sum(g.n_events for g in parts), patients[key], text,
                             main.concept_id, main.domain))
    out.sort(key=lambda c: (c.system, -c.n_events, c.code))
    return out, skips.report()


def iter_events(
    engine: Engine,
    schema: PatientSchema,
    *,
    systems: Sequence[str] | None = None,
    chunk_size: int = 200_000,
    report: EventReadReport | None = None,
) -> Iterator[EventChunk]:
    """Stream all events as :class:`EventChunk` blocks of at most ``chunk_size`` rows.

    Rows with a null patient, a null or malformed code, or (OMOP) a concept
    that maps to nothing are not yielded; rows with a null or unparsable time
    are yielded with ``NaT``. All are counted in ``report`` when one is given.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, not {chunk_size}", fix="use e.g. 200_000", code="E105")
    yield from backend_for(schema).iter_chunks(engine, schema, _systems(systems), chunk_size,
                                            report if report is not None else EventReadReport())


def patient_ids(engine: Engine, schema: PatientSchema) -> np.ndarray:
    """All patient ids (OMOP ``person``, native ``patients`` or else the events' patients), sorted int64."""
    return backend_for(schema).patient_ids(engine, schema)


@dataclass(frozen=True)
class SqlStore:
    """A patient database as a :class:`~ehrfeat.store.backends.PatientStore`: its engine and schema, bound."""

    engine: Engine
    schema: PatientSchema

    def patient_ids(self) -> np.ndarray:
        return patient_ids(self.engine, self.schema)

    def iter_batches(self, report: EventReadReport | None = None, batch_size: int = 200_000) -> Iterator[EventChunk]:
        return iter_events(self.engine, self.schema, chunk_size=batch_size, report=report)


if TYPE_CHECKING:  # mypy checks that a bound database is a patient store

    def _is_a_patient_store(store: SqlStore) -> PatientStore[EventReadReport, EventChunk]:
        return store
