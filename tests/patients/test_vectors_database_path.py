"""The database path (codes, times and filters in SQL) equals the per-event path: weights, skip counts, read issues.

The database path is SQLite's (rowids, ``unixepoch``; marked ``sqlite_only``) and DuckDB's (the
``duckdb`` tests); PostgreSQL's is tested on a real server in ``test_vectors_database_path_postgresql.py``.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.errors import InputError
from ehrfeat.patients import patient_vectors
from ehrfeat.patients.counts import code_counts
from ehrfeat.store import open_database
from ehrfeat.store.coded_events import BAD_T, INDEX_NAME, MAX_ROWID, NAT, NULL_T, TIME_MARK, sql_time_seconds
from ehrfeat.store.dates import parse_times
from ehrfeat.store.embeddings import EmbeddingCache
from tests.helpers import execute, insert_rows, make_native_db, make_native_url
from tests.patients.conftest import FP, VECTORS, write_vectors
from tests.time_cases import TIME_CASES

MESSY = [
    (1, "2019-01-01", "ICD10CM", "E11.9", None),
    (1, "2019-01-01 00:00:00", "icd-10-cm", "E119", None),  # the same event in another raw form: a duplicate
    (1, "2019-06-01T08:30", "ICD10CM", "E11.9", None),
    (1, "2019-03-01", "ICD10CM", "I10", None),
    (1, "20190402", "ICD10CM", "I10", None),  # basic ISO: read by the time reader
    (1, "2019-04-02T10:00:00+02:00", "ICD10CM", "J44.1", None),  # an offset: read by the time reader
    (1, " 2019-05-05 ", "LOINC", "2345-7", 1.0),  # blanks around
    (2, "2019-02-01", "ICD10CM", "I10", None),
    (2, "2019-02-01", "ICD10CM", "I10", None),  # a plain duplicate
    (2, "2019-02-01", "LOINC", "2345-7", 5.4),
    (2, "1551398400", "LOINC", "2345-7", 5.0),  # epoch seconds as text (2019-03-01)
    (2, "2019-02-30", "ICD10CM", "J44.1", None),  # impossible date: unparsable
    (2, "last tuesday", "ICD10CM", "J44.1", None),  # unparsable
    (2, None, "ICD10CM", "J44.1", None),  # null time
    (2, "   ", "ICD10CM", "I10", None),  # blank time: null
    (2, "2090-01-01", "ICD10CM", "I10", None),  # in the future
    (2, "1700-01-01", "ICD10CM", "I10", None),  # outside 1800-2100: unparsable
    (3, "2019-02-01", "LOCAL", "X-1", None),  # not cached
    (3, "2019-02-01", "ICD10CM", "NOT A CODE!", None),  # malformed
    (3, "2019-02-01", None, "E11.9", None),  # null system
    (3, "2019-02-01", "ICD10CM", None, None),  # null code
    (9, "2019-02-01", "ICD10CM", "I10", None),  # patient 9 has no row in `patients` below
    (5, "2018-12-31 23:59:59", "LOINC", "2345-7", None),
    (5, "2019-12-31", "ICD10CM", "E11.9", None),
    (5, "2019-07-01 12:00", "ICD10CM", "E11.9", None),
]


def _duckdb(tmp_path, events=MESSY, time_type="VARCHAR"):
    """The same database in DuckDB (time as text, or as a TIMESTAMP column)."""
    duckdb = pytest.importorskip("duckdb")
    import pandas as pd
    import sqlalchemy as sa

    path = tmp_path / "messy.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE events (patient_id BIGINT, time {time_type}, code_system VARCHAR, code VARCHAR, value DOUBLE)")
    frame = pd.DataFrame([*events, (None, "2019-01-01", "ICD10CM", "I10", None)],  # noqa: F841
                         columns=["patient_id", "time", "code_system", "code", "value"]).astype(object)
    cast = "TRY_CAST(time AS TIMESTAMP)" if time_type != "VARCHAR" else "time"
    con.execute(f"INSERT INTO events SELECT CAST(patient_id AS BIGINT), {cast}, code_system, code, CAST(value AS DOUBLE) FROM frame")
    con.execute("CREATE TABLE patients (patient_id BIGINT, birth_date VARCHAR, sex VARCHAR)")
    con.execute("INSERT INTO patients SELECT DISTINCT patient_id, NULL, NULL FROM events WHERE patient_id IS NOT NULL AND patient_id <> 9")
    con.execute("CREATE TABLE cohort (patient_id BIGINT, as_of VARCHAR)")
    con.execute("INSERT INTO cohort VALUES (1, '2019-05-01'), (2, '2019-03-01T12:00'), (5, '20200101'), (3, '2019-03-01')")
    con.close()
    url = f"duckdb:///{path}"
    engine = sa.create_engine(url)
    cache = EmbeddingCache(engine)
    cache.ensure_table()
    cache.write(FP, [(code, f"text of {code}") for code in VECTORS], np.asarray(list(VECTORS.values()), np.float32))
    engine.dispose()
    return url


def _messy(url, events=MESSY):
    """MESSY at any URL (SQLite, PostgreSQL): a null patient, patient 9 without a patients row, a cohort table."""
    make_native_url(url, events)
    execute(url, "DELETE FROM patients WHERE patient_id = 9")
    execute(url, "INSERT INTO events VALUES (NULL, '2019-01-01', 'ICD10CM', 'I10', NULL)")  # null patient
    execute(url, "CREATE TABLE cohort (patient_id INTEGER, as_of TEXT)")
    insert_rows(url, "cohort", [(1, "2019-05-01"), (2, "2019-03-01T12:00"), (5, "20200101"), (3, "2019-03-01")])
    write_vectors(url)
    return url


def _db(tmp_path, events=MESSY):
    path = tmp_path / "messy.db"
    _messy(f"sqlite:///{path}", events)
    return path


MODES = [
    {},
    {"as_of": "2019-05-01"},
    {"as_of": "2019-04-02T08:00:00"},
    {"as_of": "2019-12-31", "window": "200d"},
    {"as_of_table": "cohort"},
    {"as_of_table": "cohort", "window": "60d"},
    {"systems": ("icd10cm",)},
    {"by_system": True, "as_of": "2020-01-01"},
]


def _same(a, b) -> None:
    assert list(a.patient_ids) == list(b.patient_ids)
    np.testing.assert_allclose(a.matrix, b.matrix, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(a.n_events, b.n_events)
    np.testing.assert_array_equal(a.no_codes, b.no_codes)
    assert a.columns == b.columns
    for field in ("events_read", "events_used", "skipped", "read_issues", "as_of_issues", "patients"):
        assert getattr(a.report, field) == getattr(b.report, field), field


@pytest.mark.sqlite_only
@pytest.mark.parametrize("weighting", ["mean", "count", "idf", "time-decay"])
@pytest.mark.parametrize("mode", MODES, ids=[",".join(f"{k}={v}" for k, v in m.items()) or "no-as-of" for m in MODES])
def test_database_path_equals_per_event_path(tmp_path, weighting, mode):
    db = _db(tmp_path)
    fast = patient_vectors(db, weighting=weighting, half_life="30d", aggregate="database", **mode)
    slow = patient_vectors(db, weighting=weighting, half_life="30d", aggregate="events", **mode)
    assert fast.report.path == "database" and slow.report.path == "events"
    assert sum(fast.report.skipped.values()) > 0 and fast.report.read_issues
    _same(fast, slow)


@pytest.mark.parametrize("weighting", ["mean", "count", "idf", "time-decay"])
@pytest.mark.parametrize("mode", MODES, ids=[",".join(f"{k}={v}" for k, v in m.items()) or "no-as-of" for m in MODES])
@pytest.mark.parametrize("time_type", ["VARCHAR", "TIMESTAMP"])
@pytest.mark.parametrize("aggregate", ["database", "counts"])
def test_duckdb_database_path_equals_per_event_path(tmp_path, weighting, mode, time_type, aggregate):
    db = _duckdb(tmp_path, time_type=time_type)
    fast = patient_vectors(db, weighting=weighting, half_life="30d", aggregate=aggregate, **mode)
    slow = patient_vectors(db, weighting=weighting, half_life="30d", aggregate="events", **mode)
    assert fast.report.path == aggregate and slow.report.path == "events"
    assert sum(fast.report.skipped.values()) > 0 and fast.report.read_issues
    _same(fast, slow)
    for chunk_size in (1, 3):
        _same(patient_vectors(db, chunk_size=chunk_size, aggregate=aggregate, **mode),
              patient_vectors(db, chunk_size=chunk_size, aggregate="events", **mode))


@pytest.mark.sqlite_only
def test_chunks_drop_duplicates_as_the_per_event_path_does(tmp_path):
    db = _db(tmp_path)
    whole = patient_vectors(db, aggregate="events")  # one chunk
    for chunk_size in (1, 2, 5, 7):  # duplicates in different chunks are duplicates too: the chunking changes nothing
        fast = patient_vectors(db, chunk_size=chunk_size, aggregate="database")
        _same(fast, patient_vectors(db, chunk_size=chunk_size, aggregate="events"))
        _same(fast, whole)


@pytest.mark.sqlite_only
def test_code_counts_use_the_database_path_alike(tmp_path):
    db = _db(tmp_path)
    fast = code_counts(db, as_of_table="cohort", window="365d")
    write = open_database(db)  # the per-event path for the same counts
    from ehrfeat.patients.as_of import resolve_as_of
    from ehrfeat.patients.settings import VectorSettings
    from ehrfeat.patients.vectors import open_inputs, patient_weights
    settings = VectorSettings(weighting="count", as_of_table="cohort", window="365d", aggregate="events")
    engine, schema, embeddings = open_inputs(write, settings)
    cohort = resolve_as_of(engine, schema, table="cohort", now_s=fast_now())
    slow = patient_weights(engine, schema, cohort, embeddings, settings).weights
    assert (fast.matrix != slow.matrix).nnz == 0 and fast.skipped == slow.skipped


def fast_now() -> int:
    from ehrfeat.patients.settings import now_seconds

    return now_seconds()


def _edge_values() -> list[object]:
    days = [f"{y}-{m}-{d}" for y in ("1799", "1800", "2019", "2020", "2099", "2100") for m in ("00", "01", "02", "04", "12", "13")
            for d in ("00", "01", "28", "29", "30", "31", "32")]
    clocks = ("", " 00:00", "T23:59", " 24:00", " 23:60", " 12:30:59", "T12:30:60", " 24:00:00", "T00:00:00")
    return [d + c for d in days for c in clocks] + [c.value for c in TIME_CASES if c.sql]


@pytest.mark.sqlite_only
def test_sql_reads_strict_iso_exactly_as_the_time_reader():
    """Every value SQL reads itself gets the reader's seconds; the rest are marked with their rowid for the reader."""
    values = _edge_values()
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE events (time TEXT)")
    con.executemany("INSERT INTO events VALUES (?)", [(v,) for v in values])
    rows = con.execute(f"SELECT time, rowid, {sql_time_seconds('time', 'rowid')} FROM events ORDER BY rowid").fetchall()
    arr = np.empty(len(values), dtype=object)
    arr[:] = [r[0] for r in rows]
    want = parse_times(arr).times.view(np.int64)
    read_in_sql = 0
    for (value, rowid, got), expected in zip(rows, want.tolist(), strict=True):
        if value is None:
            assert got == NULL_T
        elif got == TIME_MARK - rowid:
            assert abs(rowid) < MAX_ROWID
        else:
            read_in_sql += 1
            assert got == expected != NAT, value
    assert 300 < read_in_sql < len(values)  # the valid strict forms are read in SQL, the doubtful ones are not


