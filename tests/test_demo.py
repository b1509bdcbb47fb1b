from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import simple_icd_10_cm as icd10

from ehrfeat.codes import ICD9CM, normalize_code
from ehrfeat.demo import make_demo_db
from ehrfeat.demo_groups import FRACTURES, GROUPS, NOISE, OUTCOME_EFFECTS
from ehrfeat.errors import DatabaseError
from ehrfeat.store import EventReadReport, detect_schema, distinct_codes, iter_events, open_database, patient_ids

TABLES = ("patients", "events", "vocabulary", "notes", "demo_truth", "demo_outcome")


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for table in TABLES:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    a = make_demo_db(tmp_path / "a.db", n_patients=300, seed=7)
    b = make_demo_db(tmp_path / "b.db", n_patients=300, seed=7)
    c = make_demo_db(tmp_path / "c.db", n_patients=300, seed=8)
    assert _content_hash(tmp_path / "a.db") == _content_hash(tmp_path / "b.db") != _content_hash(tmp_path / "c.db")
    assert (a.n_events, a.n_notes, dict(a.groups)) == (b.n_events, b.n_notes, dict(b.groups))
    assert c.n_patients == 300


def test_rebuild_replaces_a_demo_db_but_never_another_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    make_demo_db(path, n_patients=50, seed=1)
    first = _content_hash(path)
    make_demo_db(path, n_patients=50, seed=1)
    assert _content_hash(path) == first
    other = tmp_path / "real.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE events (x)")
    with pytest.raises(DatabaseError, match="not a demo database"):
        make_demo_db(other, n_patients=10)


def test_contents(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    summary = make_demo_db(path, n_patients=800, seed=0)
    engine = open_database(path)
    schema = detect_schema(engine)
    assert schema.kind == "native" and patient_ids(engine, schema).tolist() == list(range(1, 801))
    with sqlite3.connect(path) as conn:
        truth = dict(conn.execute("SELECT patient_id, phenotype FROM demo_truth").fetchall())
        outcome = dict(conn.execute("SELECT patient_id, outcome FROM demo_outcome").fetchall())
        n_notes = conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
        pregnant_sex = {s for (s,) in conn.execute(
            "SELECT DISTINCT sex FROM patients JOIN demo_truth USING (patient_id) WHERE phenotype = 'pregnancy'")}
        note = conn.execute("SELECT text FROM notes LIMIT 1").fetchone()[0]
    assert len(truth) == 800 and set(truth.values()) == set(GROUPS) and set(outcome.values()) == {0, 1}
    assert 0.1 < n_notes / 800 < 0.3 and n_notes == summary.n_notes and "-year-old" in note
    assert pregnant_sex == {"F"}
    codes, skipped = distinct_codes(engine, schema)
    by_key = {(c.system, c.code): c for c in codes}
    assert {c.system for c in codes} == {"ICD10CM", "ICD9CM", "HPO", "LOINC", "RxNorm", "LOCAL"}
    assert dict(skipped.counts) == {"malformed code (rows)": skipped.counts["malformed code (rows)"]}
    assert skipped.examples["malformed code (rows)"] == ("ICD10CM:UNKNOWN",)
    assert by_key[("LOINC", "4548-4")].text and by_key[("RxNorm", "6809")].text == "metformin"
    assert by_key[("LOCAL", "FLU-CLINIC")].text is None and by_key[("LOCAL", "CM-ENROLL")].text
    # the planted group drives the codes: nearly all E11.9 patients are diabetic
    diabetics = sum(1 for g in truth.values() if g == "diabetes")
    assert diabetics * 0.8 < by_key[("ICD10CM", "E11.9")].n_patients < diabetics * 1.3
    report = EventReadReport()
    n = sum(len(ch) for ch in iter_events(engine, schema, report=report))
    assert n + report.malformed_code == summary.n_events and report.unparsable_time == 0 and report.null_time > 0


def test_odd_forms_are_present_and_merge(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    make_demo_db(path, n_patients=800, seed=0)
    with sqlite3.connect(path) as conn:
        forms = {c for (c,) in conn.execute("SELECT DISTINCT code FROM events WHERE code_system IN ('ICD10CM', 'icd-10-cm')")}
    assert {"E11.9", "E119", "e119", "E11.9 "} <= forms


def test_planted_codes_are_real_and_outcome_depends_on_codes() -> None:
    for group in GROUPS.values():
        for code, p in group.icd10:
            assert icd10.is_valid_item(code) and icd10.is_leaf(code), code
            assert 0 < p <= 1
        normalize_code(ICD9CM, group.icd9)
    for code, _ in NOISE:
        assert icd10.is_valid_item(code), code
    assert all(icd10.is_valid_item(c) for c in OUTCOME_EFFECTS)


def test_fracture_family_is_large_real_and_apart_from_the_groups() -> None:
    assert len(FRACTURES) == len(set(FRACTURES)) >= 500
    for code in FRACTURES:
        assert icd10.is_valid_item(code) and icd10.is_leaf(code), code
        assert "fracture" in icd10.get_description(code).lower(), code
    planted = {c for g in GROUPS.values() for c, _ in g.icd10} | {c for c, _ in NOISE} | set(OUTCOME_EFFECTS)
    assert not planted & set(FRACTURES)


def test_outcome_is_planted_on_group_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    make_demo_db(path, n_patients=3000, seed=3)
    with sqlite3.connect(path) as conn:
        rates = dict(conn.execute("SELECT phenotype, AVG(outcome) FROM demo_outcome JOIN demo_truth USING (patient_id) "
                                  "GROUP BY phenotype").fetchall())
        with_code = conn.execute("SELECT AVG(outcome) FROM demo_outcome o JOIN demo_truth t USING (patient_id) "
                                 "WHERE t.phenotype = 'copd' AND patient_id IN "
                                 "(SELECT patient_id FROM events WHERE code IN ('J96.11', 'J9611', 'j9611', 'J96.11 '))"
                                 ).fetchone()[0]
    assert rates["heart_failure"] > rates["pregnancy"] + 0.2
    assert with_code > rates["copd"] + 0.1
    assert np.isfinite(list(rates.values())).all()
