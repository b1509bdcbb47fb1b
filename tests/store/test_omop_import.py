from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ehrfeat.cli import import_omop as import_omop_cli
from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.store import detect_schema, distinct_codes, import_omop, open_database
from tests.helpers import insert_rows

PERSON = "person_id,gender_concept_id,year_of_birth,birth_datetime\n1,8507,1998,1998-04-09 00:00:00\n2,8532,2014,\n"
CONDITIONS = ("condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_source_value,"
              "condition_source_concept_id\n1,1,201826,2002-10-15,250.00,0\n2,2,201826,2003-01-02,007,0\n")
# Athena style: tab-separated, unquoted (a literal quote inside a name), yyyymmdd dates.
CONCEPT = ("concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\t"
           "valid_start_date\tvalid_end_date\tinvalid_reason\n"
           "201826\tType 2 diabetes \"mellitus\"\tCondition\tSNOMED\tClinical Finding\tS\t44054006\t19700101\t20991231\t\n")


def _write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_folder_import_types_and_dates(tmp_path: Path) -> None:
    src = _write(tmp_path / "csv", {"PERSON.csv": PERSON, "Condition_Occurrence.CSV": CONDITIONS, "CONCEPT.csv": CONCEPT,
                                    ".hidden.csv": "x\n1\n", "README.txt": "not a table"})
    report = import_omop(src, tmp_path / "cdm.db")
    assert dict(report.tables) == {"concept": 1, "condition_occurrence": 2, "person": 2}
    db = tmp_path / "cdm.db"
    assert _rows(db, "SELECT person_id, typeof(person_id), birth_datetime FROM person") == [
        (1, "integer", "1998-04-09 00:00:00"), (2, "integer", None)]
    # source values stay text (leading zeros and dots kept); dates stay ISO text
    assert _rows(db, "SELECT condition_source_value, condition_start_date FROM condition_occurrence") == [
        ("250.00", "2002-10-15"), ("007", "2003-01-02")]
    assert _rows(db, "SELECT concept_name, concept_code, valid_start_date, invalid_reason FROM concept") == [
        ('Type 2 diabetes "mellitus"', "44054006", "1970-01-01", None)]
    engine = open_database(db)
    codes, _ = distinct_codes(engine, detect_schema(engine))
    assert [(c.system, c.code, c.n_events, c.n_patients, c.text) for c in codes] == [
        ("SNOMED", "44054006", 2, 2, 'Type 2 diabetes "mellitus"')]


def test_zip_skips_macosx_and_dot_files(tmp_path: Path) -> None:
    archive = tmp_path / "cdm.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cdm/PERSON.csv", PERSON)
        zf.writestr("__MACOSX/cdm/._PERSON.csv", b"\x00\x05\x16\x07 binary resource fork")
        zf.writestr("cdm/.DS_Store", b"\x00\x00")
    report = import_omop(archive, tmp_path / "cdm.db")
    assert dict(report.tables) == {"person": 2} and not report.skipped_files


def test_non_utf8_bytes_are_replaced_and_counted(tmp_path: Path) -> None:
    latin1 = "note_id,person_id,note_text\n1,1,Caf\xe9 visit\n2,1,plain\n3,2,na\xefve \xe9\n".encode("latin-1")
    report = import_omop(_write(tmp_path / "csv", {"NOTE.csv": latin1}), tmp_path / "cdm.db")
    assert dict(report.decode_errors) == {"note": 2} and report.tables["note"] == 3
    assert _rows(tmp_path / "cdm.db", "SELECT note_text FROM note ORDER BY note_id") == [
        ("Caf\ufffd visit",), ("plain",), ("na\ufffdve \ufffd",)]


def test_existing_table_refused_unless_replace(tmp_path: Path) -> None:
    src = _write(tmp_path / "csv", {"PERSON.csv": PERSON})
    db = tmp_path / "cdm.db"
    import_omop(src, db)
    with pytest.raises(DatabaseError, match="person already exist") as info:
        import_omop(src, db)
    assert "--replace" in (info.value.fix or "")
    assert import_omop(src, db, replace=True).tables == {"person": 2}
    assert _rows(db, "SELECT COUNT(*) FROM person") == [(2,)]