@pytest.mark.sqlite_only
def test_time_case_table_through_both_paths(tmp_path):
    events = [(i + 1, c.value, "ICD10CM", "I10", None) for i, c in enumerate(TIME_CASES) if c.sql]
    path = make_native_db(tmp_path / "times.db", events)
    write_vectors(path, {Code("ICD10CM", "I10"): VECTORS[Code("ICD10CM", "I10")]})
    for mode in ({}, {"as_of": "2020-03-04T05:06:07"}):
        _same(patient_vectors(path, aggregate="database", **mode), patient_vectors(path, aggregate="events", **mode))


@pytest.mark.sqlite_only
def test_indexes_only_with_consent_and_reported(tmp_path):
    db = _db(tmp_path)

    def indexes() -> set[str]:
        con = sqlite3.connect(db)
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        con.close()
        return names

    plain = patient_vectors(db)
    assert INDEX_NAME not in indexes() and plain.report.notes == ()
    made = patient_vectors(db, create_indexes=True)
    assert INDEX_NAME in indexes() and any(INDEX_NAME in note for note in made.report.notes)
    assert any(INDEX_NAME in line for line in made.report.lines())
    again = patient_vectors(db, create_indexes=True)  # already there: nothing to report
    assert again.report.notes == ()
    _same(made, plain)


