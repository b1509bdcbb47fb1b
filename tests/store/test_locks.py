"""Writers take the write lock up front and wait for it; two runs at once write each row once."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from ehrfeat.codes import Code
from ehrfeat.errors import DatabaseError
from ehrfeat.store import open_database
from ehrfeat.store.embeddings import EmbeddingCache
from ehrfeat.store.locks import LOCK_TIMEOUT_ENV, _pg_key

WRITER = """
import sys, time, numpy as np
from ehrfeat.codes import Code
from ehrfeat.store import open_database
from ehrfeat.store.embeddings import EmbeddingCache
url, order, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
read_present = EmbeddingCache._present


def slow_present(self, *args):  # widen the window between reading what is there and inserting
    found = read_present(self, *args)
    time.sleep(0.02)
    return found


EmbeddingCache._present = slow_present
cache = EmbeddingCache(open_database(url, must_exist=False))
codes = [Code("ICD10CM", f"A{i:03d}") for i in range(120)]
if order == "reverse":
    codes = codes[::-1]
while time.time() < start:
    time.sleep(0.01)
cache.ensure_table()
for i in range(0, len(codes), 3):
    batch = codes[i:i + 3]
    cache.write("fp", [(c, c.code) for c in batch], np.ones((len(batch), 4), np.float32))
print("done")
"""


def _rows(url: str) -> list[tuple[str, str, str]]:
    engine = open_database(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT fingerprint, code_system, code FROM code_embeddings")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_two_writers_at_once_write_each_row_once(database_url: str) -> None:
    """Was: 'database is locked' (SQLite) or a UniqueViolation traceback (PostgreSQL) in the second run."""
    if database_url.startswith("sqlite"):
        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        con.execute("PRAGMA journal_mode = WAL")  # the user's choice; where writers used to fail at once
        con.close()
    start = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, database_url, order, str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
             for order in ("forward", "reverse")]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and "done" in out, err[-2000:]
    rows = _rows(database_url)
    assert len(rows) == len(set(rows)) == 120


def _cache(path: Path) -> EmbeddingCache:
    cache = EmbeddingCache(open_database(path, must_exist=False))
    cache.ensure_table()
    return cache


def test_a_waiting_writer_says_so_and_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "w.db"
    cache = _cache(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")  # the user's choice: the mode where writers used to fail at once
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO code_embeddings (fingerprint, code_system, code, text, dim, vector) "
                   "VALUES ('fp', 'ICD10CM', 'A000', 'x', 4, ?)", (np.zeros(4, '<f4').tobytes(),))
    result: dict[str, object] = {}

    def write() -> None:
        try:
            result["n"] = cache.write("fp", [(Code("ICD10CM", f"A00{i}"), "t") for i in range(3)], np.ones((3, 4), np.float32))
        except Exception as exc:
            result["error"] = exc

    with caplog.at_level(logging.WARNING, logger="ehrfeat.store.locks"):
        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(1.5)
        assert thread.is_alive()  # waiting, not failed
        holder.execute("COMMIT")
        thread.join(30)
    assert result == {"n": 2}  # A000 was the other writer's: not written twice
    assert "waiting for its write lock" in caplog.text
    holder.close()


def test_a_writer_gives_up_after_the_stated_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.db"
    cache = _cache(path)
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.5")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="E1210") as info:
            cache.write("fp", [(Code("ICD10CM", "A001"), "t")], np.ones((1, 4), np.float32))
        assert "another run holds the write lock" in str(info.value) and LOCK_TIMEOUT_ENV in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cache.keys("fp") == set()


def test_postgresql_second_run_waits_for_the_job_lock(postgresql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    cache = EmbeddingCache(open_database(postgresql_url, must_exist=False))
    cache.ensure_table()
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.5")
    plain = postgresql_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (_pg_key("embeddings:code_embeddings:fp"),))
        with pytest.raises(DatabaseError, match="E1210") as info:
            cache.write("fp", [(Code("ICD10CM", "A001"), "t")], np.ones((1, 4), np.float32))
        assert "another run holds the write lock" in str(info.value)
        assert "***" in str(info.value) or "@" not in str(info.value)  # the URL's password never shown
    assert cache.write("fp", [(Code("ICD10CM", "A001"), "t")], np.ones((1, 4), np.float32)) == 1
