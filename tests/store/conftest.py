"""Small patient databases built in-test: native and OMOP (with Eunomia-style numeric dates)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from ehrfeat.store import create_native_schema, open_database

EPOCH_2002_10_15 = 1034640000  # 2002-10-15T00:00:00 in epoch seconds


def insert(engine: sa.Engine, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", list(rows))


@pytest.fixture
def native_db(tmp_path: Path) -> Path:
    """Native schema: E11.9 written five ways, malformed codes, a null time, numeric and unparsable times."""
    path = tmp_path / "native.db"
    engine = open_database(path, must_exist=False)
    create_native_schema(engine)
    insert(engine, "patients", [(1, "1960-01-01", "F"), (2, "1970-05-05", "M"), (3, "1980-09-09", "F")])
    insert(engine, "events", [
        (1, "2019-03-01", "ICD10CM", "E11.9", None),
        (1, "2019-04-01", "icd-10-cm", "e119", None),
        (2, "2019-03-01T08:30:00", "ICD10CM", "E119 ", None),
        (2, "2020-01-01 00:00:00", "ICD10CM", "E11.9", None),
        (3, None, "ICD10CM", " e11.9", None),
        (3, 20200105, "ICD10CM", "I10", None),
        (1, EPOCH_2002_10_15, "LOINC", "4548-4", 7.2),
        (2, "2021-06-01", "LOINC", "4548-4", 5.4),
        (2, "2021-06-01", "ICD10CM", "NOT-A-CODE!", None),
        (3, "2021-06-01", "ICD10CM", "??", None),
        (3, "2021-06-01", "LOCAL", "ZZ-1", None),
        (3, "not a date", "HPO", "hp_0000819", None),
    ])
    insert(engine, "vocabulary", [("LOINC", "4548-4", "Hemoglobin A1c"), ("local", "ZZ-1", "Local thing"),
                                  ("ICD10CM", "E11.9", None)])
    engine.dispose()
    return path


@pytest.fixture
def omop_db(tmp_path: Path) -> Path:
    """OMOP CDM 5.4-like tables (mixed case names) with dates stored as epoch seconds, as Eunomia does."""
    path = tmp_path / "omop.db"
    engine = open_database(path, must_exist=False)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE PERSON (person_id INTEGER, year_of_birth INTEGER)")
        conn.exec_driver_sql("CREATE TABLE CONCEPT (concept_id INTEGER, concept_name TEXT, domain_id TEXT, "
                             "vocabulary_id TEXT, concept_code TEXT)")
        conn.exec_driver_sql("CREATE TABLE condition_occurrence (condition_occurrence_id INTEGER, person_id INTEGER, "
                             "condition_concept_id INTEGER, condition_start_date REAL, condition_start_datetime REAL, "
                             "condition_source_value TEXT, condition_source_concept_id INTEGER)")
        conn.exec_driver_sql("CREATE TABLE measurement (measurement_id INTEGER, person_id INTEGER, "
                             "measurement_concept_id INTEGER, measurement_date REAL, value_as_number REAL, "
                             "measurement_source_value TEXT, measurement_source_concept_id INTEGER, "
                             "measurement_event_id INTEGER)")
    insert(engine, "person", [(1, 1960), (2, 1970), (3, 1980)])
    insert(engine, "concept", [
        (201826, "Type 2 diabetes mellitus", "Condition", "SNOMED", "44054006"),
        (45576876, "Type 2 diabetes mellitus without complications", "Condition", "ICD10CM", "E11.9"),
        (3004410, "Hemoglobin A1c", "Measurement", "LOINC", "4548-4"),
        (999, "Broken", "Condition", "ICD10CM", "???"),
    ])
    day = 86_400
    insert(engine, "condition_occurrence", [
        (1, 1, 201826, EPOCH_2002_10_15, EPOCH_2002_10_15 + 3600, "E11.9", 45576876),
        (2, 2, 201826, EPOCH_2002_10_15 + day, None, "E11.9", 45576876),
        (3, 2, 201826, EPOCH_2002_10_15 + 2 * day, None, "E11.9", 0),
        (4, 3, 0, EPOCH_2002_10_15, None, "E11.9", 45576876),  # falls back to the source concept
        (5, 3, 0, EPOCH_2002_10_15, None, "X99-LOCAL", 0),  # unmapped: source value only
        (6, 1, 123456, EPOCH_2002_10_15, None, "X98-LOCAL", None),  # not in CONCEPT, no source concept
        (7, 1, 999, None, None, "??", 0),  # malformed concept code, null date
    ])
    insert(engine, "measurement", [(1, 1, 3004410, EPOCH_2002_10_15, 7.1, "4548-4", 0, None),
                                   (2, 2, 3004410, EPOCH_2002_10_15, None, "4548-4", 0, None)])
    engine.dispose()
    return path