@pytest.mark.sqlite_only
def test_sparse_rowids_and_views_fall_back_to_the_per_event_path(tmp_path):
    db = _db(tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET rowid = rowid * 10000000 WHERE rowid > 3")
    con.execute("ALTER TABLE events RENAME TO events_raw")
    con.execute("CREATE VIEW events AS SELECT * FROM events_raw")
    con.commit()
    con.close()
    auto = patient_vectors(db, as_of="2019-05-01")
    assert auto.report.path == "events"
    with pytest.raises(InputError, match="no rowid") as err:
        patient_vectors(db, aggregate="database")
    assert err.value.code == "E1902"
    con = sqlite3.connect(db)
    con.execute("DROP VIEW events")
    con.execute("ALTER TABLE events_raw RENAME TO events")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="sparse rowids"):
        patient_vectors(db, aggregate="database")
    _same(auto, patient_vectors(db, as_of="2019-05-01"))


@pytest.mark.sqlite_only
def test_database_path_refuses_what_it_cannot_read(tmp_path):
    db = make_native_db(tmp_path / "text_ids.db", [(1, "2019-01-01", "ICD10CM", "I10", None)])
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET patient_id = 'p1'")
    con.commit()
    con.close()
    write_vectors(db)
    with pytest.raises(InputError, match="database path") as err:
        patient_vectors(db, aggregate="database")
    assert err.value.code == "E1902"
    auto = pytest.raises(Exception, match="not an integer")  # auto falls back: the per-event path names the bad id
    with auto:
        patient_vectors(db)


