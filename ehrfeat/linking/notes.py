"""``link_notes``: every note of a patient database -> NOTE_NLP rows of its linked mentions.

Reads OMOP ``NOTE`` (``note_id``, ``note_text``) or the native ``notes`` table
(``note_id``, ``text``) in note-id order, runs the spaCy pipeline with the
``ehrfeat_linker`` over batches of notes, and writes one NOTE_NLP row per
mention and code (the top ``per_mention`` codes at or above the threshold; see
:mod:`ehrfeat.linking.note_tables` for the columns, :mod:`ehrfeat.linking.note_nlp_rows` for the rows). Each batch is one
transaction holding its rows and its bookkeeping rows, so a run killed at any
moment and started again writes every row exactly once; a re-run with the same
encoder, index and settings writes nothing (the bookkeeping key, ``run_key``, hashes
them all, see :mod:`ehrfeat.linking.note_runs`): a run with another index, threshold,
context or ``negated`` setting links the notes again and replaces the rows earlier
link-notes settings wrote for them (counted as ``rows_replaced``). A note longer than
spaCy's limit (``nlp.max_length``, 1,000,000 characters) is linked in windows split at
sentence ends (:mod:`ehrfeat.linking.windows`; offsets are in the whole note) and
counted; notes longer than ``max_note_chars`` (when given) are skipped and counted,
never fatal, and stay unlinked for a run with a higher limit; note text that is not
valid UTF-8 is decoded with replacement and counted.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import InputError
from ehrfeat.linking.note_nlp_rows import write_batch
from ehrfeat.linking.note_runs import run_key
from ehrfeat.linking.note_tables import note_tables
from ehrfeat.linking.windows import split_windows
from ehrfeat.report import Summary
from ehrfeat.store.database import bad_text_count, connection_errors, masked_url, open_database
from ehrfeat.store.omop_concepts import ConceptIds
from ehrfeat.store.schema import detect_schema
from ehrfeat.store.search_path import in_schemas, read_write_engines

__all__ = ["NEGATED_MODES", "LinkNotesReport", "choose_index", "link_notes", "make_pipeline", "pipeline_for"]

logger = logging.getLogger(__name__)

NEGATED_MODES = ("keep", "drop")


@dataclass(frozen=True)
class LinkNotesReport:
    database: str
    target: str
    fingerprint: str
    index_source: str
    notes_found: int
    notes_linked_now: int
    notes_already_linked: int
    mentions: int
    rows_written: int
    rows_with_concept_id: int
    mentions_without_code: int
    skipped: dict[str, int] = field(default_factory=dict)
    negated_mentions: int = 0
    family_mentions: int = 0
    unresolved_abbreviations: int = 0
    elapsed_s: float = 0.0
    run_key: str = ""
    repaired: dict[str, int] = field(default_factory=dict)
    rows_replaced: int = 0

    def lines(self) -> list[str]:
        out = Summary(23).fields([
            ("notes found", self.notes_found), ("linked now", self.notes_linked_now),
            ("already linked", self.notes_already_linked),
            ("mentions", f"{self.mentions} ({self.mentions_without_code} with no code above the threshold)"),
            ("NOTE_NLP rows written", f"{self.rows_written} ({self.rows_with_concept_id} with an OMOP concept id)"
             + (f", {self.rows_replaced} rows of earlier settings replaced" if self.rows_replaced else "")),
            ("context", f"{self.negated_mentions} negated, {self.family_mentions} about family members"),
        ])
        ambiguous = {"ambiguous abbreviations (PE, MS, ...) outside a deciding section": self.unresolved_abbreviations}
        out.reasons({k: n for k, n in ambiguous.items() if n}, tag="unlinked", width=5)
        out.reasons(self.skipped, tag="skipped").reasons(self.repaired, tag="repaired", width=5)
        return out.fields([("encoder", self.fingerprint), ("code index", self.index_source), ("written to", self.target),
                           ("elapsed", f"{self.elapsed_s:.1f} s")]).lines


def make_pipeline(
    *, model: str | None = None, index: dict[str, Any] | None = None, systems: Sequence[str] | None = None,
    k: int = 1, threshold: float = 0.5, encoder: Encoder | None = None, **settings: Any,
) -> Any:
    """A blank English pipeline with the linker (dictionary mentions); ``encoder`` must be ``model``'s if given;
    ``settings``: more :class:`~ehrfeat.linking.settings.LinkerSettings` fields (``context=False``, ...)."""
    import spacy

    import ehrfeat.linking.component  # noqa: F401  (registers the factory)

    nlp = spacy.blank("en")
    config: dict[str, Any] = {**settings, "model": model, "index": index or {}, "k": k, "threshold": threshold}
    if systems is not None:
        config["systems"] = list(systems)
    linker: Any = nlp.add_pipe("ehrfeat_linker", config=config)
    if encoder is not None:
        linker.set_encoder(encoder)
    return nlp


def choose_index(database: str | Path, choice: str, encoder: Encoder, table: str = "code_embeddings",
                 schema: str | None = None) -> dict[str, Any]:
    """The linker's ``index`` setting for ``--index``: ``auto`` (the database's own code embeddings of
    this encoder when it has them, else built-in), ``builtin``, ``db``, or an index folder.
    ``schema``: the server schema holding the code embeddings (embed-codes' ``--write-schema``)."""
    if choice == "builtin":
        return {}
    db = {"db": str(database), "table": table, **({"schema": schema} if schema else {})}
    if choice == "db":
        return db
    if choice != "auto":
        return {"path": choice}
    from ehrfeat.store.embeddings import EmbeddingCache

    cache = EmbeddingCache(in_schemas(open_database(database), schema), table)
    return db if encoder.fingerprint in cache.fingerprints() else {}


def pipeline_for(
    database: str | Path, *, pipeline: str | Path | None = None, model: str | None = None, index: str = "auto",
    systems: Sequence[str] | None = None, threshold: float = 0.5, k: int = 1, schema: str | None = None, **settings: Any,
) -> Any:
    """The pipeline link-notes runs: a saved one (``pipeline``), or a blank one with the linker
    (``settings``: more linker settings, as :func:`make_pipeline`; ``schema``: where the database's code
    embeddings are, for ``index="auto"``/``"db"``)."""
    if pipeline is not None:
        import spacy

        import ehrfeat.linking.component  # noqa: F401

        try:
            return spacy.load(pipeline)
        except OSError as exc:
            raise InputError(f"cannot load spaCy pipeline {pipeline}: {exc}", fix="give a folder written by nlp.to_disk", code="E178") from exc
    from ehrfeat.models.loader import load_encoder

    encoder = load_encoder(model)
    setting = choose_index(database, index, encoder, schema=schema)
    if systems is None and "db" in setting:
        systems = []  # every system the database's embeddings hold
    return make_pipeline(model=model, index=setting, systems=systems, k=k, threshold=threshold, encoder=encoder, **settings)


def _linker(nlp: Any) -> Any:
    from ehrfeat.linking.component import EhrfeatLinker

    for _, pipe in nlp.pipeline:
        if isinstance(pipe, EhrfeatLinker):
            return pipe
    raise InputError("the spaCy pipeline has no ehrfeat_linker component", fix='nlp.add_pipe("ehrfeat_linker")', code="E176")


def link_notes(
    database: str | Path,
    *,
    nlp: Any = None,
    per_mention: int = 1,
    batch_size: int = 64,
    n_process: int = 1,
    on_batch: Callable[[int, int], None] | None = None,
    max_note_chars: int | None = None,
    negated: str = "keep",
    schema: str | None = None,
    write_schema: str | None = None,
    **pipeline: Any,
) -> LinkNotesReport:
    """Link the notes of ``database`` not yet linked by this encoder; ``pipeline`` goes to :func:`make_pipeline`.

    ``negated``: ``"keep"`` writes negated mentions with ``term_exists = 'N'``, ``"drop"`` writes none
    of them (counted in the report's ``skipped``). ``schema``: the server schema holding the CDM
    (``--schema cdm``, only read); ``write_schema``: where NOTE_NLP and the bookkeeping table go
    (``--write-schema results``; default: ``schema``).
    """
    started = time.perf_counter()
    if negated not in NEGATED_MODES:
        raise InputError(f"negated must be one of {NEGATED_MODES}, got {negated!r}", fix="use --negated keep or --negated drop", code="E1801")
    if per_mention < 1 or batch_size < 1:
        raise InputError(f"per_mention and batch_size must be >= 1, got {per_mention} and {batch_size}", code="E177")
    if max_note_chars is not None and max_note_chars < 1:
        raise InputError(f"max_note_chars must be >= 1, got {max_note_chars}", fix="pass e.g. --max-note-chars 2000000", code="E1221")
    read, engine = read_write_engines(open_database(database), schema, write_schema)
    nlp = nlp if nlp is not None else make_pipeline(k=max(per_mention, 1), **pipeline)
    linker = _linker(nlp)
    fingerprint = linker.encoder.fingerprint
    index_source = linker.index.source  # the index loads (or fails) before any table is created
    linker.index.check_encoder(linker.encoder)
    run = run_key(nlp, linker, per_mention, negated)
    tables = note_tables(read, detect_schema(read), engine, write_schema or schema)
    concepts = ConceptIds(read)
    window = int(nlp.max_length)  # spaCy's limit: a longer note is linked in windows of at most this many characters
    too_long = f"note longer than {max_note_chars or 0:,} characters (left unlinked; raise the limit with --max-note-chars)"
    bad_text_before = bad_text_count(read)

    with connection_errors(database):  # a dropped connection: E1409; committed batches stay, a re-run finishes
        with read.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(tables.notes)).scalar_one()
        with engine.connect() as conn:
            done = set(conn.execute(sa.select(tables.links.c.note_id).where(tables.links.c.run_key == run.key)).scalars())
        counts: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        last: Any = None
        while True:
            with read.connect() as conn:
                query = sa.select(tables.note_id, tables.text).order_by(tables.note_id).limit(batch_size * 4)
                if last is not None:
                    query = query.where(tables.note_id > last)
                chunk = conn.execute(query).all()
            if not chunk:
                break
            last = chunk[-1][0]
            todo = []
            for note_id, text in chunk:
                if note_id is None:
                    skipped["note without note_id"] += 1
                elif int(note_id) in done:
                    counts["already"] += 1
                elif text is None or not str(text).strip():
                    skipped["empty note text"] += 1
                elif max_note_chars is not None and len(str(text)) > max_note_chars:
                    skipped[too_long] += 1
                else:
                    todo.append((int(note_id), str(text)))
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                docs = _windowed_docs(nlp, batch, window, batch_size, n_process, counts)
                write_batch(engine, tables, concepts, batch, docs, per_mention, run, counts, drop_negated=negated == "drop")
                if on_batch is not None:
                    on_batch(counts["notes"], total)
    if counts["negated_dropped"]:
        skipped["negated mention (--negated drop)"] += counts["negated_dropped"]
    return LinkNotesReport(
        database=masked_url(database), target=tables.where, fingerprint=fingerprint, index_source=index_source,
        notes_found=total, notes_linked_now=counts["notes"], notes_already_linked=counts["already"],
        mentions=counts["mentions"], rows_written=counts["rows"], rows_with_concept_id=counts["concept"],
        mentions_without_code=counts["no_code"], skipped=dict(skipped), elapsed_s=time.perf_counter() - started,
        run_key=run.key, repaired={**({BAD_TEXT: bad} if (bad := bad_text_count(read) - bad_text_before) else {}),
                                   **({WINDOWED.format(window): counts["windowed"]} if counts["windowed"] else {})},
        negated_mentions=counts["negated"], family_mentions=counts["family"], unresolved_abbreviations=counts["ambiguous"],
        rows_replaced=counts["replaced"],
    )


BAD_TEXT = "text values not valid UTF-8 (decoded with replacement)"
WINDOWED = "notes longer than spaCy's limit ({:,} characters), linked in windows split at sentence ends"


def _windowed_docs(nlp: Any, batch: list[tuple[int, str]], window: int, batch_size: int, n_process: int,
                   counts: Counter[str]) -> list[list[tuple[int, Any]]]:
    """Per note, its ``(offset, doc)`` parts: one doc, or one per window of a note longer than ``window`` characters."""
    parts = [split_windows(text, window) if len(text) > window else [(0, text)] for _, text in batch]
    counts["windowed"] += sum(len(p) > 1 for p in parts)
    docs = iter(nlp.pipe([t for p in parts for _, t in p], batch_size=batch_size, n_process=n_process))
    return [[(base, next(docs)) for base, _ in p] for p in parts]
