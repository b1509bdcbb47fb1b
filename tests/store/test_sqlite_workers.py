"""Reader processes for large SQLite tables: the same vectors, skip counts and code counts as one thread.

``PROCESS_ROWS`` is lowered so that the small fixtures take the process path (two forked
processes with their own connections) and ``ROWS_PER_QUERY`` so that many
ranges are spread over them; everything must equal the per-event path and the thread.
"""

from __future__ import annotations

import sqlite3

import pytest

from ehrfeat.patients.vectors import patient_vectors
from ehrfeat.store import coded_counts, coded_sqlite, open_database, sqlite_workers
from ehrfeat.store.coded_counts import raw_code_counts
from ehrfeat.store.coded_events import Unsupported
from ehrfeat.store.sqlite_workers import ProcessWorker, Worker, reader_team
from tests.patients.test_vectors_database_path import MODES, _db, _same
from tests.store.test_coded_counts import _db as _codes_db
from tests.store.test_coded_counts import _group_by

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_workers, "PROCESS_ROWS", 0)
    monkeypatch.setattr(sqlite_workers, "WORKERS", 2)
    monkeypatch.setattr(coded_sqlite, "ROWS_PER_QUERY", 3)
    monkeypatch.setattr(coded_counts, "ROWS_PER_QUERY", 3)


def test_team_is_one_thread_for_small_tables_and_processes_for_large(tmp_path, monkeypatch) -> None:
    engine = open_database(_codes_db(tmp_path))
    first = Worker(engine)
    assert reader_team(engine, 10, first) == [first]
    monkeypatch.setattr(sqlite_workers, "PROCESS_ROWS", 5)
    team = reader_team(engine, 10, first, workers=2)
    try:
        assert len(team) == 2 and all(isinstance(w, ProcessWorker) for w in team)
    finally:
        for worker in (first, *team):
            worker.close()
    memory = open_database("sqlite://")  # no file another process could open: one thread
    alone = Worker(memory)
    assert reader_team(memory, 10**9, alone, workers=2) == [alone]
    alone.close()


@pytest.mark.parametrize("weighting", ["mean", "count", "idf", "time-decay"])
@pytest.mark.parametrize("mode", MODES[:6], ids=[",".join(f"{k}={v}" for k, v in m.items()) or "no-as-of" for m in MODES[:6]])
def test_processes_read_as_the_per_event_path(tmp_path, processes, weighting, mode) -> None:
    db = _db(tmp_path)
    fast = patient_vectors(db, weighting=weighting, half_life="30d", aggregate="database", **mode)
    slow = patient_vectors(db, weighting=weighting, half_life="30d", aggregate="events", **mode)
    assert fast.report.path == "database"
    _same(fast, slow)


def test_processes_count_codes_as_the_group_by(tmp_path, processes) -> None:
    path = _codes_db(tmp_path)
    assert sorted(raw_code_counts(open_database(path), '"events"'), key=repr) == _group_by(path)


def test_what_a_process_refuses_reaches_the_caller(tmp_path, processes) -> None:
    path = _codes_db(tmp_path)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO events VALUES ('p1', '2019-01-01', 'ICD10CM', 'I10', NULL)")
    con.commit()
    con.close()
    with pytest.raises(Unsupported):
        raw_code_counts(open_database(path), '"events"')


