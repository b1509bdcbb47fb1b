from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.errors import SchemaError
from ehrfeat.store import EventReadReport, detect_schema, distinct_codes, iter_events, open_database, patient_ids
from tests.helpers import backend_of, execute, insert_rows


def _codes(url: str, systems: list[str] | None = None) -> tuple[dict[tuple[str, str], object], object]:
    engine = open_database(url)
    codes, skipped = distinct_codes(engine, detect_schema(engine), systems)
    return {(c.system, c.code): c for c in codes}, skipped


def test_odd_forms_merged_with_exact_patient_counts(native_url: str) -> None:
    codes, _ = _codes(native_url)
    e119 = codes[("ICD10CM", "E11.9")]
    assert (e119.n_events, e119.n_patients) == (5, 3)  # five raw forms, patients 1, 1, 2, 2, 3
    assert codes[("ICD10CM", "I10")].n_patients == 1
    assert codes[("HPO", "HP:0000819")].n_events == 1


def test_texts_come_from_the_vocabulary_table(native_url: str) -> None:
    codes, _ = _codes(native_url)
    assert codes[("LOINC", "4548-4")].text == "Hemoglobin A1c"
    assert codes[("LOCAL", "ZZ-1")].text is None  # vocabulary says "local": a different system name
    assert codes[("ICD10CM", "E11.9")].text is None and codes[("ICD10CM", "E11.9")].domain is None


def test_malformed_codes_reported_with_examples(native_url: str) -> None:
    codes, skipped = _codes(native_url)
    assert skipped.counts == {"malformed code (rows)": 2}
    assert set(skipped.examples["malformed code (rows)"]) == {"ICD10CM:NOT-A-CODE!", "ICD10CM:??"}
    assert sum(c.n_events for c in codes.values()) == 10


def test_null_codes_and_patients_are_reported(backend_url: str) -> None:
    path = backend_url
    # SQLite: an untyped column keeps 1, 2 and '3' as given; elsewhere a TEXT column holds integer-like text
    id_type = "" if backend_of(path) == "sqlite" else "TEXT"
    execute(path, f"CREATE TABLE Events (Patient_ID {id_type}, Time TEXT, Code_System TEXT, Code TEXT, Value REAL)")
    rows = [(1, "2020-01-01", "ICD10CM", None), (1, "2020-01-01", None, "E11.9"), (None, "2020-01-01", "ICD10CM", "I10"),
            (2, "2020-01-01", "ICD10CM", "I10"), ("3", "2020-01-01", "ICD10CM", "I10")]
    if id_type:
        rows = [(None if p is None else str(p), *rest) for p, *rest in rows]
    execute(path, "INSERT INTO Events VALUES (:p, :t, :s, :c, NULL)", [dict(zip("ptsc", r, strict=True)) for r in rows])
    codes, skipped = _codes(path)
    assert skipped.counts == {"null code (rows)": 1, "null code system (rows)": 1, "null patient_id (rows)": 1}
    assert (codes[("ICD10CM", "I10")].n_events, codes[("ICD10CM", "I10")].n_patients) == (2, 2)
    report = EventReadReport()
    engine = open_database(path)
    chunks = list(iter_events(engine, detect_schema(engine), report=report))
    assert sorted(np.concatenate([c.patient_id for c in chunks]).tolist()) == [2, 3]  # '3' is integer-like text
    assert (report.null_patient, report.null_code, report.rows_read) == (1, 2, 5)
    assert patient_ids(engine, detect_schema(engine)).tolist() == [1, 2, 3]  # no patients table: from events


def test_text_patient_ids_are_refused_with_a_fix(backend_url: str) -> None:
    execute(backend_url, "CREATE TABLE events (patient_id TEXT, time TEXT, code_system TEXT, code TEXT)")
    insert_rows(backend_url, "events", [("MRN-0042", "2020-01-01", "ICD10CM", "I10")])
    engine = open_database(backend_url)
    with pytest.raises(SchemaError, match="MRN-0042") as info:
        list(iter_events(engine, detect_schema(engine)))
    assert "ROW_NUMBER" in (info.value.fix or "")


def test_systems_filter_accepts_aliases(native_url: str) -> None:
    codes, skipped = _codes(native_url, ["icd-10-cm"])
    assert {s for s, _ in codes} == {"ICD10CM"} and skipped.counts["malformed code (rows)"] == 2
    codes, skipped = _codes(native_url, ["loinc", "hp"])
    assert set(codes) == {("LOINC", "4548-4"), ("HPO", "HP:0000819")} and not skipped.counts


