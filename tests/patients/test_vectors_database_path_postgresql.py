"""PostgreSQL's database path (codes mapped, times read and repeats grouped on the server; a named cursor) equals
the per-event path on a real server: weights, skip counts, read issues, every weighting and as-of mode."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

from ehrfeat.patients import patient_vectors
from ehrfeat.store import open_database
from ehrfeat.store.coded_events import BAD_T, NAT, NULL_T, iter_coded_events
from ehrfeat.store.dates import parse_times
from ehrfeat.store.records import EventReadReport
from ehrfeat.store.schema import detect_schema
from tests.helpers import execute, insert_rows, make_native_url
from tests.patients.conftest import write_vectors
from tests.patients.test_vectors_database_path import MESSY, MODES, _db, _edge_values, _messy, _same
from tests.time_cases import TIME_CASES

MODE_IDS = [",".join(f"{k}={v}" for k, v in m.items()) or "no-as-of" for m in MODES]
UTC = dt.UTC


def _typed_value(value: object, kind: str) -> object:
    """MESSY's text time as a value of a typed column: what the time reader reads, else NULL."""
    if value is None:
        return None
    secs = int(parse_times(np.asarray([value], dtype=object)).times.view(np.int64)[0])
    if secs == NAT:
        return None
    if kind == "double precision":  # epoch seconds
        return float(secs)
    stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=secs)
    if kind == "date":
        return stamp.date()
    if kind == "timestamptz":
        return stamp.replace(tzinfo=UTC).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    return stamp


_EXTRA = {  # values only a typed column holds: fractions, years outside 1800-2100 (unparsable), offsets
    "timestamp": [dt.datetime(2019, 2, 1, 8, 0, 0, 999_999), dt.datetime(1700, 1, 1), dt.datetime(2150, 1, 1),
                  dt.datetime(1969, 12, 31, 23, 59, 59, 500_000)],
    "timestamptz": [dt.datetime(2019, 2, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))),
                    dt.datetime(1750, 1, 1, tzinfo=UTC)],
    "date": [dt.date(2019, 2, 28), dt.date(2019, 2, 28), dt.date(1799, 12, 31)],
    "double precision": [1551398400.0, 1551398400.7, 19980409.0, 2458912.5, 1583298367000.0, float("nan"), -1e300,
                         float("inf"), 20021399.0],
}


def _messy_typed(url: str, kind: str) -> str:
    """MESSY with a typed time column (``kind``), plus values only that type holds."""
    make_native_url(url, [], extra_patients=(1, 2, 3, 5))  # patient 9 has events but no patients row
    execute(url, f"ALTER TABLE events ALTER COLUMN time TYPE {kind} USING NULL")
    rows = [(p, _typed_value(t, kind), s, c, v) for p, t, s, c, v in MESSY]
    rows += [(1 + i % 3, value, "ICD10CM", ("E11.9", "I10")[i % 2], None) for i, value in enumerate(_EXTRA[kind])]
    rows += [(None, rows[0][1], "ICD10CM", "I10", None)]
    insert_rows(url, "events", rows)
    execute(url, "CREATE TABLE cohort (patient_id INTEGER, as_of TEXT)")
    insert_rows(url, "cohort", [(1, "2019-05-01"), (2, "2019-03-01T12:00"), (5, "20200101"), (3, "2019-03-01")])
    write_vectors(url)
    return url


def _both(url: str, aggregate: str = "database", **mode: object) -> None:
    fast = patient_vectors(url, aggregate=aggregate, **mode)
    slow = patient_vectors(url, aggregate="events", **mode)
    assert fast.report.path == aggregate and slow.report.path == "events"
    _same(fast, slow)


@pytest.mark.parametrize("weighting", ["mean", "count", "idf", "time-decay"])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("aggregate", ["database", "counts"])
def test_postgresql_database_path_equals_per_event_path(postgresql_url, weighting, mode, aggregate):
    pg = _messy(postgresql_url)
    fast = patient_vectors(pg, weighting=weighting, half_life="30d", aggregate=aggregate, **mode)
    assert sum(fast.report.skipped.values()) > 0 and fast.report.read_issues
    _both(pg, aggregate, weighting=weighting, half_life="30d", **mode)
    for chunk_size in (1, 3):  # the cut changes nothing: duplicates are found across chunks
        _both(pg, aggregate, chunk_size=chunk_size, weighting=weighting, half_life="30d", **mode)


@pytest.mark.parametrize("kind", ["timestamp", "timestamptz", "date", "double precision"])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_postgresql_typed_times_read_alike(postgresql_url, kind, mode):
    pg = _messy_typed(postgresql_url, kind)
    for weighting in ("mean", "time-decay"):
        for aggregate in ("database", "counts"):
            _both(pg, aggregate, weighting=weighting, half_life="30d", **mode)
    assert patient_vectors(pg, aggregate="database", **mode).report.events_used > 0


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_postgresql_auto_takes_the_database_path_and_equals_sqlite_s(tmp_path, postgresql_url, mode):
    """``auto`` now takes PostgreSQL's database path, and it gives what SQLite's gives on the same messy events."""
    pg = _messy(postgresql_url)
    sqlite_fast = patient_vectors(_db(tmp_path), weighting="idf", aggregate="database", **mode)
    on_pg = patient_vectors(pg, weighting="idf", **mode)
    assert on_pg.report.path == "database" and sqlite_fast.report.path == "database"
    _same(on_pg, sqlite_fast)


