"""One vector per patient: a sparse patient x code weight matrix times the code-embedding matrix.

``patient_vectors("patients.db", as_of="2020-01-01", weighting="idf")`` streams the
events in chunks (never all in memory), keeps only events strictly before each
patient's as-of time (see :mod:`ehrfeat.patients.weights` for the exact rules),
and returns a :class:`PatientVectors` whose report counts every event not used,
by reason. Patients with no usable code get a zero row *and* ``no_codes=True``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.as_of import AsOf, resolve_as_of
from ehrfeat.patients.as_of_rule import apply_rule
from ehrfeat.patients.product import combine
from ehrfeat.patients.results import EventReport, PatientVectors, VectorReport, embedding_columns
from ehrfeat.patients.settings import DEFAULT_CHUNK, VectorSettings, now_seconds
from ehrfeat.patients.weights import CodeColumns, WeightAccumulator, WeightOptions, Weights, smooth_idf
from ehrfeat.store.database import bad_text_count
from ehrfeat.store.embeddings import DEFAULT_TABLE, CodeEmbeddings, EmbeddingCache

__all__ = [
    "BAD_TEXT",
    "DEFAULT_CHUNK",
    "EventReport",
    "PatientVectors",
    "VectorReport",
    "VectorSettings",
    "WeightsRead",
    "accumulate_weights",
    "combine",
    "embedding_columns",
    "load_embeddings",
    "open_inputs",
    "patient_vectors",
    "patient_weights",
]

BAD_TEXT = "text values not valid UTF-8 (decoded with replacement, kept)"

logger = logging.getLogger(__name__)

READ_ISSUES = {
    "null_patient": "rows without a patient id (not read)",
    "null_code": "rows without a code (not read)",
    "malformed_code": "rows with a malformed code or code system (not read)",
    "unmapped_concept": "rows whose OMOP concept maps to nothing (not read)",
    "null_time": "rows with a null time (read without a time)",
    "unparsable_time": "rows with an unparsable time (read without a time)",
}


def _read_issues(read: Any) -> dict[str, int]:
    """The store's read issues that happened (an ``EventReadReport``), by their reason."""
    return {reason: int(getattr(read, name)) for name, reason in READ_ISSUES.items() if getattr(read, name, 0)}


def load_embeddings(
    engine: Any, *, table: str = DEFAULT_TABLE, fingerprint: str | None = None, model: str | Path | None = None,
    systems: Sequence[str] | None = None,
) -> CodeEmbeddings:
    """The cached code vectors of one encoder: named by ``fingerprint``, by ``model``, or the only one present."""
    if fingerprint is None and model is not None:
        from ehrfeat.models.loader import model_fingerprint

        fingerprint = model_fingerprint(model)
    from ehrfeat.models.loader import default_fingerprint

    embeddings = EmbeddingCache(engine, table).load(fingerprint, systems, default=default_fingerprint)
    if len(embeddings) == 0:
        raise InputError(
            f"no cached code embeddings{' of systems ' + ', '.join(systems) if systems else ''} in table {table!r}",
            fix="run `ehrfeat embed-codes DB` (with the same --systems) first",
            code="E135",
        )
    return embeddings


def accumulate_weights(
    engine: Any, schema: Any, as_of: AsOf, columns: CodeColumns, options: WeightOptions, *,
    systems: Sequence[str] | None = None, chunk_size: int = DEFAULT_CHUNK, blocks: Sequence[str] | None = None,
) -> tuple[Weights, dict[str, int]]:
    """Stream the events once into a :class:`Weights`; also returns the store's read issues."""
    from ehrfeat.store.events import EventReadReport, iter_events

    accumulator = WeightAccumulator(
        as_of.patient_ids, as_of.as_of_s, columns, options, now_s=as_of.now_s, blocks=blocks, explicit_as_of=as_of.explicit
    )
    read = EventReadReport()
    for chunk in iter_events(engine, schema, systems=systems, chunk_size=chunk_size, report=read):
        accumulator.add(chunk)
    return accumulator.finish(), _read_issues(read)


def open_inputs(database: Any, settings: VectorSettings, fingerprint: str | None = None) -> tuple[Any, Any, CodeEmbeddings]:
    """The engine, schema and cached code embeddings that ``settings`` name (``fingerprint`` overrides theirs)."""
    from ehrfeat.store.database import open_database
    from ehrfeat.store.schema import detect_schema

    engine = database if hasattr(database, "dialect") else open_database(database)
    schema = detect_schema(engine)
    if settings.duplicate_concepts != "error":
        from dataclasses import replace as with_rule

        schema = with_rule(schema, duplicate_concepts=settings.duplicate_concepts)
    if settings.source_systems:
        from dataclasses import replace as with_fields

        from ehrfeat.store.source_values import parse_source_systems

        schema = with_fields(schema, source_systems=parse_source_systems(settings.source_systems))
    embeddings = load_embeddings(
        engine, table=settings.table, fingerprint=fingerprint or settings.fingerprint, model=settings.model,
        systems=settings.wanted_systems,
    )
    return engine, schema, embeddings


class WeightsRead(NamedTuple):
    """Weights, the store's read issues, which path read the events, and what that path did (indexes made)."""

    weights: Weights
    read_issues: dict[str, int]
    path: str
    notes: tuple[str, ...]


