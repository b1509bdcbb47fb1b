"""The patient database: opening it, detecting its schema (OMOP CDM or native), reading codes and events."""

from __future__ import annotations

from ehrfeat.store.backends import BACKENDS, StoreBackend, backend_for
from ehrfeat.store.database import open_database, table_names, validate_identifier
from ehrfeat.store.dates import ParsedTimes, parse_times
from ehrfeat.store.embeddings import DEFAULT_TABLE, CodeEmbeddings, EmbeddingCache
from ehrfeat.store.events import distinct_codes, iter_events, patient_ids
from ehrfeat.store.omop_import import ImportReport, import_omop
from ehrfeat.store.records import CodeCount, EventChunk, EventReadReport, RawGroup, SkipReason, SkipReport
from ehrfeat.store.schema import NATIVE_DDL, PatientSchema, create_native_schema, detect_schema

__all__ = [
    "BACKENDS",
    "DEFAULT_TABLE",
    "NATIVE_DDL",
    "CodeCount",
    "CodeEmbeddings",
    "EmbeddingCache",
    "EventChunk",
    "EventReadReport",
    "ImportReport",
    "ParsedTimes",
    "PatientSchema",
    "RawGroup",
    "SkipReason",
    "SkipReport",
    "StoreBackend",
    "backend_for",
    "create_native_schema",
    "detect_schema",
    "distinct_codes",
    "import_omop",
    "iter_events",
    "open_database",
    "parse_times",
    "patient_ids",
    "table_names",
    "validate_identifier",
]
