"""The tables link-notes reads and writes: notes, NOTE_NLP, its bookkeeping, and OMOP concept ids.

NOTE_NLP rows follow OMOP CDM 5.4 (``note_nlp_id, note_id, section_concept_id,
snippet, offset, lexical_variant, note_nlp_concept_id, note_nlp_source_concept_id,
nlp_system, nlp_date, nlp_datetime, term_exists, term_temporal, term_modifiers``).
The linked code is always written in ``term_modifiers`` as
``system=ICD10CM;code=E11.9;score=0.912;rank=1;encoder=<fingerprint>``; the concept
columns hold OMOP concept ids when the database's CONCEPT table knows the code
(``note_nlp_source_concept_id`` = the code's concept, ``note_nlp_concept_id`` = its
standard concept, itself or through ``Maps to``) and 0 otherwise. A native
database gets a ``note_nlp`` table with the same columns plus ``code_system``,
``code`` and ``score``.

``ehrfeat_note_links(note_id, fingerprint, ...)`` records each note linked by an
encoder, in the same transaction as its NOTE_NLP rows: a re-run skips those notes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.codes import OMOP, Code, canonical_system, normalize_code
from ehrfeat.errors import EhrfeatError, InputError, SchemaError
from ehrfeat.store.database import column_names, sql_table, table_names
from ehrfeat.store.schema import PatientSchema

__all__ = ["LINKS_TABLE", "NOTE_NLP_COLUMNS", "ConceptIds", "NoteTables", "note_tables"]

LINKS_TABLE = "ehrfeat_note_links"
NOTE_NLP_COLUMNS = (
    "note_nlp_id", "note_id", "section_concept_id", "snippet", "offset", "lexical_variant", "note_nlp_concept_id",
    "note_nlp_source_concept_id", "nlp_system", "nlp_date", "nlp_datetime", "term_exists", "term_temporal", "term_modifiers",
)  # fmt: skip
_REQUIRED = ("note_nlp_id", "note_id", "lexical_variant", "note_nlp_concept_id", "nlp_date")
_NATIVE_EXTRA = ("code_system", "code", "score")
_IN_BATCH = 500


@dataclass(frozen=True)
class NoteTables:
    """Where notes come from and where their mentions go, with the actual column names."""

    notes: sa.TableClause
    note_id: sa.ColumnClause
    text: sa.ColumnClause
    note_nlp: sa.TableClause
    note_nlp_columns: dict[str, str]  # logical (lower-case) name -> actual name, for the columns present
    links: sa.Table


def _note_nlp_table(name: str, native: bool) -> sa.Table:
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
    return sa.Table(name, sa.MetaData(), *columns)


def _links_table() -> sa.Table:
    return sa.Table(
        LINKS_TABLE,
        sa.MetaData(),
        sa.Column("note_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("mentions", sa.Integer, nullable=False),
        sa.Column("rows_written", sa.Integer, nullable=False),
        sa.Column("linked_at", sa.String(32), nullable=False),
    )


def note_tables(engine: Engine, schema: PatientSchema) -> NoteTables:
    """Find the notes table (OMOP NOTE or native notes) and create NOTE_NLP and the bookkeeping table if needed."""
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
    target = names.get("note_nlp", "note_nlp" if not omop else "NOTE_NLP")
    if "note_nlp" not in names:
        _note_nlp_table(target, native=not omop).create(engine)
    nlp_cols = column_names(engine, target)
    missing = [c for c in _REQUIRED if c not in nlp_cols]
    if missing:
        raise SchemaError(f"table {target!r} lacks NOTE_NLP columns {missing}", fix="use the OMOP CDM 5.4 NOTE_NLP columns", code="E215")
    present = {c: nlp_cols[c] for c in (*NOTE_NLP_COLUMNS, *_NATIVE_EXTRA) if c in nlp_cols}
    links = _links_table()
    links.create(engine, checkfirst=True)
    return NoteTables(notes, notes.c[cols["note_id"]], notes.c[cols[text_col]],
                      sql_table(target, list(present.values())), present, links)


class ConceptIds:
    """``(system, code)`` -> ``(source concept id, standard concept id)`` through OMOP CONCEPT (and ``Maps to``)."""

    def __init__(self, engine: Engine) -> None:
        names = table_names(engine)
        self._concept = self._relationship = None
        if "concept" in names:
            cols = column_names(engine, names["concept"])
            wanted = ["concept_id", "vocabulary_id", "concept_code", "standard_concept"]
            if all(c in cols for c in wanted[:3]):
                self._concept = sql_table(names["concept"], [cols[c] for c in wanted if c in cols])
        if "concept_relationship" in names:
            cols = column_names(engine, names["concept_relationship"])
            if all(c in cols for c in ("concept_id_1", "concept_id_2", "relationship_id")):
                self._relationship = sql_table(names["concept_relationship"], [cols["concept_id_1"], cols["concept_id_2"], cols["relationship_id"]])
        self._cache: dict[Code, tuple[int, int]] = {}

    def resolve(self, conn: Connection, codes: Iterable[Code]) -> dict[Code, tuple[int, int]]:
        todo = sorted({c for c in codes if c not in self._cache})
        found: dict[Code, tuple[int, str | None]] = {}
        for code in todo:
            if code.system == OMOP and code.code.isdigit():
                found[code] = (int(code.code), "S")
        if self._concept is not None:
            c = self._concept.c
            raw = sorted({code.code for code in todo} | {code.code.replace(".", "") for code in todo})
            for start in range(0, len(raw), _IN_BATCH):
                query = sa.select(*c).where(c[2].in_(raw[start : start + _IN_BATCH]))
                for row in conn.execute(query):
                    key = _canonical(row[1], row[2])
                    if key is not None and key in todo:
                        found.setdefault(key, (int(row[0]), row[3] if len(row) > 3 else None))
        standard = self._maps_to(conn, [cid for cid, flag in found.values() if flag != "S"])
        for code in todo:
            if code in found:
                cid, flag = found[code]
                self._cache[code] = (cid, cid if flag == "S" else standard.get(cid, 0))
            else:
                self._cache[code] = (0, 0)
        return {code: self._cache[code] for code in codes}

    def _maps_to(self, conn: Connection, ids: Collection[int]) -> dict[int, int]:
        if self._relationship is None or not ids:
            return {}
        c = self._relationship.c
        out: dict[int, int] = {}
        values = sorted(ids)
        for start in range(0, len(values), _IN_BATCH):
            query = sa.select(c[0], c[1]).where(c[0].in_(values[start : start + _IN_BATCH]), c[2] == "Maps to")
            for a, b in conn.execute(query):
                out.setdefault(int(a), int(b))
        return out


def _canonical(vocabulary: object, code: object) -> Code | None:
    try:
        system = canonical_system(str(vocabulary))
        return Code(system, normalize_code(system, code))
    except EhrfeatError:
        return None
