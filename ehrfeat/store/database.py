"""Open a patient database: a SQLite file by path, or any SQLAlchemy URL.

Names of tables and columns that come from users (the command line, CSV
headers) are validated by :func:`validate_identifier` and only ever reach SQL
through SQLAlchemy's quoting (``table()``/``column()``), never pasted in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.extras import require
from ehrfeat.store.locks import begin_listener

__all__ = [
    "DUCKDB_MAGIC",
    "DUCKDB_SUFFIXES",
    "IN_BATCH",
    "SQLITE_HEADER",
    "add_bad_text",
    "bad_text_count",
    "column_names",
    "connection_errors",
    "in_batches",
    "masked_url",
    "open_database",
    "read_error",
    "sql_table",
    "table_names",
    "validate_identifier",
]

logger = logging.getLogger(__name__)

#: Values per SQL ``IN (...)`` list: well under every database's parameter limit (SQLite's is 999 in old builds).
IN_BATCH = 500

_T = TypeVar("_T")


def in_batches(values: Sequence[_T], size: int = IN_BATCH) -> Iterator[Sequence[_T]]:
    """``values`` in consecutive slices of at most ``size``, one per SQL ``IN (...)`` list."""
    for start in range(0, len(values), size):
        yield values[start:start + size]

SQLITE_HEADER = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
DUCKDB_SUFFIXES = (".duckdb", ".ddb")  # a new file of these names is created as DuckDB
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MAKE_ONE = "create one with `python examples/make_demo_db.py PATH` or `ehrfeat import-omop CSV_DIR PATH`"


def open_database(target: str | os.PathLike[str], *, must_exist: bool = True) -> Engine:
    """An engine for ``target``: a URL (contains ``://``) or a path to a SQLite or DuckDB file.

    SQLite files are checked before connecting (present, readable, starting
    with the SQLite header); an empty file counts as an empty database. With
    ``must_exist=False`` a missing file is created on first write. Read-only
    files are opened read-only. The file's journal mode is left as it is (WAL
    lets a long reader and a writer run at once: ``PRAGMA journal_mode=WAL``);
    writers take the write lock up front (:mod:`ehrfeat.store.locks`). Text
    that is not valid UTF-8 is decoded with replacement and counted
    (:func:`bad_text_count`), never fatal.
    """
    text = os.fspath(target)
    if "://" in text:
        return _open_url(text)
    path = Path(text).expanduser()
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file", fix="give the path of a SQLite file", code="E202")
    read_only = False
    if path.exists():
        if not os.access(path, os.R_OK):
            raise DatabaseError(f"cannot read {path}: permission denied", fix=f"chmod u+r {path}", code="E203")
        try:
            with path.open("rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise DatabaseError(f"cannot read {path}: {exc.strerror}", fix="check the file and its permissions", code="E203") from exc
        read_only = not os.access(path, os.W_OK)
        if head[8:12] == DUCKDB_MAGIC:
            return _open_duckdb(path, read_only)
        if head and head != SQLITE_HEADER:
            raise DatabaseError(
                f"{path} is not a SQLite or DuckDB database (its first bytes are neither's header)",
                fix=f"give the path of a SQLite or DuckDB database, or a SQLAlchemy URL; {_MAKE_ONE}",
                code="E202",
            )
    elif must_exist:
        raise DatabaseError(f"database file {path} does not exist", fix=f"check the path; {_MAKE_ONE}", code="E201")
    elif not path.parent.is_dir():
        raise DatabaseError(f"folder {path.parent} does not exist", fix=f"create it: mkdir -p {path.parent}", code="E201")
    elif path.suffix.lower() in DUCKDB_SUFFIXES:
        return _open_duckdb(path, read_only=False)
    if read_only:
        url = URL.create("sqlite", database=f"file:{path.resolve()}?mode=ro", query={"uri": "true"})
    else:
        url = URL.create("sqlite", database=str(path))
    engine = sa.create_engine(url)
    _configure_sqlite(engine, str(path))
    return engine


def _open_duckdb(path: Path, read_only: bool) -> Engine:
    """A DuckDB file given by its path (as ``duckdb:///PATH`` would open it)."""
    for module in ("duckdb", "duckdb_engine"):
        require(module, needed_for=f"the DuckDB database {path.name}")
    return sa.create_engine(URL.create("duckdb", database=str(path)), connect_args={"read_only": True} if read_only else {})


def _open_url(url: str) -> Engine:
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"cannot use database URL {masked_url(url)}: {exc}",
            fix="use a SQLAlchemy URL such as sqlite:///patients.db or postgresql+psycopg://user@host/db, "
            "and install the driver it names",
            code="E204",
        ) from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, masked_url(engine.url))
    return engine


