from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ehrfeat.errors import SchemaError
from ehrfeat.store import NATIVE_DDL, create_native_schema, detect_schema, open_database, table_names
from tests.helpers import execute, insert_rows


def test_omop_detected_case_insensitively_with_version_from_columns(omop_url: str) -> None:
    schema = detect_schema(open_database(omop_url))
    assert schema.kind == "omop"
    assert schema.tables["person"] == "PERSON" and schema.tables["concept"] == "CONCEPT"
    assert "condition_occurrence" in schema.tables and "drug_exposure" not in schema.tables
    assert schema.cdm_version == "5.4"  # measurement.measurement_event_id


def test_omop_version_from_cdm_source(omop_url: str) -> None:
    execute(omop_url, "CREATE TABLE cdm_source (cdm_source_name TEXT, cdm_version TEXT)")
    insert_rows(omop_url, "cdm_source", [("test", "v5.3.1")])
    assert detect_schema(open_database(omop_url)).cdm_version == "5.3"


def test_omop_table_missing_a_required_column(backend_url: str) -> None:
    execute(backend_url, "CREATE TABLE person (person_id INTEGER)")
    execute(backend_url, "CREATE TABLE drug_exposure (person_id INTEGER, drug_concept_id INTEGER)")
    with pytest.raises(SchemaError, match="drug_exposure_start_date"):
        detect_schema(open_database(backend_url))


def test_native_detected(native_url: str) -> None:
    schema = detect_schema(open_database(native_url))
    assert schema.kind == "native" and schema.cdm_version is None
    assert set(schema.tables) == {"events", "patients", "vocabulary", "notes"}


def test_events_missing_a_column_is_named(backend_url: str) -> None:
    execute(backend_url, "CREATE TABLE events (patient_id INTEGER, time TEXT, code TEXT)")
    with pytest.raises(SchemaError, match="no column 'code_system'") as info:
        detect_schema(open_database(backend_url))
    assert "CREATE TABLE events" in (info.value.fix or "")


def test_neither_schema_lists_tables_found_and_both_schemas(backend_url: str) -> None:
    execute(backend_url, "CREATE TABLE visits (id INTEGER)")
    execute(backend_url, "CREATE TABLE person (person_id INTEGER)")  # person alone is not OMOP
    with pytest.raises(SchemaError) as info:
        detect_schema(open_database(backend_url))
    text = str(info.value)
    assert "tables found: person, visits" in text and "OMOP CDM 5.3/5.4" in text and "native" in text
    assert info.value.fix is not None and NATIVE_DDL in info.value.fix


@pytest.mark.sqlite_only  # NATIVE_DDL is the SQLite DDL the README prints; column types compared by PRAGMA
def test_native_ddl_and_create_native_schema_agree(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ddl.db") as conn:
        conn.executescript(NATIVE_DDL)
    created = open_database(tmp_path / "created.db", must_exist=False)
    create_native_schema(created)
    create_native_schema(created)  # idempotent
    from_ddl = open_database(tmp_path / "ddl.db")
    assert table_names(from_ddl) == table_names(created) == {t: t for t in ("events", "notes", "patients", "vocabulary")}
    for table in ("events", "notes", "patients", "vocabulary"):
        with sqlite3.connect(tmp_path / "ddl.db") as a, sqlite3.connect(tmp_path / "created.db") as b:
            cols_a = [(r[1], r[2].upper()) for r in a.execute(f"PRAGMA table_info({table})")]
            cols_b = [(r[1], r[2].upper().replace("FLOAT", "REAL")) for r in b.execute(f"PRAGMA table_info({table})")]
        assert cols_a == cols_b, table
    assert detect_schema(created).kind == "native"