def test_tiny_chunks_yield_every_row_exactly_once(native_url: str) -> None:
    engine = open_database(native_url)
    schema = detect_schema(engine)
    report = EventReadReport()
    chunks = list(iter_events(engine, schema, chunk_size=3, report=report))
    assert all(len(c) <= 3 for c in chunks) and len(chunks) >= 4
    def rows(chs: list) -> list[tuple[int, str, str, str]]:
        return sorted((int(p), str(s), str(c), str(t)) for ch in chs
                      for p, s, c, t in zip(ch.patient_id, ch.system, ch.code, ch.time, strict=True))

    whole = list(iter_events(engine, schema, chunk_size=1000))
    assert len(whole) == 1
    assert rows(chunks) == rows(whole) and len(rows(chunks)) == len(set(rows(chunks))) == 10
    assert (report.rows_read, report.rows_yielded, report.malformed_code) == (12, 10, 2)
    assert (report.null_time, report.unparsable_time) == (1, 1)
    assert set(report.examples["malformed code"]) == {"ICD10CM:NOT-A-CODE!", "ICD10CM:??"}


def test_event_chunk_columns(native_url: str) -> None:
    engine = open_database(native_url)
    (chunk,) = list(iter_events(engine, detect_schema(engine), systems=["LOINC"]))
    assert chunk.patient_id.dtype == np.int64 and chunk.time.dtype == np.dtype("datetime64[s]")
    assert chunk.value.dtype == np.float64 and chunk.system.dtype == object
    by_patient = dict(zip(chunk.patient_id.tolist(), zip(chunk.time.astype(str), chunk.value, strict=True), strict=True))
    assert by_patient == {1: ("2002-10-15T00:00:00", 7.2), 2: ("2021-06-01T00:00:00", 5.4)}  # epoch seconds and text
    assert chunk.domain.tolist() == ["LOINC", "LOINC"]


def test_native_patient_ids(native_url: str) -> None:
    engine = open_database(native_url)
    ids = patient_ids(engine, detect_schema(engine))
    assert ids.dtype == np.int64 and ids.tolist() == [1, 2, 3]


def test_omop_codes_through_concept_with_fallback_and_unmapped(omop_url: str) -> None:
    codes, skipped = _codes(omop_url)
    snomed = codes[("SNOMED", "44054006")]
    assert (snomed.n_events, snomed.n_patients, snomed.concept_id, snomed.domain) == (3, 2, 201826, "condition")
    assert snomed.text == "Type 2 diabetes mellitus"
    icd = codes[("ICD10CM", "E11.9")]  # standard concept 0: the source concept is used
    assert (icd.n_events, icd.n_patients, icd.concept_id) == (1, 1, 45576876)
    lab = codes[("LOINC", "4548-4")]
    assert (lab.n_events, lab.n_patients, lab.domain) == (2, 2, "measurement")
    reason = "unmapped concept (source value only): neither a known code nor text (rows)"
    assert skipped.counts == {reason: 2, "malformed code (rows)": 1}
    assert set(skipped.examples[reason]) == {"condition:X99-LOCAL", "condition:X98-LOCAL"}
    assert skipped.examples["malformed code (rows)"] == ("ICD10CM:???",)


def test_omop_events_with_numeric_dates(omop_url: str) -> None:
    engine = open_database(omop_url)
    schema = detect_schema(engine)
    report = EventReadReport()
    chunks = list(iter_events(engine, schema, chunk_size=2, report=report))
    rows = [(int(p), str(t), s, c, d) for ch in chunks
            for p, t, s, c, d in zip(ch.patient_id, ch.time, ch.system, ch.code, ch.domain, strict=True)]
    assert len(rows) == 6 == report.rows_yielded
    assert (1, "2002-10-15T01:00:00", "SNOMED", "44054006", "condition") in rows  # datetime preferred to date
    assert (2, "2002-10-16T00:00:00", "SNOMED", "44054006", "condition") in rows
    assert (3, "2002-10-15T00:00:00", "ICD10CM", "E11.9", "condition") in rows
    assert (report.unmapped_concept, report.malformed_code, report.rows_read) == (2, 1, 9)
    values = np.concatenate([c.value for c in chunks if c.domain[0] == "measurement"])
    assert values[0] == 7.1 and np.isnan(values[1])
    assert patient_ids(engine, schema).tolist() == [1, 2, 3]
    only_loinc = list(iter_events(engine, schema, systems=["lnc"]))
    assert sum(len(c) for c in only_loinc) == 2


def test_omop_concept_in_two_domains_is_one_code_with_exact_patients(omop_url: str) -> None:
    execute(omop_url, "CREATE TABLE observation (observation_id INTEGER, person_id INTEGER, observation_concept_id INTEGER, "
                      "observation_date TEXT, value_as_number REAL)")
    insert_rows(omop_url, "observation", [(1, 1, 201826, "2010-01-01", None), (2, 3, 201826, "2010-01-01", None)])
    codes, _ = _codes(omop_url)
    snomed = codes[("SNOMED", "44054006")]
    assert (snomed.n_events, snomed.n_patients, snomed.domain) == (5, 3, "condition")  # patients 1, 2 + 1, 3