def masked_url(url: str | os.PathLike[str] | URL | Engine) -> str:
    """A database URL (or path, or engine) fit to print or store: the password replaced by ``***``."""
    if isinstance(url, Engine):
        url = url.url
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    text = os.fspath(url)
    if "://" not in text:
        return text
    try:
        return sa.engine.make_url(text).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "<unparsable URL>"


_BAD_TEXT: weakref.WeakKeyDictionary[Engine, list[int]] = weakref.WeakKeyDictionary()


def bad_text_count(engine: Engine) -> int:
    """Text values read so far through ``engine`` that were not valid UTF-8 (decoded with replacement)."""
    return _BAD_TEXT.get(engine, [0])[0]


def add_bad_text(engine: Engine, n: int) -> None:
    """Count ``n`` undecodable text values read for ``engine`` elsewhere (by a reader process on its file)."""
    if n:
        _BAD_TEXT.setdefault(engine, [0])[0] += n


def _configure_sqlite(engine: Engine, where: str) -> None:
    """Pragmas on connect, and real transactions: the sqlite3 module commits before DDL on its own, so
    SQLAlchemy's documented recipe takes over BEGIN (a failed import then leaves no table behind);
    writers ``BEGIN IMMEDIATE`` (:func:`ehrfeat.store.locks.write_transaction`)."""
    counter = _BAD_TEXT.setdefault(engine, [0])
    event.listen(engine, "connect", _sqlite_pragmas(counter))
    event.listen(engine, "begin", begin_listener(where))


def _sqlite_pragmas(counter: list[int]) -> Any:
    def decode(raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            counter[0] += 1
            return raw.decode("utf-8", "replace")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN/COMMIT from the driver
        dbapi_connection.text_factory = decode  # invalid UTF-8: replaced and counted, not fatal
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: GROUP BY over large event tables
            cursor.execute("PRAGMA temp_store = MEMORY")
        finally:
            cursor.close()

    return on_connect


def validate_identifier(name: str, what: str = "table") -> str:
    """``name`` if it is a plain SQL identifier (letters, digits, ``_``; at most 63), else :class:`InputError`."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InputError(
            f"{what} name {name!r} is not allowed",
            fix=f"use a {what} name of letters, digits and '_' that starts with a letter or '_' (at most 63 characters)",
            code="E108",
        )
    return name


def table_names(engine: Engine) -> dict[str, str]:
    """Tables and views of the database: lower-case name -> actual name."""
    try:
        inspector = sa.inspect(engine)
        names = [*inspector.get_table_names(), *inspector.get_view_names()]
    except sa.exc.DBAPIError as exc:
        raise _wrap(engine, exc) from exc
    return {name.lower(): name for name in sorted(names)}


def column_names(engine: Engine, table: str) -> dict[str, str]:
    """Columns of ``table`` (actual name): lower-case name -> actual name."""
    try:
        if engine.dialect.name == "duckdb":  # duckdb-engine's reflection fails on SQLAlchemy 2.1 (pg_collation)
            return _duckdb_columns(engine, table)
        columns = sa.inspect(engine).get_columns(table)
    except sa.exc.DBAPIError as exc:
        raise _wrap(engine, exc) from exc
    return {c["name"].lower(): c["name"] for c in columns}


def _duckdb_columns(engine: Engine, table: str) -> dict[str, str]:
    query = sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                    "AND table_schema = current_schema() ORDER BY ordinal_position")
    with engine.connect() as conn:
        names = list(conn.execute(query, {"t": table}).scalars())
    return {n.lower(): n for n in names}


def sql_table(name: str, columns: list[str] | tuple[str, ...]) -> sa.TableClause:
    """A lightweight, properly quoted table clause for SELECTs over validated or reflected names."""
    return sa.table(name, *(sa.column(c) for c in columns))


@contextlib.contextmanager
def connection_errors(database: str | Path | Engine) -> Iterator[None]:
    """A connection refused or dropped mid-run becomes E1409 naming ``database`` without its password
    (embed-codes and link-notes: each batch is one transaction, so a re-run finishes the job)."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        if not (exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)):
            raise
        lines = str(exc.orig).strip().splitlines() if exc.orig is not None else []
        raise DatabaseError(
            f"lost the connection to {masked_url(database)}: {lines[0] if lines else type(exc).__name__}",
            fix="check that the server runs and is reachable, then run the same command again: batches already "
            "written are kept (one transaction each) and only the rest is done",
            code="E1409",
        ) from exc


def read_error(engine: Engine, exc: Exception) -> DatabaseError:
    """E205 for a database that cannot be read (refused, dropped, corrupt): names it without its password."""
    return _wrap(engine, exc)


def _wrap(engine: Engine, exc: Exception) -> DatabaseError:
    return DatabaseError(
        f"cannot read database {masked_url(engine)}: {exc}",
        fix="check that the file is a complete, uncorrupted database that no other program holds locked",
        code="E205",
    )