@pytest.mark.parametrize("time_type", ["VARCHAR", "TIMESTAMP", "DATE"])
def test_duckdb_reads_times_exactly_as_the_time_reader(time_type):
    """DuckDB's reading of strict ISO text, TIMESTAMP and DATE values equals the time reader's (the rest go to it)."""
    duckdb = pytest.importorskip("duckdb")
    from ehrfeat.store.coded_duckdb import _strict, duckdb_time_seconds

    values = _edge_values()
    con = duckdb.connect()
    con.execute("CREATE TABLE raw (time VARCHAR)")
    con.executemany("INSERT INTO raw VALUES (?)", [[v if v is None else str(v)] for v in values])
    con.execute(f"CREATE TABLE events AS SELECT TRY_CAST(time AS {time_type}) AS time FROM raw" if time_type != "VARCHAR"
                else "CREATE TABLE events AS SELECT time FROM raw")
    strict = _strict("time") if time_type == "VARCHAR" else "time IS NOT NULL"
    rows = con.execute(f"SELECT time, {strict}, {duckdb_time_seconds('time', time_type, None)} FROM events").fetchall()
    arr = np.empty(len(rows), dtype=object)
    arr[:] = [r[0] for r in rows]
    want = parse_times(arr).times.view(np.int64)
    read_in_sql = 0
    for (value, strict_ok, got), expected in zip(rows, want.tolist(), strict=True):
        if value is None:
            assert got == -9_000_000_000_000_000_000
        elif strict_ok:
            read_in_sql += 1
            assert got == (BAD_T if expected == NAT else expected), value
    assert read_in_sql > 300


