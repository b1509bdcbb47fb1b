"""Named schemas on database servers: read the CDM from one (``--schema cdm``), write to another
(``--write-schema results``).

:func:`in_schemas` returns an engine whose unqualified table names resolve in the given
schemas, in order (PostgreSQL's and DuckDB's ``search_path``, set on every new connection
before SQLAlchemy inspects the database). New tables are created in the first one, so:

* reading: ``in_schemas(engine, "cdm", "results")``: the CDM tables, and ehrfeat's tables
  (code embeddings) that live in ``results``;
* writing: ``in_schemas(engine, "results", "cdm")``: ``code_embeddings`` and ``note_nlp`` are
  created in ``results``; the CDM stays untouched (it may be read-only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.store.database import validate_identifier

__all__ = ["in_schemas", "read_write_engines", "schema_names", "writable"]

_SERVERS = ("postgresql", "duckdb")


def schema_names(engine: Engine) -> list[str]:
    """The schemas of the database (none for SQLite files); DuckDB: those of the open database file
    (duckdb-engine lists ``catalog.schema`` of every attached catalog)."""
    if engine.dialect.name == "duckdb":
        query = "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
        with engine.connect() as conn:
            return sorted(conn.execute(sa.text(query)).scalars())
    return sorted(sa.inspect(engine).get_schema_names())


def in_schemas(engine: Engine, *schemas: str | None) -> Engine:
    """An engine on the same database whose search path is ``schemas`` (``None`` entries are left out).

    With no schema, ``engine`` itself. Unknown schema names and databases without schemas
    (SQLite) are refused with the fix.
    """
    names = list(dict.fromkeys(validate_identifier(s, "schema") for s in schemas if s))
    if not names:
        return engine
    url = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name not in _SERVERS:
        raise InputError(f"--schema/--write-schema need a database server with schemas; {url} is {engine.dialect.name}",
                         fix="drop --schema and --write-schema for this database (its tables have no schema), "
                         "or give a PostgreSQL or DuckDB URL", code="E1405")
    try:
        existing = set(schema_names(engine))
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"cannot list the schemas of {url}: {type(exc.orig).__name__}",
                            fix="check that the server runs and the URL, user and password are right", code="E1406") from exc
    missing = [n for n in names if n not in existing]
    if missing:
        raise InputError(f"schema {missing[0]!r} does not exist in {url} (schemas: {', '.join(sorted(existing))})",
                         fix=f"check the name given to --schema/--write-schema, or create it: CREATE SCHEMA {missing[0]}",
                         code="E1407")
    scoped = sa.create_engine(engine.url)
    event.listen(scoped, "connect", _set_search_path(engine.dialect.name, names), insert=True)
    return scoped


def read_write_engines(engine: Engine, schema: str | None, write_schema: str | None) -> tuple[Engine, Engine]:
    """``(read, write)`` engines for ``--schema``/``--write-schema``: reads resolve in ``schema`` first
    (then ``write_schema``), writes create their tables in ``write_schema`` (default: ``schema``)."""
    read = in_schemas(engine, schema, write_schema)
    write = in_schemas(engine, write_schema, schema) if write_schema else read
    return read, write


def is_permission_error(exc: BaseException) -> bool:
    """A database refusal to write (a read-only schema, role or file), wrapped or not."""
    text = f"{exc} {exc.__cause__ or ''} {getattr(exc, 'orig', '') or ''}".lower()
    return any(s in text for s in ("permission denied", "readonly", "read-only", "insufficientprivilege"))


@contextlib.contextmanager
def writable(what: str, schema: str | None) -> Iterator[None]:
    """Around the creation of ehrfeat's tables: a refusal becomes E1408, whose fix names ``--write-schema``."""
    try:
        yield
    except (DatabaseError, sa.exc.DBAPIError) as exc:
        if not is_permission_error(exc):
            raise
        where = f"schema {schema!r}" if schema else "this database"
        raise DatabaseError(
            f"cannot create or write {what} in {where}: permission denied (a read-only CDM?)",
            fix="write ehrfeat's tables elsewhere: --write-schema SCHEMA (a schema you may create tables in, "
            "e.g. results) or --out URL",
            code="E1408",
        ) from exc


def _set_search_path(dialect: str, names: list[str]) -> Any:
    statement = (f"SET search_path TO {', '.join(names)}" if dialect == "postgresql"
                 else f"SET search_path = '{','.join(names)}'")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = getattr(dbapi_connection, "autocommit", None)
        if autocommit is not None:
            dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)  # names are validated identifiers
        finally:
            cursor.close()
            if autocommit is not None:
                dbapi_connection.autocommit = autocommit

    return on_connect
