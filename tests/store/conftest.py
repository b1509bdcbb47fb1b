"""Small patient databases built in-test: native and OMOP (with Eunomia-style numeric dates).

``native_url``/``omop_url`` build them on SQLite, PostgreSQL and DuckDB (the test runs once per
backend, through the shared ``backend_url`` fixture); ``native_db``/``omop_db`` are the same
databases as SQLite files, for tests of SQLite's own behaviour and for other packages' tests.
Rows are written through SQLAlchemy (``tests.helpers.insert_rows``), never with sqlite3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.store import create_native_schema, open_database
from tests.helpers import execute, insert_rows

EPOCH_2002_10_15 = 1034640000  # 2002-10-15T00:00:00 in epoch seconds


def build_native(url: str) -> str:
    """Native schema: E11.9 written five ways, malformed codes, a null time, numeric and unparsable times."""
    engine = open_database(url, must_exist=False)
    create_native_schema(engine)
    engine.dispose()
    insert_rows(url, "patients", [(1, "1960-01-01", "F"), (2, "1970-05-05", "M"), (3, "1980-09-09", "F")])
    insert_rows(url, "events", [
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
    insert_rows(url, "vocabulary", [("LOINC", "4548-4", "Hemoglobin A1c"), ("local", "ZZ-1", "Local thing"),
                                    ("ICD10CM", "E11.9", None)])
    return url


def build_omop(url: str) -> str:
    """OMOP CDM 5.4-like tables (upper-case PERSON and CONCEPT, quoted so PostgreSQL keeps the case) with dates
    stored as epoch seconds, as Eunomia does."""
    execute(url, 'CREATE TABLE "PERSON" (person_id INTEGER, year_of_birth INTEGER)')
    execute(url, 'CREATE TABLE "CONCEPT" (concept_id INTEGER, concept_name TEXT, domain_id TEXT, '
                 "vocabulary_id TEXT, concept_code TEXT)")
    execute(url, "CREATE TABLE condition_occurrence (condition_occurrence_id INTEGER, person_id INTEGER, "
                 "condition_concept_id INTEGER, condition_start_date DOUBLE PRECISION, "
                 "condition_start_datetime DOUBLE PRECISION, condition_source_value TEXT, "
                 "condition_source_concept_id INTEGER)")
    execute(url, "CREATE TABLE measurement (measurement_id INTEGER, person_id INTEGER, "
                 "measurement_concept_id INTEGER, measurement_date DOUBLE PRECISION, value_as_number DOUBLE PRECISION, "
                 "measurement_source_value TEXT, measurement_source_concept_id INTEGER, "
                 "measurement_event_id INTEGER)")
    insert_rows(url, "PERSON", [(1, 1960), (2, 1970), (3, 1980)])
    insert_rows(url, "CONCEPT", [
        (201826, "Type 2 diabetes mellitus", "Condition", "SNOMED", "44054006"),
        (45576876, "Type 2 diabetes mellitus without complications", "Condition", "ICD10CM", "E11.9"),
        (3004410, "Hemoglobin A1c", "Measurement", "LOINC", "4548-4"),
        (999, "Broken", "Condition", "ICD10CM", "???"),
    ])
    day = 86_400
    insert_rows(url, "condition_occurrence", [
        (1, 1, 201826, EPOCH_2002_10_15, EPOCH_2002_10_15 + 3600, "E11.9", 45576876),
        (2, 2, 201826, EPOCH_2002_10_15 + day, None, "E11.9", 45576876),
        (3, 2, 201826, EPOCH_2002_10_15 + 2 * day, None, "E11.9", 0),
        (4, 3, 0, EPOCH_2002_10_15, None, "E11.9", 45576876),  # falls back to the source concept
        (5, 3, 0, EPOCH_2002_10_15, None, "X99-LOCAL", 0),  # unmapped: source value only
        (6, 1, 123456, EPOCH_2002_10_15, None, "X98-LOCAL", None),  # not in CONCEPT, no source concept
        (7, 1, 999, None, None, "??", 0),  # malformed concept code, null date
    ])
    insert_rows(url, "measurement", [(1, 1, 3004410, EPOCH_2002_10_15, 7.1, "4548-4", 0, None),
                                     (2, 2, 3004410, EPOCH_2002_10_15, None, "4548-4", 0, None)])
    return url


@pytest.fixture
def native_url(backend_url: str) -> str:
    """The native database on SQLite, then PostgreSQL, then DuckDB."""
    return build_native(backend_url)


@pytest.fixture
def omop_url(backend_url: str) -> str:
    """The OMOP database on SQLite, then PostgreSQL, then DuckDB."""
    return build_omop(backend_url)


@pytest.fixture
def native_db(tmp_path: Path) -> Path:
    """The native database as a SQLite file."""
    path = tmp_path / "native.db"
    build_native(f"sqlite:///{path}")
    return path


@pytest.fixture
def omop_db(tmp_path: Path) -> Path:
    """The OMOP database as a SQLite file."""
    path = tmp_path / "omop.db"
    build_omop(f"sqlite:///{path}")
    return path
