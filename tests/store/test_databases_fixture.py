"""The shared database fixtures: a real PostgreSQL server and per-test databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ehrfeat.store import open_database
from tests.pg_server import PG_PASSWORD


def test_database_url_is_an_empty_writable_database(database_url: str) -> None:
    engine = open_database(database_url, must_exist=False)
    try:
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT SUM(x) FROM t")).scalar() == 3
    finally:
        engine.dispose()


def test_postgresql_url_is_a_real_server_with_a_password(postgresql_url: str) -> None:
    assert PG_PASSWORD in postgresql_url
    engine = sa.create_engine(postgresql_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW server_version")).scalar().split(".")[0].isdigit()
            assert engine.dialect.driver == "psycopg"
        bad = sa.create_engine(postgresql_url.replace(PG_PASSWORD, "wrong"))
        try:
            with bad.connect():
                raise AssertionError("a wrong password was accepted")
        except sa.exc.OperationalError as exc:
            assert "password authentication failed" in str(exc)
        finally:
            bad.dispose()
    finally:
        engine.dispose()


def test_no_server_is_left_running_after_pytest(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    """A pytest session that used the server stops it and removes its folder at the end."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import os\n"
        "def test_probe(postgresql_server):\n"
        "    pid = (postgresql_server.root / 'data' / 'postmaster.pid').read_text().split()[0]\n"
        "    open(os.environ['PROBE_OUT'], 'w').write(f'{pid} {postgresql_server.root}')\n"
    )
    (tmp_path / "conftest.py").write_text("from tests.conftest import postgresql_server  # noqa: F401\n")
    out = tmp_path / "probe.txt"
    root = Path(str(pytestconfig.rootpath))
    env = {**os.environ, "PROBE_OUT": str(out), "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(probe)], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    pid, server_root = out.read_text().split()
    assert not Path(server_root).exists()
    try:
        os.kill(int(pid), 0)
        alive = Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except ProcessLookupError:
        alive = False
    assert not alive, f"postgres (pid {pid}) still runs after pytest ended"


def test_a_killed_test_process_leaves_no_server(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    """The watcher stops the server and removes its folder when its test process dies without cleaning up."""
    import signal
    import time

    out = tmp_path / "server.txt"
    root = Path(str(pytestconfig.rootpath))
    script = ("import os, sys, time\n"
              "from tests.pg_server import start_postgres\n"
              "s = start_postgres()\n"
              "pid = (s.root / 'data' / 'postmaster.pid').read_text().split()[0]\n"
              f"open({str(out)!r}, 'w').write(f'{{pid}} {{s.root}}')\n"
              "time.sleep(600)\n")
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=root)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_text()) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
        pid, server_root = out.read_text().split()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 60
    while Path(server_root).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not Path(server_root).exists()
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text()