def test_undecodable_text_read_by_a_process_is_counted_as_on_a_thread(tmp_path, monkeypatch) -> None:
    from ehrfeat.patients.vectors import BAD_TEXT

    db = _db(tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET time = CAST(X'323031392dff30312d3031' AS TEXT) WHERE rowid IN (1, 4)")
    con.commit()
    con.close()
    monkeypatch.setattr(coded_sqlite, "ROWS_PER_QUERY", 3)  # the same ranges on both
    monkeypatch.setattr(sqlite_workers, "WORKERS", 2)
    monkeypatch.setattr(sqlite_workers, "PROCESS_ROWS", 10**9)
    thread = patient_vectors(db, aggregate="database")
    monkeypatch.setattr(sqlite_workers, "PROCESS_ROWS", 0)
    processes = patient_vectors(db, aggregate="database")
    assert thread.report.read_issues.get(BAD_TEXT, 0) > 0
    _same(processes, thread)


def test_reader_processes_end_when_the_caller_is_killed(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    path = _codes_db(tmp_path)
    script = (
        "import sys, time\n"
        "from ehrfeat.store import open_database, sqlite_workers\n"
        "from ehrfeat.store.coded_sqlite import _rowids\n"
        "sqlite_workers.PROCESS_ROWS = 0\n"
        f"engine = open_database({str(path)!r})\n"
        "team = sqlite_workers.reader_team(engine, 10, sqlite_workers.Worker(engine), workers=2)\n"
        "[w.submit(_rowids, '\"events\"').result() for w in team]\n"
        "print(' '.join(str(p) for w in team for p in w.pool._processes), flush=True)\n"
        "time.sleep(60)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert caller.stdout is not None
    readers = [int(p) for p in caller.stdout.readline().split()]
    assert len(readers) == 2
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in readers):
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{p}") for p in readers)  # no orphan keeps reading


def _hang(path: str, parent: int) -> None:  # a reader that never becomes ready (as one forked mid-SQLite)
    import time

    time.sleep(3600)


def _sleep(worker: Worker, conn: object, seconds: float) -> None:
    import time

    time.sleep(seconds)


def _pids(team: list) -> list[int]:
    return [p.pid for w in team if isinstance(w, ProcessWorker) for p in w._processes]


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _gone(pids: list[int]) -> bool:
    """Every process of ``pids`` ended within 10 s (a zombie not yet reaped by the pool counts as ended)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, pids)):
        time.sleep(0.05)
    return not any(map(_alive, pids))


def test_a_reader_that_does_not_start_is_killed_and_a_thread_reads(tmp_path, processes, monkeypatch, caplog) -> None:
    path = _codes_db(tmp_path)
    monkeypatch.setattr(sqlite_workers, "READY_SECONDS", 1.0)
    monkeypatch.setattr(sqlite_workers, "_start_child", _hang)
    engine = open_database(path)
    started: list[ProcessWorker] = []
    real_start = ProcessWorker.start

    def start(self: ProcessWorker, timeout: float) -> bool:
        started.append(self)
        return real_start(self, timeout)

    monkeypatch.setattr(ProcessWorker, "start", start)
    with caplog.at_level("WARNING", logger="ehrfeat.store.sqlite_workers"):
        team = reader_team(engine, 10, Worker(engine), workers=2)
    try:
        assert len(started) == 1 and started[0].pool is None  # the stuck one is closed; no second fork
        assert len(team) == 1 and type(team[0]) is Worker
        assert "did not start" in caplog.text and "one thread" in caplog.text
        assert _gone([p.pid for p in started[0]._processes])
    finally:
        for worker in team:
            worker.close()
    assert sorted(raw_code_counts(engine, '"events"'), key=repr) == _group_by(path)  # and the whole read works


def test_closing_does_not_wait_on_a_stuck_reader(tmp_path, monkeypatch, caplog) -> None:
    import time

    monkeypatch.setattr(sqlite_workers, "PROCESS_ROWS", 0)
    monkeypatch.setattr(sqlite_workers, "CLOSE_SECONDS", 0.5)
    engine = open_database(_codes_db(tmp_path))
    team = reader_team(engine, 10, Worker(engine), workers=2)
    assert all(isinstance(w, ProcessWorker) for w in team)
    pids = _pids(team)
    team[0].submit(_sleep, 3600.0)
    time.sleep(0.5)  # the call is running in the process
    began = time.monotonic()
    with caplog.at_level("WARNING", logger="ehrfeat.store.sqlite_workers"):
        for worker in team:
            worker.close()
    assert time.monotonic() - began < 10 and "killing it" in caplog.text
    assert _gone(pids)


def test_a_thread_inside_sqlite_while_readers_fork_never_hangs_the_read(tmp_path, processes, monkeypatch) -> None:
    """Forking while another thread holds SQLite's memory mutex leaves that mutex locked in the child
    (CI once hung so); readers that do not start are replaced, and the counts are still right."""
    import multiprocessing
    import threading

    monkeypatch.setattr(sqlite_workers, "READY_SECONDS", 0.5)
    path = _codes_db(tmp_path)
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            con = sqlite3.connect(":memory:")
            con.execute("CREATE TABLE t(x)")
            con.executemany("INSERT INTO t VALUES (?)", [(str(i) * 20,) for i in range(50)])
            con.close()

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        for _ in range(15):  # 30 forks: before the fix, one of them hung in about 9 runs of 10
            assert sorted(raw_code_counts(open_database(path), '"events"'), key=repr) == _group_by(path)
    finally:
        stop.set()
        thread.join()
    assert multiprocessing.active_children() == []