@pytest.mark.sqlite_only
@pytest.mark.parametrize("separators", [False, True])
def test_odd_stored_values_read_alike(tmp_path, separators):
    """Codes holding the packing separators, blob and integer codes and times in an untyped table: as the per-event path."""
    path = tmp_path / "odd.db"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT);"
                      "CREATE TABLE events (patient_id, time, code_system, code, value);")  # no affinity: values keep their type
    rows = [
        (1, "2019-01-01", "ICD10CM", "E11.9"),
        (1, 1551398400, "ICD10CM", "I10"),  # epoch seconds as an integer
        (1, 1551398400.0, "ICD10CM", "I10"),  # ... and as a real: a duplicate of the row above
        (1, "2019-03-01", "ICD10CM", "I\x1e10"),  # the row separator inside a code
        (2, "2019-03-01", "ICD\x1f10CM", "I10"),  # the unit separator inside a system
        (2, "2019-03-01", "ICD10CM", b"I10"),  # a blob code
        (2, "2019-03-01 10:00", "LOINC", 23457),  # an integer code
        (2, b"2019-03-01", "ICD10CM", "J44.1"),  # a blob time
        (1, "2019-02-01\x02", "ICD10CM", "E11.9"),  # the not-text mark of the packed times inside a text time
        (2, "2019-03-01", "LOINC", "2345-7"),
    ]
    con.executemany("INSERT INTO patients VALUES (?, NULL, NULL)", [(1,), (2,)])
    rows = rows if separators else [r for r in rows if "\x1e" not in str(r[3]) and "\x1f" not in str(r[2])]
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, NULL)", rows * 3)
    con.commit()
    con.close()
    write_vectors(path)
    for mode in ({}, {"as_of": "2019-06-01"}):
        for chunk_size in (2, 1000):
            fast = patient_vectors(path, chunk_size=chunk_size, aggregate="database", **mode)
            assert fast.report.path == "database"
            _same(fast, patient_vectors(path, chunk_size=chunk_size, aggregate="events", **mode))
    assert fast.report.events_used > 0


def test_bytes_read_strict_iso_exactly_as_the_time_reader():
    """The Arrow-bytes reader reads only what the time reader reads to the very same seconds; it leaves the rest."""
    import pyarrow as pa

    from ehrfeat.store.iso_bytes import plain_iso_seconds

    values = [v for v in _edge_values() if isinstance(v, str)]
    values += ["", "  ", " 2020-03-04", "2020-03-04 ", "2020-03-04x10:00", "２０２０-03-04", "2020-03-04 10:00:00.5"]
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    want = parse_times(arr).times.view(np.int64)
    whole = pa.array(values, pa.large_string())
    for texts, expected in ((whole, want), (whole.slice(7, 300), want[7:307])):  # an offset into the buffers
        secs, ok = plain_iso_seconds(texts)
        assert (secs[ok] == expected[ok]).all()
        assert (expected[ok] != NAT).all()
    secs, ok = plain_iso_seconds(whole)
    assert 300 < ok.sum() < len(values) - 7
    assert not ok[-7:].any()


