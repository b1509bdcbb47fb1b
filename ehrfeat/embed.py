"""The main job: embed every distinct code patients carry, into the code-embedding cache.

``embed_codes("patients.db")`` finds the codes (SQL ``GROUP BY``, never the
events in memory), resolves a text for each (the database's own vocabulary or
CONCEPT table first, then ehrfeat's built-in dictionaries), encodes only those not
yet cached for this encoder, and writes them batch by batch, one transaction each.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ehrfeat.codes import Code, canonical_system
from ehrfeat.embed_report import CodeRunReport, EmbedReport
from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import InputError
from ehrfeat.reasons import ReasonCounter
from ehrfeat.store.database import bad_text_count, connection_errors, masked_url, open_database
from ehrfeat.store.embeddings import DEFAULT_TABLE, MAX_CODE_CHARS, MAX_SYSTEM_CHARS, EmbeddingCache
from ehrfeat.store.events import CodeCount, distinct_codes
from ehrfeat.store.omop_concept_table import add_repeated_concepts
from ehrfeat.store.schema import check_duplicate_rule, detect_schema
from ehrfeat.store.search_path import in_schemas, writable
from ehrfeat.store.source_values import parse_source_systems
from ehrfeat.store.usage import ValueUsage, coverage_report
from ehrfeat.vocab.builtin import builtin_dictionaries, description_place

__all__ = ["CodeRunReport", "EmbedReport", "embed_codes", "in_batches", "resolve_texts"]

logger = logging.getLogger(__name__)

T = TypeVar("T")



def resolve_texts(codes: Sequence[CodeCount], where: str = "the database",
                  ) -> tuple[dict[Code, str], dict[str, int], dict[str, list[str]], Counter[str]]:
    """Text for each code: the database's own description first, then the built-in dictionaries.

    Returns ``(texts, unresolved counts by reason, examples by reason, counts by text source)``;
    ``where`` names, in the reasons, the place a description could be added (:func:`ehrfeat.vocab.builtin.description_place`).
    """
    builtin = builtin_dictionaries()
    texts: dict[Code, str] = {}
    unresolved = ReasonCounter()
    sources: Counter[str] = Counter()
    for item in codes:
        ref = Code(item.system, item.code)
        text = (item.text or "").strip()
        source = "database"
        if not text:
            text = (builtin.describe(item.system, item.code) or "").strip()
            source = "built-in"
        if text:
            texts[ref] = text
            sources[source] += 1
            continue
        reason = builtin.missing_reason(item.system, where)
        unresolved.add(reason, 1, ref)
    return texts, dict(unresolved), unresolved.examples, sources


def embed_codes(
    database: str | Path,
    *,
    model: str | Path | None = None,
    encoder: Encoder | None = None,
    batch_size: int = 256,
    systems: Sequence[str] | None = None,
    out: str | Path | None = None,
    table: str = DEFAULT_TABLE,
    show_progress_bar: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
    source_systems: Sequence[str] | str | Mapping[str, Sequence[str]] | None = None,
    schema: str | None = None,
    write_schema: str | None = None,
    duplicate_concepts: str = "error",
) -> EmbedReport:
    """Embed the distinct codes of ``database`` into ``table`` (of ``out``, or the same database).

    ``encoder`` overrides ``model``. ``on_batch(done, total)`` is called after each
    committed batch. Safe to kill and re-run at any moment. ``source_systems``
    (``["condition=ICD10CM,ICD9CM"]``) fixes the code systems of OMOP source values per table
    (:mod:`ehrfeat.store.source_values`). OMOP databases get a coverage report per table.
    ``schema`` names the server schema holding the CDM (``--schema cdm``) and ``write_schema``
    the one ehrfeat's table goes to (``--write-schema results``; default: ``schema``).
    """
    with connection_errors(database):
        started = time.perf_counter()
        wanted = [canonical_system(s) for s in systems] if systems else None
        chosen = parse_source_systems(source_systems)
        opened = open_database(database)
        source = in_schemas(opened, schema, write_schema)
        patient_schema = dataclasses.replace(detect_schema(source), source_systems=chosen,
                                             duplicate_concepts=check_duplicate_rule(duplicate_concepts))
        if out is not None:
            target = in_schemas(open_database(out, must_exist=False), write_schema)
        else:
            target = in_schemas(opened, write_schema, schema) if write_schema else source
        cache = EmbeddingCache(target, table)
        usage: list[ValueUsage] = []
        codes, skip = distinct_codes(source, patient_schema, wanted, usage=usage)
        if wanted:
            _check_systems(source, patient_schema, wanted, codes)
        skipped, skipped_examples = dict(skip.counts), {k: list(v) for k, v in skip.examples.items()}
        codes = _drop_long_codes(codes, skipped, skipped_examples)
        add_repeated_concepts(source, patient_schema, skipped, skipped_examples)
        bad_text = bad_text_count(opened)
        if bad_text:
            skipped[BAD_TEXT] = bad_text
        if encoder is None:
            from ehrfeat.models.loader import load_encoder

            encoder = load_encoder(model)
        fingerprint = encoder.fingerprint
        _ensure_writable(cache, write_schema or schema)
        cached = cache.keys(fingerprint)
        new = [c for c in codes if Code(c.system, c.code) not in cached]
        texts, unresolved, examples, text_sources = resolve_texts(new, description_place(patient_schema.kind))
        logger.info("%d distinct codes, %d cached, %d new with text", len(codes), len(codes) - len(new), len(texts))
        todo = sorted(texts, key=lambda c: (-len(texts[c]), c))
        encode_started = time.perf_counter()
        embedded = _embed_batches(cache, encoder, todo, texts, batch_size, show_progress_bar, on_batch, str(model or "default"))
        if embedded < len(todo):  # a concurrent run wrote these between our cache read and our write
            logger.info("%d codes were cached by another run meanwhile; its rows were kept", len(todo) - embedded)
        coverage = None
        if patient_schema.kind == "omop":
            builtin = builtin_dictionaries()
            coverage = coverage_report(
                usage,
                lambda key: Code(*key) in cached or Code(*key) in texts,
                lambda key: builtin.missing_reason(key[0], description_place(patient_schema.kind)),
                wanted,
            )
        return EmbedReport(
            database=_display(database),
            target=_display(out or database),
            fingerprint=fingerprint,
            codes_found=len(codes),
            embedded_now=embedded,
            already_cached=len(codes) - len(new) + len(todo) - embedded,
            unresolved=unresolved,
            unresolved_examples=examples,
            skipped=skipped,
            skipped_examples=skipped_examples,
            text_sources=dict(text_sources),
            elapsed_s=time.perf_counter() - started,
            encode_s=time.perf_counter() - encode_started,
            coverage=coverage,
        )


def _display(target: str | Path) -> str:
    """A path as given; a URL with its password masked (it is printed and written to --report)."""
    return masked_url(target)


BAD_TEXT = "text values not valid UTF-8 (decoded with replacement, kept)"
LONG_CODE = f"code longer than {MAX_CODE_CHARS} or system longer than {MAX_SYSTEM_CHARS} characters (not embedded)"


def _drop_long_codes(codes: list[CodeCount], skipped: dict[str, int], examples: dict[str, list[str]]) -> list[CodeCount]:
    """Codes the embeddings table can hold; the others counted with examples (was: a PostgreSQL error)."""
    kept = [c for c in codes if len(c.code) <= MAX_CODE_CHARS and len(c.system) <= MAX_SYSTEM_CHARS]
    if len(kept) < len(codes):
        long = [c for c in codes if len(c.code) > MAX_CODE_CHARS or len(c.system) > MAX_SYSTEM_CHARS]
        skipped[LONG_CODE] = len(long)
        examples[LONG_CODE] = [f"{c.system}:{c.code[:40]}... ({len(c.code)} characters)" for c in long[:5]]
    return kept


def _check_systems(source: Any, schema: Any, wanted: list[str], codes: list[CodeCount]) -> None:
    """An unknown --systems name is an error listing the systems the database has (was: 'codes found: 0')."""
    missing = sorted(set(wanted) - {c.system for c in codes})
    if not missing:
        return
    present = sorted({c.system for c in distinct_codes(source, schema, None)[0]})
    raise InputError(
        f"code system{'s' if len(missing) > 1 else ''} {', '.join(missing)} not found in the database",
        fix=f"choose --systems among the systems it has: {', '.join(present) or 'none (no codes)'}",
        code="E1220",
    )


def _ensure_writable(cache: EmbeddingCache, schema: str | None) -> None:
    """Create the cache table; a database or schema we may not write gets the fix that names --write-schema."""
    with writable(f"table {cache.table_name!r}", schema):
        cache.ensure_table()


def _embed_batches(
    cache: EmbeddingCache,
    encoder: Encoder,
    todo: list[Code],
    texts: dict[Code, str],
    batch_size: int,
    show_progress_bar: bool,
    on_batch: Callable[[int, int], None] | None,
    model_name: str,
) -> int:
    written = 0
    for batch in in_batches(todo, batch_size, show_progress_bar, on_batch):
        items = [(code, texts[code]) for code in batch]
        vectors = encoder.encode([t for _, t in items], batch_size=batch_size)
        written += cache.write(encoder.fingerprint, items, vectors, model=model_name)
    return written


def in_batches(
    todo: Sequence[T], batch_size: int, show_progress_bar: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> Iterator[Sequence[T]]:
    """``todo`` in batches; after each batch is handled, a progress bar (``show_progress_bar``) and
    ``on_batch(done, total)`` move on (embed-codes on databases and MEDS)."""
    bar = None
    if show_progress_bar and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="code", desc="embedding codes")
    try:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            yield batch
            if bar is not None:
                bar.update(len(batch))
            if on_batch is not None:
                on_batch(start + len(batch), len(todo))
    finally:
        if bar is not None:
            bar.close()