def patient_weights(
    engine: Any, schema: Any, cohort: AsOf, embeddings: CodeEmbeddings, settings: VectorSettings, *,
    blocks: Sequence[str] | None = None,
) -> WeightsRead:
    """The patient x code weights of ``cohort`` under ``settings``: by the database path where it applies.

    Both paths give the same weights and counts (see :mod:`ehrfeat.store.coded_events`).
    The as-of rule of ``settings`` (strict or inclusive) applies to both.
    """
    cohort = apply_rule(cohort, settings.as_of_rule)
    columns = CodeColumns(embeddings.codes)
    if settings.aggregate in ("auto", "database"):
        from ehrfeat.store.coded_events import Unsupported

        try:
            return _database_weights(engine, schema, cohort, columns, settings, blocks)
        except Unsupported as exc:
            if settings.aggregate == "database":
                raise InputError(f"the database path cannot read this database: {exc}",
                                 fix="use --aggregate events (or auto)", code="E1902") from exc
            logger.info("reading every event in Python: %s", exc)
    if settings.aggregate == "counts":
        return _counted(engine, schema, cohort, columns, settings, blocks)
    weights, issues = accumulate_weights(engine, schema, cohort, columns, settings.options(),
                                         systems=settings.wanted_systems, chunk_size=settings.chunk_size, blocks=blocks)
    return WeightsRead(weights, issues, "events", ())


def _counted(
    engine: Any, schema: Any, cohort: AsOf, columns: CodeColumns, settings: VectorSettings, blocks: Sequence[str] | None,
) -> WeightsRead:
    from ehrfeat.patients.counted import counted_weights
    from ehrfeat.store.coded_events import Unsupported

    try:
        weights, read = counted_weights(engine, schema, cohort, columns, settings, blocks)
    except Unsupported as exc:
        raise InputError(f"the database cannot count (patient, code) pairs here: {exc}",
                         fix="use --aggregate database or auto (counts in SQL need PostgreSQL or DuckDB)", code="E1904") from exc
    return WeightsRead(weights, _read_issues(read), "counts", ())


def _database_weights(
    engine: Any, schema: Any, cohort: AsOf, columns: CodeColumns, settings: VectorSettings, blocks: Sequence[str] | None,
) -> WeightsRead:
    from ehrfeat.store.coded_events import iter_coded_events
    from ehrfeat.store.events import EventReadReport

    options = settings.options()
    accumulator = WeightAccumulator(
        cohort.patient_ids, cohort.as_of_s, columns, options, now_s=cohort.now_s, blocks=blocks, explicit_as_of=cohort.explicit
    )
    domains = np.asarray([c.system for c in columns.codes] + [""], dtype=object)  # native blocks: the code system
    read, notes = EventReadReport(), list[str]()
    for chunk in iter_coded_events(
        engine, schema, columns.column, systems=settings.systems, chunk_size=settings.chunk_size,
        report=read, create_indexes=settings.create_indexes, notes=notes,
    ):
        domain = domains[chunk.column] if options.by_system else None
        accumulator.add_columns(chunk.patient_id, chunk.column, chunk.time, domain)
    return WeightsRead(accumulator.finish(), _read_issues(read), "database", tuple(notes))


def patient_vectors(database: Any, settings: VectorSettings | None = None, **options: Any) -> PatientVectors:
    """Vectors of every patient of ``database`` (a path, URL or engine); see the module doc for the rules.

    Pass a :class:`VectorSettings`, or its fields as keywords (``weighting="idf"``,
    ``as_of="2020-01-01"``, ``window="365d"``, ...); keywords override ``settings``.
    """
    settings = VectorSettings(**options) if settings is None else settings.with_(**options) if options else settings
    started = time.perf_counter()
    engine, schema, embeddings = open_inputs(database, settings)
    cohort = resolve_as_of(engine, schema, as_of=settings.as_of, table=settings.as_of_table, column=settings.as_of_column,
                           now_s=now_seconds())
    bad_text_before = bad_text_count(engine)
    weights, read_issues, path, notes = patient_weights(engine, schema, cohort, embeddings, settings)
    read_issues = dict(read_issues)
    if bad_text := bad_text_count(engine) - bad_text_before:
        read_issues[BAD_TEXT] = bad_text
    if schema.kind == "omop":
        from ehrfeat.store.omop_concept_table import add_repeated_concepts

        add_repeated_concepts(engine, schema, read_issues)
    idf = smooth_idf(weights.matrix) if settings.weighting == "idf" else None
    matrix = combine(weights, embeddings.matrix, settings.weighting, idf)
    no_codes = weights.n_events == 0
    report = VectorReport(
        patients=len(cohort.patient_ids),
        patients_without_codes=int(no_codes.sum()),
        events_read=weights.events_read,
        events_used=int(weights.n_events.sum()),
        skipped=weights.skipped,
        read_issues=read_issues,
        as_of_issues=cohort.issues,
        elapsed_s=time.perf_counter() - started,
        path=path,
        notes=notes,
    )
    if report.patients_without_codes:
        logger.warning("%d of %d patients have no usable code (flagged no_codes)", report.patients_without_codes, report.patients)
    params = {
        **settings.params(),
        "database": str(database) if not hasattr(database, "dialect") else None,
        "fingerprint": embeddings.fingerprint,
        "blocks": list(weights.blocks),
    }
    return PatientVectors(
        patient_ids=cohort.patient_ids,
        matrix=matrix,
        columns=embedding_columns(weights.blocks, embeddings.dim, settings.by_system),
        n_events=weights.n_events,
        no_codes=no_codes,
        report=report,
        params=params,
    )
