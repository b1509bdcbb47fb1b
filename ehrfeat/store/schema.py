"""Which kind of patient database this is: OMOP CDM 5.3/5.4 or ehrfeat's native schema.

The native schema (all the toolkit needs; table and column names are matched
case-insensitively)::

    patients(patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT)
    events(patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL)
    vocabulary(code_system TEXT, code TEXT, description TEXT)      -- optional
    notes(note_id INTEGER PRIMARY KEY, patient_id INTEGER, time TEXT, text TEXT)  -- optional

* ``patient_id`` values must be integers (or integer-like text such as
  ``'1042'``); other ids are refused with a fix rather than silently re-keyed.
* ``time`` is an ISO date or datetime (``2002-10-15``, ``2002-10-15 08:30:00``,
  ``2002-10-15T08:30:00``); epoch seconds, ``yyyymmdd`` integers and Julian
  day numbers are read too (see :mod:`ehrfeat.store.dates`). Null is allowed.
* ``code_system`` is any name :func:`ehrfeat.codes.canonical_system` accepts
  (``ICD10CM``, ``icd-10-cm``, ``LOINC``, ``RxNorm``, ``HPO``, a local name);
  ``code`` any common form of the code (``E11.9``, ``e119``); both are
  normalised when read. ``value`` (a lab value) is optional.
* ``vocabulary`` gives descriptions of codes no installed vocabulary knows
  (local codes, LOINC, RxNorm); ``patients`` is optional (patients are then
  the distinct ``events.patient_id``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ehrfeat.errors import InputError, SchemaError
from ehrfeat.store.database import column_names, masked_url, sql_table, table_names
from ehrfeat.store.source_values import SourceSystems

__all__ = [
    "DUPLICATE_CONCEPT_RULES",
    "NATIVE_DDL",
    "NATIVE_EVENT_COLUMNS",
    "OMOP_DOMAIN_TABLES",
    "PatientSchema",
    "check_duplicate_rule",
    "create_native_schema",
    "detect_schema",
    "native_metadata",
]

DUPLICATE_CONCEPT_RULES = ("error", "first", "skip")


def check_duplicate_rule(rule: str) -> str:
    """``rule`` if it is one of :data:`DUPLICATE_CONCEPT_RULES`, else an error listing them."""
    if rule not in DUPLICATE_CONCEPT_RULES:
        raise InputError(f"unknown --duplicate-concepts rule {rule!r}",
                         fix=f"use one of {', '.join(DUPLICATE_CONCEPT_RULES)}", code="E1233")
    return rule


NATIVE_DDL = """\
CREATE TABLE patients (
    patient_id  INTEGER PRIMARY KEY,
    birth_date  TEXT,               -- ISO date, e.g. 1961-04-09
    sex         TEXT                -- F, M, or anything else for other/unknown
);
CREATE TABLE events (
    patient_id  INTEGER NOT NULL,   -- patients.patient_id
    time        TEXT,               -- ISO date/datetime (2019-03-01 or 2019-03-01 08:30:00)
    code_system TEXT NOT NULL,      -- ICD10CM, ICD9CM, LOINC, RxNorm, HPO, ... (aliases accepted)
    code        TEXT NOT NULL,      -- the code in any common form: E11.9, e119
    value       REAL                -- a lab or vital value; NULL when absent
);
CREATE INDEX events_patient ON events (patient_id);
CREATE INDEX events_code ON events (code_system, code);
CREATE TABLE vocabulary (           -- optional: descriptions of local/unknown codes
    code_system TEXT NOT NULL,
    code        TEXT NOT NULL,
    description TEXT
);
CREATE TABLE notes (                -- optional: clinical notes
    note_id     INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL,
    time        TEXT,
    text        TEXT
);
"""

NATIVE_EVENT_COLUMNS = ("patient_id", "time", "code_system", "code")  # `value` is optional

# OMOP domain name -> clinical table holding its events.
OMOP_DOMAIN_TABLES = {
    "condition": "condition_occurrence",
    "drug": "drug_exposure",
    "procedure": "procedure_occurrence",
    "measurement": "measurement",
    "observation": "observation",
    "device": "device_exposure",
    "visit": "visit_occurrence",
}
_OMOP_EXTRA = ("person", "concept", "cdm_source", "note", "episode")


@dataclass(frozen=True)
class PatientSchema:
    """The detected schema: ``kind`` is ``"omop"`` or ``"native"``; ``tables`` maps logical
    lower-case names (``events``, ``person``, ``condition_occurrence``...) to actual names."""

    kind: str
    tables: Mapping[str, str] = field(default_factory=dict)
    cdm_version: str | None = None
    # OMOP: the code systems tried on source values per domain (None: the defaults); see
    # ehrfeat.store.source_values. Set with dataclasses.replace(schema, source_systems=...).
    source_systems: SourceSystems | None = None
    # OMOP: what to do with a concept id CONCEPT lists more than once (DUPLICATE_CONCEPT_RULES; see ehrfeat.store.omop).
    duplicate_concepts: str = "error"


# sa.Float is 4-byte REAL on DuckDB (7.2 read back as 7.1999998); DOUBLE there, as on the other backends
_DOUBLE = sa.Float().with_variant(sa.Double(), "duckdb")


def native_metadata() -> sa.MetaData:
    """The native schema as SQLAlchemy tables (portable across databases); mirrors :data:`NATIVE_DDL`."""
    md = sa.MetaData()
    sa.Table("patients", md, sa.Column("patient_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("birth_date", sa.Text), sa.Column("sex", sa.Text))
    sa.Table("events", md, sa.Column("patient_id", sa.Integer, nullable=False), sa.Column("time", sa.Text),
             sa.Column("code_system", sa.Text, nullable=False), sa.Column("code", sa.Text, nullable=False),
             sa.Column("value", _DOUBLE), sa.Index("events_patient", "patient_id"),
             sa.Index("events_code", "code_system", "code"))
    sa.Table("vocabulary", md, sa.Column("code_system", sa.Text, nullable=False),
             sa.Column("code", sa.Text, nullable=False), sa.Column("description", sa.Text))
    sa.Table("notes", md, sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("patient_id", sa.Integer, nullable=False), sa.Column("time", sa.Text), sa.Column("text", sa.Text))
    return md


def create_native_schema(engine: Engine) -> None:
    """Create the native tables (and indexes) that do not exist yet."""
    native_metadata().create_all(engine, checkfirst=True)


def detect_schema(engine: Engine) -> PatientSchema:
    """Detect OMOP CDM (``person`` + a clinical table) or native (``events``); else :class:`SchemaError`."""
    names = table_names(engine)
    domains = [t for t in OMOP_DOMAIN_TABLES.values() if t in names]
    if "person" in names and domains:
        for tbl in domains:
            _require_omop_columns(engine, names[tbl], tbl)
        tables = {t: names[t] for t in (*_OMOP_EXTRA, *domains) if t in names}
        return PatientSchema("omop", tables, _cdm_version(engine, names))
    if "events" in names:
        columns = column_names(engine, names["events"])
        for col in NATIVE_EVENT_COLUMNS:
            if col not in columns:
                raise SchemaError(
                    f"table {names['events']!r} has no column {col!r} (it has: {', '.join(columns.values())})",
                    fix="the native events table needs columns patient_id, time, code_system, code (and optionally value):\n"
                    + NATIVE_DDL,
                    code="E212",
                )
        tables = {t: names[t] for t in ("events", "patients", "vocabulary", "notes") if t in names}
        return PatientSchema("native", tables, None)
    found = ", ".join(names.values()) if names else "no tables at all"
    raise SchemaError(
        f"the database {masked_url(engine)} matches no supported schema (tables found: {found}). Supported: OMOP CDM 5.3/5.4 "
        "(a `person` table and at least one of " + ", ".join(OMOP_DOMAIN_TABLES.values()) + ") "
        "or ehrfeat's native schema (an `events` table)",
        fix="import OMOP CSV files with `ehrfeat import-omop`, or create the native tables:\n" + NATIVE_DDL,
        code="E211",
    )


def omop_event_columns(domain_table: str) -> tuple[str, str]:
    """``(concept column, date column)`` that an OMOP clinical table must have."""
    prefix = domain_table.split("_")[0]
    date = {"measurement": "measurement_date", "observation": "observation_date", "procedure": "procedure_date"}
    start = date.get(prefix, f"{domain_table.replace('_occurrence', '')}_start_date")
    return f"{prefix}_concept_id", start


def _require_omop_columns(engine: Engine, actual: str, logical: str) -> None:
    columns = column_names(engine, actual)
    for col in ("person_id", *omop_event_columns(logical)):
        if col not in columns:
            raise SchemaError(
                f"OMOP table {actual!r} has no column {col!r}",
                fix="load the table with the OMOP CDM 5.3/5.4 column names (e.g. with `ehrfeat import-omop`)",
                code="E213",
            )


def _cdm_version(engine: Engine, names: Mapping[str, str]) -> str | None:
    if "cdm_source" in names:
        cols = column_names(engine, names["cdm_source"])
        if "cdm_version" in cols:
            tbl = sql_table(names["cdm_source"], [cols["cdm_version"]])
            col = tbl.c[cols["cdm_version"]]
            with engine.connect() as conn:
                value = conn.execute(sa.select(col).where(col.is_not(None)).limit(1)).scalar()
            found = re.search(r"(\d+)\.(\d+)", str(value)) if value is not None else None
            if found:
                return f"{found.group(1)}.{found.group(2)}"
    markers = {"measurement": "measurement_event_id", "observation": "observation_event_id", "note": "note_event_id"}
    if "episode" in names or any(t in names and c in column_names(engine, names[t]) for t, c in markers.items()):
        return "5.4"
    if "measurement" in names or "observation" in names:
        return "5.3"
    return None
