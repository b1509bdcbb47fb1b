"""The protocol every patient-database backend satisfies, and the backends by schema kind.

A backend reads one kind of schema (:attr:`PatientSchema.kind`): it groups raw codes,
streams events and lists patients, and :mod:`ehrfeat.store.events` does the rest
(merging raw forms of one code, recounting patients) the same way for all. A new
backend (a module or an object with these five functions) is added to :data:`BACKENDS`
under the kind :func:`~ehrfeat.store.schema.detect_schema` gives it.

Every patient store, SQL or not, is a :class:`PatientStore`: it lists its patients and
reads its rows in batches, counting what it skips by reason. A database is one through
:class:`ehrfeat.store.events.SqlStore` (its engine and schema bound to its backend); a MEDS
folder (:class:`ehrfeat.store.meds.MedsDataset`, no engine, no SQL schema kind) is one itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
from sqlalchemy.engine import Engine

from ehrfeat.errors import InputError
from ehrfeat.store import native, omop
from ehrfeat.store.records import EventChunk, EventReadReport, Key, RawGroup, SkipCollector
from ehrfeat.store.schema import PatientSchema
from ehrfeat.store.usage import ValueUsage

__all__ = ["BACKENDS", "PatientStore", "StoreBackend", "backend_for"]

ReportT = TypeVar("ReportT", contravariant=True)
BatchT = TypeVar("BatchT", covariant=True)


@runtime_checkable
class PatientStore(Protocol[ReportT, BatchT]):
    """What every patient store answers, whatever holds it: its patients, and its rows in batches."""

    def patient_ids(self) -> np.ndarray:
        """Every patient id, sorted int64."""
        ...

    def iter_batches(self, report: ReportT | None = None, batch_size: int = ...) -> Iterator[BatchT]:
        """Every usable row, in batches of at most ``batch_size`` rows; rows that cannot be used are counted
        by reason in ``report`` (a store's own read report)."""
        ...


class StoreBackend(Protocol):
    """Reads codes, events and patients of one kind of patient database."""

    def code_groups(
        self,
        engine: Engine,
        schema: PatientSchema,
        systems: Collection[str] | None,
        skips: SkipCollector,
        usage: list[ValueUsage] | None = None,
    ) -> list[RawGroup]:
        """Every raw code form with its canonical key and counts (of ``systems`` only, when given);
        rows that cannot be used are counted in ``skips``; ``usage``, when the backend reports it,
        receives what became of each distinct stored value (for the coverage report)."""
        ...

    def patient_refs(
        self, engine: Engine, schema: PatientSchema, refs: Collection[tuple[object, ...]], chunk_size: int
    ) -> Iterator[list[tuple[object, tuple[object, ...]]]]:
        """Distinct (patient id, raw ref) pairs of the raw forms in ``refs`` (maybe others too), in chunks."""
        ...

    def code_texts(self, engine: Engine, schema: PatientSchema, keys: Collection[Key]) -> dict[Key, str]:
        """Descriptions of the canonical ``keys`` beyond the groups' own texts (may be empty)."""
        ...

    def iter_chunks(
        self,
        engine: Engine,
        schema: PatientSchema,
        systems: Collection[str] | None,
        chunk_size: int,
        report: EventReadReport,
    ) -> Iterator[EventChunk]:
        """All usable events in chunks of at most ``chunk_size`` rows, counting what is skipped in ``report``."""
        ...

    def patient_ids(self, engine: Engine, schema: PatientSchema) -> np.ndarray:
        """All patient ids, sorted int64."""
        ...


#: The backend of each schema kind.
BACKENDS: Mapping[str, StoreBackend] = {"omop": omop, "native": native}


def backend_for(schema: PatientSchema) -> StoreBackend:
    """The backend that reads ``schema``; :class:`InputError` for a kind no backend reads."""
    try:
        return BACKENDS[schema.kind]
    except KeyError:
        raise InputError(f"unknown schema kind {schema.kind!r}", fix="use detect_schema(engine)", code="E128") from None
