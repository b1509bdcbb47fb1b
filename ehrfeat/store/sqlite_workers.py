"""Workers that read row ranges of one SQLite file: one thread, or processes for large tables.

Measured on a 10M-row events table on 2 cores, the packed range queries of
:mod:`ehrfeat.store.coded_sqlite` took 5.4 s on one thread, 7.6 s on two threads (the
sqlite3 module serialises them) and 2.6 s on two processes. So a table of fewer than
:data:`PROCESS_ROWS` rows is read on one thread (no start-up cost), a larger one by
:data:`WORKERS` processes, each with its own connection opened by
:func:`~ehrfeat.store.database.open_database` on the same file. The processes are forked
(Linux only; elsewhere one thread reads), after the caller's reader thread is closed, so no
thread of ours is copied mid-work, and they never touch a connection they inherit. They are
not spawned: spawning re-imports the caller's ``__main__``, which would re-run a script
without a ``__main__`` guard.

A fork copies SQLite's global mutexes as they are: if another thread of the caller is inside
SQLite at that instant (its own connection, or one the garbage collector is closing), the
child waits forever on a mutex nobody will release. So every reader is started before any
work and must open the file and read it within :data:`READY_SECONDS`; one that does not is
killed and the table is read by the readers that started, or by one thread. Closing never
waits on a stuck reader either.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, cast

from sqlalchemy.engine import Connection, Engine

from ehrfeat.store.database import add_bad_text, bad_text_count, open_database

__all__ = ["PROCESS_ROWS", "READY_SECONDS", "WORKERS", "ProcessWorker", "Worker", "reader_team"]

logger = logging.getLogger(__name__)

WORKERS = max(1, min(4, os.cpu_count() or 1))  # reader processes for a large table
PROCESS_ROWS = 2_000_000  # rows from which processes pay for their start (about 0.5 s)
READY_SECONDS = 15.0  # a reader opens and reads the file in well under a second; one that has not is stuck
CLOSE_SECONDS = 15.0  # for a reader to finish its range when closed, before it is killed


class Worker:
    """One thread with its own connection: ``submit(fn, *args)`` runs ``fn(worker, conn, *args)`` there.
    ``thread=False``: no thread, for a reader process, which runs the calls itself."""

    def __init__(self, engine: Engine, thread: bool = True) -> None:
        self.engine = engine
        self.pool: ThreadPoolExecutor | None = ThreadPoolExecutor(1) if thread else None
        self.conn: Connection | None = None
        self.times: dict[object, int] = {}  # raw time -> seconds (marker values), per connection

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        assert self.pool is not None, "worker closed"
        return self.pool.submit(self._run, fn, args)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self.conn is None:
            self.conn = self.engine.connect()
        return fn(self, self.conn, *args)

    def close(self) -> None:
        if self.pool is None:
            return
        if self.conn is not None:
            conn, self.conn = self.conn, None
            self.pool.submit(conn.close).result()
        self.pool.shutdown()
        self.pool = None


_CHILD: Worker | None = None  # in a reader process: its worker (run inline, no thread)


def _start_child(path: str, parent: int) -> None:
    global _CHILD
    _die_with_parent(parent)
    _CHILD = Worker(open_database(path), thread=False)


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent dies (a killed caller leaves no reader behind)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl: the reader ends when its queue closes
        return
    if os.getppid() != parent:  # the parent died before the request
        os._exit(1)


def _probe(worker: Worker, conn: Connection) -> int:
    """Open the reader's connection and read the schema page: SQLite's global mutexes all work."""
    return int(conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one())


def _run_child(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, int]:
    """``fn``'s result, and the undecodable text values it read (for the caller's engine to count)."""
    assert _CHILD is not None, "reader process not started"
    before = bad_text_count(_CHILD.engine)
    result = _CHILD._run(fn, args)
    return result, bad_text_count(_CHILD.engine) - before


class ProcessWorker:
    """One process with its own connection to the SQLite file ``path``; the interface of :class:`Worker`."""

    def __init__(self, engine: Engine, path: str) -> None:
        self.engine = engine  # undecodable text the process reads is counted on it, as on a thread
        self.pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            1, mp_context=mp.get_context("fork"), initializer=_start_child, initargs=(path, os.getpid()))
        self._processes: list[BaseProcess] = []

    def start(self, timeout: float) -> bool:
        """Fork now and wait until the process has read the file; False, and the process killed, if it
        has not within ``timeout`` seconds (or failed: a thread then reads and reports the error)."""
        assert self.pool is not None, "worker closed"
        ready = self.pool.submit(_run_child, _probe, ())  # the fork context forks on the first submit
        self._processes = list(self.pool._processes.values())
        try:
            ready.result(timeout=timeout)
            return True
        except Exception:  # any failure means: do not read with this process
            self.close(timeout=0.0)
            return False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        assert self.pool is not None, "worker closed"
        inner, outer = self.pool.submit(_run_child, fn, args), Future[Any]()

        def done(f: Future[tuple[Any, int]]) -> None:
            if (error := f.exception()) is not None:
                outer.set_exception(error)
                return
            result, bad_text = f.result()
            add_bad_text(self.engine, bad_text)
            outer.set_result(result)

        inner.add_done_callback(done)
        return outer

    def close(self, timeout: float | None = None) -> None:
        """Let the process finish its range (at most ``timeout`` s, default :data:`CLOSE_SECONDS`), then kill it."""
        if self.pool is None:
            return
        pool, self.pool = self.pool, None
        manager = cast("threading.Thread | None", pool._executor_manager_thread)
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + (CLOSE_SECONDS if timeout is None else timeout)
        running = list(self._processes)
        while running and (left := deadline - time.monotonic()) > 0:
            ended = wait([p.sentinel for p in running], left)  # exit without reaping: the pool reaps
            running = [p for p in running if p.sentinel not in ended]
        for process in running:  # stuck: nothing it could still send is wanted
            if timeout is None:
                logger.warning("a SQLite reader process did not end within %s s of closing; killing it", CLOSE_SECONDS)
            process.kill()
        if manager is not None:
            manager.join()


def _file_of(engine: Engine) -> str | None:
    """The SQLite file of ``engine`` when another process can open it alike, else None."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:") or engine.url.query:
        return None
    return database if Path(database).is_file() else None


def reader_team(engine: Engine, rows: int, first: Worker, workers: int | None = None) -> list[Worker | ProcessWorker]:
    """``[first]`` for a small table (or one no other process can open, or off Linux); else ``workers``
    reader processes, each started and checked before the next forks (``first`` is closed before):
    those that started, or one new thread if none did."""
    n = max(1, workers or WORKERS)
    path = _file_of(engine)
    if path is None or rows < PROCESS_ROWS or n == 1 or sys.platform != "linux":
        return [first]
    first.close()
    gc.collect()  # a connection left to the collector is closed here, not by another thread mid-fork
    team: list[Worker | ProcessWorker] = []
    for _ in range(n):
        worker = ProcessWorker(engine, path)
        if not worker.start(READY_SECONDS):
            logger.warning("a SQLite reader process did not start (another thread was inside SQLite when it "
                           "forked?); reading with %s", f"{len(team)} of {n} reader processes" if team else "one thread")
            break
        team.append(worker)
    return team or [Worker(engine)]