@pytest.mark.sqlite_only
def test_text_times_take_the_packed_path_and_read_alike(tmp_path, monkeypatch):
    """Integer patients, text codes, text or null times: times come as raw text and are read in Arrow, as the per-event path."""
    from ehrfeat.store import coded_sqlite

    values = [v for v in _edge_values() if isinstance(v, str)] + [None, "", "  ", " 2019-05-05 ", "20190402"]
    events = [(1 + i % 5, v, "ICD10CM", ("E11.9", "I10", "J44.1")[i % 3], None) for i, v in enumerate(values)]
    events += events[:40]  # duplicates
    path = make_native_db(tmp_path / "text_times.db", events)
    write_vectors(path)
    calls = []
    real = coded_sqlite._text_times
    monkeypatch.setattr(coded_sqlite, "_text_times", lambda *a: calls.append(1) or real(*a))
    used = []
    for mode in ({}, {"as_of": "2020-03-04T05:06:07"}, {"as_of": "2020-12-31", "window": "400d"}):
        for weighting in ("mean", "count", "idf", "time-decay"):
            fast = patient_vectors(path, aggregate="database", weighting=weighting, **mode)
            assert fast.report.path == "database"
            _same(fast, patient_vectors(path, aggregate="events", weighting=weighting, **mode))
            used.append(fast.report.events_used)
    assert calls
    assert min(used) > 50 and fast.report.skipped


@pytest.mark.sqlite_only
def test_counts_in_sql_are_refused_on_sqlite_with_the_fix(tmp_path):
    """SQLite has no counts mode (its row stream reads ranges on parallel connections): E1904, on the command line too."""
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    db = _db(tmp_path)
    with pytest.raises(InputError, match="cannot count") as err:
        patient_vectors(db, aggregate="counts")
    assert err.value.code == "E1904" and "--aggregate database" in str(err.value)
    out = tmp_path / "v.parquet"
    done = CliRunner().invoke(app, ["patient-vectors", str(db), "--out", str(out), "--aggregate", "counts"])
    assert done.exit_code == 2 and "E1904" in done.output and not out.exists()


@pytest.mark.parametrize("aggregate", ["database", "counts"])
@pytest.mark.parametrize("weighting", ["count", "time-decay"])
def test_duckdb_blocks_fixed_at_fit_skip_unseen_systems_alike(tmp_path, aggregate, weighting):
    """With the blocks of a fit (ICD10CM only), LOINC events are skipped as unseen, duplicates of them included."""
    from ehrfeat.patients.as_of import resolve_as_of
    from ehrfeat.patients.settings import VectorSettings
    from ehrfeat.patients.vectors import open_inputs, patient_weights
    from ehrfeat.patients.weights import UNSEEN_BLOCK

    db = _duckdb(tmp_path, events=[*MESSY, (5, "2018-12-31 23:59:59", "LOINC", "2345-7", None)])  # a LOINC duplicate
    got = {}
    for mode in (aggregate, "events"):
        settings = VectorSettings(weighting=weighting, half_life="30d", by_system=True, aggregate=mode, as_of="2020-01-01")
        engine, schema, embeddings = open_inputs(db, settings)
        cohort = resolve_as_of(engine, schema, as_of="2020-01-01", now_s=fast_now())
        got[mode] = patient_weights(engine, schema, cohort, embeddings, settings, blocks=("ICD10CM",))
    fast, slow = got[aggregate], got["events"]
    assert fast.path == aggregate and fast.weights.skipped[UNSEEN_BLOCK] == 5  # LOINC: 1 + 2 + 1, and the copy (blocks come before duplicates)
    assert fast.weights.skipped == slow.weights.skipped and fast.read_issues == slow.read_issues
    np.testing.assert_allclose(fast.weights.matrix.toarray(), slow.weights.matrix.toarray(), rtol=1e-9)
    np.testing.assert_array_equal(fast.weights.n_events, slow.weights.n_events)
