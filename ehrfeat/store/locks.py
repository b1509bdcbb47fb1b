"""Write transactions that take the database's write lock up front, and wait for it with a message.

SQLite: a plain ``BEGIN`` starts as a read and asks for the write lock only at the
first write; in WAL mode SQLite refuses that upgrade at once ("database is locked")
when another writer committed meanwhile, so the busy timeout never helps. Writers
here ``BEGIN IMMEDIATE`` instead, retrying while another writer holds the lock,
saying so once, for up to :func:`lock_timeout` seconds.

PostgreSQL: a transaction-scoped advisory lock on the job's name
(``pg_advisory_xact_lock``) serialises two runs writing the same rows (two
``embed-codes`` of one encoder), so the second sees what the first wrote instead
of a ``UniqueViolation``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ehrfeat.errors import DatabaseError, InputError

__all__ = ["DEFAULT_LOCK_TIMEOUT_S", "LOCK_TIMEOUT_ENV", "begin_listener", "lock_timeout", "write_transaction"]

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_ENV = "EHRFEAT_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 600.0
_BEGIN_OPTION = "ehrfeat_begin"
_RETRY_S = 0.25


def lock_timeout() -> float:
    """Seconds a writer waits for another's write lock: ``$EHRFEAT_LOCK_TIMEOUT``, default 600."""
    text = os.environ.get(LOCK_TIMEOUT_ENV)
    if not text:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InputError(f"{LOCK_TIMEOUT_ENV}={text!r} is not a number of seconds", fix=f"set {LOCK_TIMEOUT_ENV}=600", code="E1212")
    return value


def _busy(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "busy" in text


def _held(where: str, waited: float) -> DatabaseError:
    return DatabaseError(
        f"another run holds the write lock on {where}; gave up after waiting {waited:.0f} s",
        fix=f"wait for the other run to finish and run again (nothing was written), or wait longer: {LOCK_TIMEOUT_ENV}=SECONDS",
        code="E1210",
    )


def begin_listener(where: str) -> Any:
    """The SQLite ``begin`` event: ``BEGIN IMMEDIATE`` (waiting, with a message) for writers, ``BEGIN`` otherwise."""

    def on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(_BEGIN_OPTION) != "IMMEDIATE":
            conn.exec_driver_sql("BEGIN")
            return
        timeout, start, told = lock_timeout(), time.monotonic(), False
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(_RETRY_S * 1000)}")
        try:
            while True:
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    return
                except sa.exc.OperationalError as exc:
                    if not _busy(exc):
                        raise
                    waited = time.monotonic() - start
                    if waited >= timeout:
                        raise _held(where, waited) from exc
                    if not told:
                        logger.warning("another run is writing to %s; waiting for its write lock (up to %g s)", where, timeout)
                        told = True
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout = 30000")

    return on_begin


def _pg_key(job: str) -> int:
    return int.from_bytes(hashlib.sha256(job.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def write_transaction(engine: Engine, job: str, where: str = "the database") -> Iterator[sa.Connection]:
    """A transaction holding the write lock of ``engine`` (SQLite) or of ``job`` (PostgreSQL advisory lock)."""
    if engine.dialect.name == "sqlite":
        with engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}).begin() as conn:
            yield conn
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            key, timeout, start, told = _pg_key(job), lock_timeout(), time.monotonic(), False
            while not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
                waited = time.monotonic() - start
                if waited >= timeout:
                    raise _held(f"{where} (job {job})", waited)
                if not told:
                    logger.warning("another run holds the job %s on %s; waiting (up to %g s)", job, where, timeout)
                    told = True
                time.sleep(_RETRY_S)
        yield conn
