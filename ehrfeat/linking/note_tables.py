"""The tables link-notes reads and writes: notes, NOTE_NLP and its bookkeeping.

NOTE_NLP rows follow OMOP CDM 5.4 (``note_nlp_id, note_id, section_concept_id,
snippet, offset, lexical_variant, note_nlp_concept_id, note_nlp_source_concept_id,
nlp_system, nlp_date, nlp_datetime, term_exists, term_temporal, term_modifiers``).
The linked code is always written in ``term_modifiers`` as
``system=ICD10CM;code=E11.9;score=0.912;rank=1;encoder=<fingerprint>``; the concept
columns hold OMOP concept ids when the database's CONCEPT table knows the code
(:class:`ehrfeat.store.omop_concepts.ConceptIds`)
(``note_nlp_source_concept_id`` = the code's concept, ``note_nlp_concept_id`` = its
standard concept, itself or through ``Maps to``) and 0 otherwise. A native
database gets a ``note_nlp`` table with the same columns plus ``code_system``,
``code`` and ``score``.

``ehrfeat_note_runs(note_id, run_key, fingerprint, settings, ...)`` records each note
linked by one run setting (the encoder, the code index's content, the threshold and
the other linker settings, hashed into ``run_key``: :mod:`ehrfeat.linking.note_runs`),
in the same transaction as its NOTE_NLP rows: a re-run with the same setting skips
those notes, a run with another setting links them again and replaces the rows the
earlier setting wrote (``nlp_system`` names ehrfeat's rows; other systems' rows stay). (The ``ehrfeat_note_links`` table of earlier
versions, keyed by the encoder alone, cannot say which index and settings a note was linked with: such notes
are linked once more by the next run, which replaces their earlier ehrfeat rows (never duplicates them) and
deletes their rows from ``ehrfeat_note_links``, so that table empties as the notes are relinked.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ehrfeat.errors import InputError, SchemaError
from ehrfeat.store.database import column_names, masked_url, sql_table, table_names
from ehrfeat.store.locks import write_transaction
from ehrfeat.store.schema import PatientSchema
from ehrfeat.store.search_path import writable

__all__ = ["LEGACY_LINKS_TABLE", "LINKS_TABLE", "NOTE_NLP_COLUMNS", "NoteTables", "note_tables"]

LINKS_TABLE = "ehrfeat_note_runs"
LEGACY_LINKS_TABLE = "ehrfeat_note_links"  # earlier versions' bookkeeping, keyed by the encoder alone
NOTE_NLP_COLUMNS = (
    "note_nlp_id", "note_id", "section_concept_id", "snippet", "offset", "lexical_variant", "note_nlp_concept_id",
    "note_nlp_source_concept_id", "nlp_system", "nlp_date", "nlp_datetime", "term_exists", "term_temporal", "term_modifiers",
)  # fmt: skip
_REQUIRED = ("note_nlp_id", "note_id", "lexical_variant", "note_nlp_concept_id", "nlp_system", "nlp_date")
_NATIVE_EXTRA = ("code_system", "code", "score")


@dataclass(frozen=True)
class NoteTables:
    """Where notes come from and where their mentions go, with the actual column names."""

    notes: sa.TableClause
    note_id: sa.ColumnClause
    text: sa.ColumnClause
    note_nlp: sa.TableClause
    note_nlp_columns: dict[str, str]  # logical (lower-case) name -> actual name, for the columns present
    links: sa.Table
    schema: str | None = None  # the schema NOTE_NLP is written to (--write-schema), if any
    legacy_links: sa.TableClause | None = None  # ehrfeat_note_links of earlier versions (note_id, fingerprint)

    @property
    def where(self) -> str:
        """NOTE_NLP's name, with its schema when written to one."""
        return f"{self.schema}.{self.note_nlp.name}" if self.schema else self.note_nlp.name


