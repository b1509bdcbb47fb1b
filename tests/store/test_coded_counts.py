"""embed-codes discovery on SQLite: the packed pass counts exactly as the GROUP BY it replaces."""

from __future__ import annotations

import sqlite3

import pytest

from ehrfeat.store import coded_counts, open_database
from ehrfeat.store.coded_counts import raw_code_counts
from ehrfeat.store.coded_events import Unsupported
from ehrfeat.store.events import distinct_codes
from ehrfeat.store.schema import detect_schema

ROWS = [
    (1, "2019-01-01", "ICD10CM", "E11.9"),
    (1, "2019-01-02", "ICD10CM", "E11.9"),  # the same patient twice
    (2, "2019-01-01", "ICD10CM", "E11.9"),
    (None, "2019-01-01", "ICD10CM", "E11.9"),  # no patient
    (None, "2019-01-01", "ICD10CM", "Z99.9"),  # a code seen only without a patient
    (3, "2019-01-01", "icd-10-cm", "E119"),  # another raw form of E11.9
    (3, None, "LOINC", 23457),  # an integer code ...
    (4, None, "LOINC", "23457"),  # ... and the same as text: two raw pairs
    (4, "2019-01-01", None, "I10"),  # no system
    (4, "2019-01-01", "ICD10CM", None),  # no code
    (5, "2019-01-01", "ICD10CM", b"I10"),  # a blob code
    (5, "2019-01-01", "ICD10CM", "NOT A CODE!"),  # malformed
    (5, "2019-01-01", "LOCAL", "O'Brien"),  # a quote inside a code
]


def _db(tmp_path, rows=ROWS, affinity=False):
    path = tmp_path / "codes.db"
    con = sqlite3.connect(path)
    types = ("INTEGER", "TEXT", "TEXT", "TEXT") if affinity else ("", "", "", "")
    con.executescript("CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT);"
                      f"CREATE TABLE events (patient_id {types[0]}, time {types[1]}, code_system {types[2]}, code {types[3]}, value);")
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, NULL)", rows * 3)
    con.commit()
    con.close()
    return path


def _group_by(path):
    con = sqlite3.connect(path)
    rows = con.execute("SELECT code_system, code, count(*), count(patient_id), count(DISTINCT patient_id) FROM events "
                       "GROUP BY code_system, code").fetchall()
    return sorted(rows, key=repr)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("affinity", [False, True])
def test_packed_counts_equal_the_group_by(tmp_path, monkeypatch, workers, affinity):
    monkeypatch.setattr(coded_counts, "ROWS_PER_QUERY", 4)  # many ranges: counts add up across them
    path = _db(tmp_path, affinity=affinity)
    got = raw_code_counts(open_database(path), '"events"', workers=workers)
    assert sorted(got, key=repr) == _group_by(path)


def test_discovery_reads_alike_either_way(tmp_path, monkeypatch):
    path = _db(tmp_path)
    engine = open_database(path)
    packed = distinct_codes(engine, detect_schema(engine))

    def refuse(*_args, **_kwargs):
        raise Unsupported("forced")

    monkeypatch.setattr(coded_counts, "raw_code_counts", refuse)
    assert distinct_codes(engine, detect_schema(engine)) == packed
    assert {(c.system, c.code, c.n_events, c.n_patients) for c in packed[0]} >= {("ICD10CM", "E11.9", 12, 3)}


def test_without_pyarrow_discovery_counts_with_the_group_by(tmp_path, monkeypatch):
    """embed-codes is core and pyarrow an extra: without it, the GROUP BY gives the same codes (no E1301)."""
    import sys

    path = _db(tmp_path)
    engine = open_database(path)
    packed = distinct_codes(engine, detect_schema(engine))
    calls = []
    monkeypatch.setattr(coded_counts, "raw_code_counts", lambda *a, **k: calls.append(a) or [])
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    assert distinct_codes(engine, detect_schema(engine)) == packed
    assert calls == []  # the packed pass was not even tried


@pytest.mark.parametrize("odd", [("p1", "2019-01-01", "ICD10CM", "I10"), (-1, "2019-01-01", "ICD10CM", "I10"),
                                 (1, "2019-01-01", "ICD10CM", "I\x1e10")])
def test_what_it_cannot_pack_is_refused(tmp_path, odd):
    """Text or negative patient ids and separators inside codes: the GROUP BY reads those tables."""
    path = _db(tmp_path, rows=[*ROWS, odd])
    with pytest.raises(Unsupported):
        raw_code_counts(open_database(path), '"events"')