def test_bad_rows_roll_back_the_whole_import(tmp_path: Path) -> None:
    src = _write(tmp_path / "csv", {"A_PERSON.csv": PERSON, "PERSON_BAD.csv": "person_id,year_of_birth\n1,1990\n2\n"})
    with pytest.raises(InputError, match=r"PERSON_BAD\.csv line 3: 1 fields, the header has 2"):
        import_omop(src, tmp_path / "cdm.db", chunk_size=1)
    assert _rows(tmp_path / "cdm.db", "SELECT name FROM sqlite_master WHERE type = 'table'") == []


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        import_omop(tmp_path / "nope", tmp_path / "cdm.db")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \.csv"):
        import_omop(tmp_path / "empty", tmp_path / "cdm.db")
    src = _write(tmp_path / "csv", {"PERSON.csv": PERSON, "my table.csv": "a\n1\n"})
    assert dict(import_omop(src, tmp_path / "cdm.db").skipped_files) == {"my table.csv": "file name is not a valid table name"}


def test_cli_wrapper(tmp_path: Path) -> None:
    app = typer.Typer()
    import_omop_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer's sub-command layout
    src = _write(tmp_path / "csv", {"PERSON.csv": PERSON, "CONCEPT.csv": CONCEPT})
    runner = CliRunner()
    result = runner.invoke(app, ["import-omop", str(src), str(tmp_path / "cdm.db")])
    assert result.exit_code == 0, result.output
    assert "concept\t1" in result.output and "person\t2" in result.output
    again = runner.invoke(app, ["import-omop", str(src), str(tmp_path / "cdm.db")])
    assert again.exit_code == 2 and "error: [E206]" in again.output
    assert runner.invoke(app, ["import-omop", str(src), str(tmp_path / "cdm.db"), "--replace"]).exit_code == 0


@pytest.mark.slow
def test_synthea_import_detect_and_count(shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "synthea.db"
    report = import_omop(shared_data / "omop" / "Synthea27Nj_5.4.zip", db)
    assert len(report.tables) == 39 and not report.decode_errors and not report.skipped_files
    assert {t: report.tables[t] for t in ("person", "concept", "condition_occurrence", "drug_exposure",
                                          "procedure_occurrence", "measurement", "observation", "device_exposure",
                                          "note")} == {
        "person": 28, "concept": 2294, "condition_occurrence": 470, "drug_exposure": 883, "procedure_occurrence": 1649,
        "measurement": 10040, "observation": 8099, "device_exposure": 1, "note": 0}
    engine = open_database(db)
    schema = detect_schema(engine)
    assert (schema.kind, schema.cdm_version) == ("omop", "5.4")
    codes, skipped = distinct_codes(engine, schema)
    # 410 clinical codes (21,142 events) plus the 3 visit concepts (OP, ER, IP: 1,791 visits), a domain since issue 14
    assert skipped.total == 0 and len(codes) == 413
    assert sum(c.n_events for c in codes) == 22933
    assert {c.system for c in codes} == {"SNOMED", "RxNorm", "LOINC", "Visit"}
    visits = {c.code: c.n_events for c in codes if c.domain == "visit"}
    assert visits == {"OP": 1722, "ER": 56, "IP": 13}
    assert all(c.text and c.concept_id and c.domain and 1 <= c.n_patients <= 28 for c in codes)
    by_code = {(c.system, c.code): c for c in codes}
    assert by_code[("LOINC", "8480-6")].text == "Systolic blood pressure"
    assert by_code[("LOINC", "8480-6")].n_patients == 28


def test_duplicate_concept_ids_are_an_error_that_names_them(omop_url: str) -> None:
    """Was: events mapped to either row's code and counted twice, exit 0, without a word."""
    from ehrfeat.store import distinct_codes as codes_of

    engine = open_database(omop_url)
    assert codes_of(engine, detect_schema(engine))[0]  # clean: reads
    engine.dispose()
    insert_rows(omop_url, "CONCEPT", [(201826, "Other name", "Condition", "ICD10CM", "E11.9")])
    engine = open_database(omop_url)
    with pytest.raises(InputError, match="E1222") as info:
        codes_of(engine, detect_schema(engine))
    assert "201826" in str(info.value) and "DELETE FROM" in str(info.value) and "--duplicate-concepts" in str(info.value)