def _note_nlp_table(name: str, native: bool, schema: str | None = None) -> sa.Table:
    columns: list[sa.Column[Any]] = [
        sa.Column("note_nlp_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("note_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("section_concept_id", sa.Integer),
        sa.Column("snippet", sa.String(250)),
        sa.Column("offset", sa.String(50)),
        sa.Column("lexical_variant", sa.String(250), nullable=False),
        sa.Column("note_nlp_concept_id", sa.Integer),
        sa.Column("note_nlp_source_concept_id", sa.Integer),
        sa.Column("nlp_system", sa.String(250)),
        sa.Column("nlp_date", sa.Date, nullable=False),
        sa.Column("nlp_datetime", sa.DateTime),
        sa.Column("term_exists", sa.String(1)),
        sa.Column("term_temporal", sa.String(50)),
        sa.Column("term_modifiers", sa.String(2000)),
    ]
    if native:
        columns += [sa.Column("code_system", sa.String(64)), sa.Column("code", sa.String(128)), sa.Column("score", sa.Float)]
    return sa.Table(name, sa.MetaData(), *columns, schema=schema)


def _links_table(schema: str | None = None) -> sa.Table:
    return sa.Table(
        LINKS_TABLE,
        sa.MetaData(),
        sa.Column("note_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("run_key", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("mentions", sa.Integer, nullable=False),
        sa.Column("rows_written", sa.Integer, nullable=False),
        sa.Column("linked_at", sa.String(32), nullable=False),
        schema=schema,
    )


def note_tables(engine: Engine, schema: PatientSchema, write: Engine | None = None, write_schema: str | None = None) -> NoteTables:
    """Find the notes table (OMOP NOTE or native notes) through ``engine`` and create NOTE_NLP and the
    bookkeeping table through ``write`` (default: ``engine``; its schema ``write_schema``) if needed.
    A read-only database or schema gets E1408, whose fix names ``--write-schema``."""
    write = write or engine
    names = table_names(engine)
    omop = schema.kind == "omop"
    logical, text_col = ("note", "note_text") if omop else ("notes", "text")
    if logical not in names:
        raise InputError(
            f"the {schema.kind} database has no {logical} table",
            fix="load OMOP NOTE (note_id, person_id, note_text, ...)" if omop
            else "create notes(note_id INTEGER PRIMARY KEY, patient_id INTEGER, time TEXT, text TEXT) and fill it",
            code="E175",
        )
    cols = column_names(engine, names[logical])
    for col in ("note_id", text_col):
        if col not in cols:
            raise SchemaError(f"table {names[logical]!r} has no column {col!r}", fix=f"add {col}", code="E214")
    notes = sql_table(names[logical], [cols["note_id"], cols[text_col]])
    out_names = table_names(write) if write is not engine else names
    # NOTE_NLP in upper case on SQLite (as OMOP's DDL); servers fold unquoted names to lower case
    target = out_names.get("note_nlp", "NOTE_NLP" if omop and write.dialect.name == "sqlite" else "note_nlp")
    # in the write schema itself: a CDM's own NOTE_NLP, visible through the search path, is not ours to write
    links = _links_table(write_schema)
    with writable(f"table {target!r}", write_schema), \
            write_transaction(write, "link-notes:tables", masked_url(write)) as conn:  # two runs at once: one creates
        _note_nlp_table(target, not omop, write_schema).create(conn, checkfirst=True)
        links.create(conn, checkfirst=True)
    nlp_cols = column_names(write, target)
    missing = [c for c in _REQUIRED if c not in nlp_cols]
    if missing:
        raise SchemaError(f"table {target!r} lacks NOTE_NLP columns {missing}", fix="use the OMOP CDM 5.4 NOTE_NLP columns", code="E215")
    present = {c: nlp_cols[c] for c in (*NOTE_NLP_COLUMNS, *_NATIVE_EXTRA) if c in nlp_cols}
    legacy = None
    if LEGACY_LINKS_TABLE in out_names and "note_id" in (legacy_cols := column_names(write, out_names[LEGACY_LINKS_TABLE])):
        legacy = sql_table(out_names[LEGACY_LINKS_TABLE], [legacy_cols["note_id"]])
    return NoteTables(notes, notes.c[cols["note_id"]], notes.c[cols[text_col]],
                      sql_table(target, list(present.values())), present, links, write_schema, legacy)
