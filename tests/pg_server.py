"""A throw-away PostgreSQL server for tests (pytest-postgresql's executor around ``pg_ctl``).

Used by the fixtures in ``tests/conftest.py`` (``postgresql_server``, ``postgresql_url``,
``database_url``); see their docstrings for how tests use them.

* The server binaries come from ``$EHRFEAT_PG_CTL`` (a ``pg_ctl`` path), else ``pg_ctl`` on the
  PATH, else the newest ``/usr/lib/postgresql/*/bin/pg_ctl`` (Debian's ``postgresql`` package,
  which ``.ci/run`` installs when missing).
* PostgreSQL refuses to run as root. When the tests run as root (CI does), the cluster is
  initialised and run as the ``postgres`` system user (created by the Debian package) through
  ``runuser``, in a temporary folder owned by that user.
* The cluster listens on 127.0.0.1 on a free port (and a Unix socket in its folder), with
  password authentication: URLs carry a password, so tests can check it never leaks.
* :meth:`PostgresServer.stop` stops the server (``pg_ctl stop -m fast``, then immediate) and
  removes its folder; the session fixture always calls it, also after failures. A small
  watcher process also stops it and removes the folder if the test process dies without
  cleaning up (killed by a timeout or ``kill -9``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import port_for
import psycopg
from psycopg import sql

__all__ = ["PG_PASSWORD", "PG_USER", "PostgresServer", "PostgresUnavailable", "find_pg_ctl", "start_postgres"]

PG_USER = "ehrfeat"
PG_PASSWORD = "pg-s3cret-ehrfeat"  # a recognisable string: tests assert it never appears in output


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries (or no unprivileged user to run them as root)."""


def find_pg_ctl() -> str:
    """The ``pg_ctl`` to use, or :class:`PostgresUnavailable` with the fix."""
    explicit = os.environ.get("EHRFEAT_PG_CTL")
    if explicit:
        return explicit
    on_path = shutil.which("pg_ctl")
    if on_path:
        return on_path
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return found[-1]
    raise PostgresUnavailable("no pg_ctl found: install PostgreSQL (apt-get install -y postgresql) or set EHRFEAT_PG_CTL")


@dataclass
class PostgresServer:
    """A running throw-away cluster: connect with :meth:`url`; databases come and go with
    :meth:`create_database`/:meth:`drop_database`."""

    host: str
    port: int
    root: Path  # folder holding data/, the log and the Unix socket
    executor: object
    user: str = PG_USER
    password: str = PG_PASSWORD
    _counter: list[int] = field(default_factory=lambda: [0])

    def url(self, dbname: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=dbname, autocommit=True)

    def create_database(self, prefix: str = "t") -> str:
        """A new, empty database; returns its name."""
        self._counter[0] += 1
        name = f"{prefix}_{os.getpid()}_{self._counter[0]}"
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing any connection a test left open (``WITH (FORCE)``)."""
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def running(self) -> bool:
        return bool(self.executor.running())  # type: ignore[attr-defined]

    def kill(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``): clients see their connections dropped."""
        _pg_ctl_direct(self.executor, "stop", "-m", "immediate")

    def restart(self) -> None:
        """Start the server again after :meth:`kill` (same port, same data)."""
        _pg_ctl_direct(self.executor, "start", "-w")

    def stop(self) -> None:
        """Stop the server and remove its folder (safe to call twice)."""
        try:
            if self.running():
                try:
                    self.executor.stop()  # type: ignore[attr-defined]
                except Exception:
                    _pg_ctl_direct(self.executor, "stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _pg_ctl_direct(executor: object, *args: str) -> None:
    ex = executor
    cmd = [ex.executable, *args, "-D", ex.datadir]  # type: ignore[attr-defined]
    if args[0] == "start":
        cmd += ["-l", ex.logfile, "-o",  # type: ignore[attr-defined]
                f"-F -p {ex.port} -c unix_socket_directories='{ex.unixsocketdir}'"]  # type: ignore[attr-defined]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"})


def _as_postgres_user(pg_ctl: str, root: Path) -> str:
    """A ``pg_ctl`` wrapper that runs the real one as the ``postgres`` user (when we are root)."""
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as: "
                                  "install Debian's postgresql package (it creates one)") from exc
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    wrapper = root / "pg_ctl"
    wrapper.write_text(f'#!/bin/sh\ncd /\nexec {runuser} -u postgres -- {pg_ctl} "$@"\n')
    wrapper.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    os.chown(root, pw.pw_uid, pw.pw_gid)
    root.chmod(stat.S_IRWXU | stat.S_IXGRP | stat.S_IXOTH)
    return str(wrapper)


def start_postgres(attempts: int = 3) -> PostgresServer:
    """Initialise and start a new cluster in a fresh temporary folder; the caller must :meth:`~PostgresServer.stop` it.

    Several test sessions may run at once on one machine: a port taken between choosing it and
    binding it makes the start fail, and it is tried again on another port.
    """
    for attempt in range(attempts):
        try:
            return _start_postgres()
        except _StartFailed as exc:
            if attempt == attempts - 1:
                raise RuntimeError(str(exc)) from None
    raise AssertionError("unreachable")


class _StartFailed(Exception):
    pass


def _connect_when_ready(root: Path, port: int, timeout_s: float = 60.0) -> psycopg.Connection:
    """A superuser session over the Unix socket, retried while the server says it is starting up."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return psycopg.connect(host=str(root), port=port, user=PG_USER, dbname="postgres", autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _start_postgres() -> PostgresServer:
    from pytest_postgresql.executors import PostgreSQLExecutor

    pg_ctl = find_pg_ctl()
    root = Path(tempfile.mkdtemp(prefix="ehrfeat-pg-"))
    executable = pg_ctl
    try:
        if os.geteuid() == 0:
            executable = _as_postgres_user(pg_ctl, root)
        port = port_for.select_random()
        executor = PostgreSQLExecutor(
            executable=executable,
            host="127.0.0.1",
            port=port,
            datadir=str(root / "data"),
            unixsocketdir=str(root),
            logfile=str(root / "postgresql.log"),
            startparams="-w",
            dbname="postgres",
            user=PG_USER,
            postgres_options="-c fsync=off -c full_page_writes=off",  # a killed server keeps committed rows
            timeout=120,
        )
        # initdb with trust, then: the Unix socket stays trusted (to set the password), TCP asks for it.
        executor.init_directory()
        (root / "data" / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n")
        executor.start()  # returns once the port is open, which can be before the server accepts sessions
        with _connect_when_ready(root, port) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(PG_USER), sql.Literal(PG_PASSWORD)))
    except BaseException as exc:
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run([executable, "stop", "-D", str(root / "data"), "-m", "immediate"],
                           capture_output=True, timeout=60, check=False)
        log = root / "postgresql.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        if tail and isinstance(exc, Exception):
            raise _StartFailed(f"PostgreSQL did not start; its log ends:\n{tail}") from None
        raise
    _watch(executable, root)
    return PostgresServer("127.0.0.1", port, root, executor)


_WATCHER = """
import os, shutil, subprocess, sys, time
owner, pg_ctl, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while os.path.isdir(root):
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        subprocess.run([pg_ctl, "stop", "-D", os.path.join(root, "data"), "-m", "immediate"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(2)
"""


def _watch(pg_ctl: str, root: Path) -> None:
    """Stop the server and remove its folder once this process is gone (the folder gone: nothing to do)."""
    subprocess.Popen([sys.executable, "-c", _WATCHER, str(os.getpid()), pg_ctl, str(root)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