def test_postgresql_text_times_are_read_as_the_time_reader_reads_them(postgresql_url):
    """Every distinct text time goes through the time map: strict ISO from the Arrow bytes, the rest by the reader."""
    import pyarrow as pa

    from ehrfeat.store.coded_events import text_seconds

    values = [v for v in _edge_values() if isinstance(v, str)]
    values += ["", "  ", " 2020-03-04", "2020-03-04 ", "2020-03-04x10:00", "２０２０-03-04", "2020-03-04 10:00:00.5",
               "0000-01-01", "2020-1-04", "2019-02-29", "2020-02-29", "1900-02-29", "2000-02-29 23:59:59"]
    # what CSV must quote or might take for NULL: each read as stored, as the per-event path reads it
    values += ["2020-03-04,10:00", '"2020-03-04"', '2020-03-04 "10:00"', "2020-03-04\n", "2020-03-04\r\n10:00",
               "\t2020-03-04", "2020-03-04\\", "\\N", "NULL", "NA", "nan", "N/A", ",", '""', "2020-03-04;x"]
    values = list(dict.fromkeys(values))
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    parsed = parse_times(arr).times.view(np.int64)
    want = np.where([not v.strip() for v in values], NULL_T, np.where(parsed == NAT, BAD_T, parsed))
    assert text_seconds(pa.array(values, pa.large_string())).tolist() == want.tolist()
    assert (want == BAD_T).sum() > 5 and (want == NULL_T).sum() >= 2 and (want > NULL_T).sum() > 300
    # and on the server: a table of those values reads each one to the same seconds
    engine = open_database(postgresql_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE events (patient_id BIGINT, time TEXT, code_system TEXT, code TEXT, value DOUBLE PRECISION)")
        conn.execute(sa.text("INSERT INTO events VALUES (:p, :t, 'ICD10CM', 'I10', NULL)"),
                     [{"p": i, "t": v} for i, v in enumerate(values)])
    seen, report = {}, EventReadReport()
    for chunk in iter_coded_events(engine, detect_schema(engine), lambda key: 0, systems=None, chunk_size=1000, report=report):
        seen.update(zip(chunk.patient_id.tolist(), chunk.time.tolist(), strict=True))
    assert [seen[i] for i in range(len(values))] == np.where(want <= NULL_T, NAT, want).tolist()  # chunks: NaT for no time
    assert (report.null_time, report.unparsable_time) == (int((want == NULL_T).sum()), int((want == BAD_T).sum()))
    engine.dispose()


def test_postgresql_time_cases_and_odd_codes_read_alike(postgresql_url):
    """The shared time cases, codes that need canonicalising, separators, quotes and non-ASCII text: as the per-event path."""
    events = [(i + 1, str(c.value) if c.value is not None else None, "ICD10CM", "I10", None)
              for i, c in enumerate(TIME_CASES) if c.sql]
    events += [(1, "2019-03-01", "icd-10-cm", "e119", None), (1, "2019-03-01", "ICD10CM", "I\x1e10", None),
               (2, "2019-03-01", "ICD\x1f10CM", "I10", None), (2, "2019-03-01", "ICD10CM", "O'Brien", None),
               (2, "2019-03-01", "ICD10CM", "Ä11.9", None), (2, "2019-03-01", "", "I10", None),
               (2, "2019-03-01", "ICD10CM", "  ", None), (2, "2019-03-01", "NO SUCH SYSTEM", "I10", None),
               (3, "2019-03-01 10:00", "LOINC", "2345-7", None), (3, "2019-03-01 10:00", "loinc", " 2345-7 ", None)]
    pg = make_native_url(postgresql_url, events * 2)
    write_vectors(pg)
    for mode in ({}, {"as_of": "2020-03-04T05:06:07"}, {"as_of": "2020-12-31", "window": "400d"}):
        _both(pg, **mode)
    fast = patient_vectors(pg, aggregate="database")
    assert fast.report.events_used > 10 and fast.report.read_issues and fast.report.skipped


def test_postgresql_read_only_transactions_map_codes_without_a_table(postgresql_url):
    """A read-only session (a replica, a read-only role) may create no temporary table: the maps travel as arrays."""
    pg = _messy(postgresql_url)
    engine = sa.create_engine(pg, connect_args={"options": "-c default_transaction_read_only=on"})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
    for mode in ({}, {"as_of_table": "cohort", "window": "60d"}, {"systems": ("icd10cm",)}):
        for aggregate in ("database", "counts"):  # counts: the cohort's as-of times travel as arrays too
            fast = patient_vectors(engine, aggregate=aggregate, **mode)
            assert fast.report.path == aggregate
            _same(fast, patient_vectors(pg, aggregate="events", **mode))


def test_postgresql_streams_rows_through_a_csv_copy(postgresql_url, monkeypatch):
    """The rows come by one CSV COPY of the scan (codes mapped on the server, nothing grouped), parsed a few rows at
    a time: the first chunk is used before the stream is read to its end. Repeats are dropped in Python, as always."""
    from ehrfeat.store import pg_stream

    events = [(p, f"2019-01-{d:02d}", "ICD10CM", "I10", None) for p in range(1, 21) for d in range(1, 11)]
    pg = make_native_url(postgresql_url, events * 3)  # every event three times
    write_vectors(pg)
    monkeypatch.setattr(pg_stream, "BLOCK_BYTES", 40)  # a block of 2 rows (about 20 bytes each)
    engine = open_database(pg)
    watcher = open_database(pg)
    report = EventReadReport()
    chunks = iter_coded_events(engine, detect_schema(engine), lambda key: 0, systems=None, chunk_size=5, report=report)
    first = next(chunks)
    with watcher.connect() as conn:
        state, query = conn.exec_driver_sql(
            "SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE 'COPY%%'").one()
    assert state in ("active", "idle in transaction") and "FORMAT csv" in query and "GROUP BY" not in query
    assert len(first.patient_id) == 5 and report.rows_read == 5
    rest = list(chunks)
    assert report.rows_read == report.rows_yielded == 600 == 5 + sum(len(c.patient_id) for c in rest)
    with watcher.connect() as conn:  # the reader's transaction ended: its temporary tables are gone
        states = conn.exec_driver_sql("SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").scalars().all()
    assert "idle in transaction" not in states
    for aggregate in ("database", "counts"):
        fast = patient_vectors(pg, aggregate=aggregate, weighting="count")
        assert fast.report.skipped.get(next(k for k in fast.report.skipped if k.startswith("duplicate"))) == 400
        _same(fast, patient_vectors(pg, aggregate="events", weighting="count"))


def test_postgresql_stream_left_early_is_cancelled_and_the_connection_reused(postgresql_url, monkeypatch):
    """A consumer that stops after the first chunk cancels the COPY; the same pooled connection then works."""
    from ehrfeat.store import pg_stream

    pg = make_native_url(postgresql_url, [(p, "2019-01-01", "ICD10CM", "I10", None) for p in range(1, 2001)])
    write_vectors(pg)
    monkeypatch.setattr(pg_stream, "BLOCK_BYTES", 64)
    engine = open_database(pg)
    chunks = iter_coded_events(engine, detect_schema(engine), lambda key: 0, systems=None, chunk_size=3,
                               report=EventReadReport())
    assert len(next(chunks).patient_id) == 3
    chunks.close()  # the generator's finally: cancel, drain, roll back
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 2000
    _same(patient_vectors(engine, aggregate="database"), patient_vectors(pg, aggregate="events"))


def test_postgresql_copy_errors_come_with_the_servers_message(postgresql_url):
    """An error raised by the server in the middle of a COPY reaches the caller as that error, and the connection
    is usable after a rollback."""
    import psycopg

    from ehrfeat.store.pg_stream import copy_blocks

    with psycopg.connect(postgresql_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            list(copy_blocks(conn, "SELECT 1 / (g - 5000) FROM generate_series(1, 10000) g", block_bytes=16))
        conn.rollback()
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
        with pytest.raises(psycopg.errors.UndefinedTable):
            list(copy_blocks(conn, "SELECT * FROM no_such_table"))
        conn.rollback()
        assert b"".join(copy_blocks(conn, "SELECT %(x)s::text", {"x": "it's"})) == b"it's\n"


def test_postgresql_aggregate_database_on_the_command_line(postgresql_url, tmp_path):
    """``--aggregate database`` works on PostgreSQL (it was E1902) and says which path it took."""
    import pandas as pd
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    pg = _messy(postgresql_url)
    out = tmp_path / "v.parquet"
    done = CliRunner().invoke(app, ["patient-vectors", pg, "--out", str(out), "--aggregate", "database"])
    assert done.exit_code == 0, done.output
    assert "E1902" not in done.output and "database path" in done.output
    frame = pd.read_parquet(out)
    want = patient_vectors(pg, aggregate="events").to_frame()
    np.testing.assert_allclose(frame[list(want.columns)].to_numpy(float), want.to_numpy(float), rtol=1e-6, atol=1e-6)
    counted = tmp_path / "c.parquet"
    done = CliRunner().invoke(app, ["patient-vectors", pg, "--out", str(counted), "--aggregate", "counts"])
    assert done.exit_code == 0 and "counts path" in done.output, done.output
    frame = pd.read_parquet(counted)
    np.testing.assert_allclose(frame[list(want.columns)].to_numpy(float), want.to_numpy(float), rtol=1e-6, atol=1e-6)
