"""Small builders shared by tests: native-schema databases written with plain sqlite3 (``make_native_db``)
or through SQLAlchemy on any backend (``make_native_url``: SQLite, PostgreSQL, DuckDB), and
backend-neutral row writers (``execute``, ``insert_rows``) for tests that run on every backend, and
``snapshot``, a digest of everything under a folder (to show a refused command changed nothing)."""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["NATIVE_DDL", "READER_PASSWORD", "backend_of", "execute", "fetch_all", "has_table", "insert_rows", "make_native_db", "make_native_url",
           "read_only_cdm", "script_module", "snapshot", "sqlite_path"]

READER_PASSWORD = "reader-s3cret"

Event = tuple[int, str | None, str, str, float | None]

NATIVE_DDL = (
    "CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT)",
    "CREATE TABLE events (patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL)",
    "CREATE TABLE vocabulary (code_system TEXT, code TEXT, description TEXT)",
)


def make_native_db(
    path: Path,
    events: Iterable[Event],
    vocabulary: Sequence[tuple[str, str, str]] = (),
) -> Path:
    """A native-schema SQLite database: ``events`` rows are (patient_id, time, system, code, value)."""
    events = list(events)
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT);
        CREATE TABLE events (patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL);
        CREATE TABLE vocabulary (code_system TEXT, code TEXT, description TEXT);
        """
    )
    con.executemany("INSERT INTO patients VALUES (?, NULL, NULL)", [(p,) for p in sorted({e[0] for e in events})])
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
    con.executemany("INSERT INTO vocabulary VALUES (?, ?, ?)", vocabulary)
    con.commit()
    con.close()
    return path


def execute(url: str, statement: str, rows: Sequence[dict[str, object]] | None = None) -> None:
    """One SQL statement (with named ``:parameters``, once per row) on any backend, committed."""
    import sqlalchemy as sa

    from ehrfeat.store import open_database

    engine = open_database(url, must_exist=False)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), list(rows) if rows is not None else {})
    finally:
        engine.dispose()


def fetch_all(url: str | Path, query: str) -> list[tuple]:
    """The rows of one SQL query on any backend (a bare path is a SQLite file)."""
    import sqlalchemy as sa

    from ehrfeat.store import open_database

    engine = open_database(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def has_table(url: str | Path, name: str) -> bool:
    """Whether the database at ``url`` has a table ``name`` (any case), on any backend."""
    from ehrfeat.store import open_database, table_names

    engine = open_database(url)
    try:
        return name.lower() in table_names(engine)
    finally:
        engine.dispose()


def insert_rows(url: str, table: str, rows: Sequence[Sequence[object]]) -> None:
    """Positional ``rows`` into ``table`` (its name quoted as given, so ``"PERSON"`` stays upper case) on any backend."""
    if not rows:
        return
    names = [f"p{i}" for i in range(len(rows[0]))]
    placeholders = ", ".join(f":{n}" for n in names)
    execute(url, f'INSERT INTO "{table}" VALUES ({placeholders})', [dict(zip(names, r, strict=True)) for r in rows])


def backend_of(url: str | Path) -> str:
    """``sqlite``, ``postgresql`` or ``duckdb`` for a URL (a bare path is a SQLite file)."""
    text = str(url)
    return text.split(":", 1)[0].split("+", 1)[0] if "://" in text else "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, else None."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def make_native_url(
    url: str,
    events: Iterable[Event],
    vocabulary: Sequence[tuple[str, str, str]] = (),
    extra_patients: Sequence[int] = (),
) -> str:
    """The database of :func:`make_native_db` (plus ``extra_patients`` without events) at any SQLAlchemy URL."""
    events = list(events)
    for ddl in NATIVE_DDL:
        execute(url, ddl)
    patients = sorted({e[0] for e in events} | set(extra_patients))
    execute(url, "INSERT INTO patients (patient_id) VALUES (:p)", [{"p": p} for p in patients])
    if events:
        execute(url, "INSERT INTO events VALUES (:p, :t, :s, :c, :v)",
                [dict(zip("ptscv", e, strict=True)) for e in events])
    if vocabulary:
        execute(url, "INSERT INTO vocabulary VALUES (:s, :c, :d)", [dict(zip("scd", v, strict=True)) for v in vocabulary])
    return url


def read_only_cdm(postgresql_url: str, csv_folder: Path, extra_sql: Sequence[str] = ()) -> tuple[str, str]:
    """Import ``csv_folder`` into schema ``cdm`` of a PostgreSQL database, run ``extra_sql`` there, and
    create a role that may only read ``cdm`` and create tables in ``results``.

    Returns (superuser URL, URL of that role).
    """
    import sqlalchemy as sa

    from ehrfeat.store import import_omop

    engine = sa.create_engine(postgresql_url)
    role = f"reader_{engine.url.database}"
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA cdm"))
        conn.execute(sa.text("CREATE SCHEMA results"))
    import_omop(csv_folder, postgresql_url, schema="cdm")
    with engine.begin() as conn:
        for statement in extra_sql:
            conn.execute(sa.text(statement))
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{READER_PASSWORD}'"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA cdm TO {role}"))
        conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA cdm TO {role}"))
        conn.execute(sa.text(f"GRANT USAGE, CREATE ON SCHEMA results TO {role}"))
    engine.dispose()
    reader = sa.engine.make_url(postgresql_url).set(username=role, password=READER_PASSWORD)
    return postgresql_url, reader.render_as_string(hide_password=False)


def script_module(folder: str, name: str) -> ModuleType:
    """``FOLDER/NAME.py`` of the repository (a script, not a package module, e.g. in ``benchmarks``) loaded as a module.

    It is registered in ``sys.modules`` under ``NAME``, as an import would register it (a dataclass
    defined in it looks its module up there)."""
    path = Path(__file__).resolve().parents[1] / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def packaging_script(name: str) -> ModuleType:
    """``packaging/NAME.py`` (a script, not a package module) loaded as a module."""
    return script_module("packaging", name)


def _tables(path: Path) -> dict[str, str] | None:
    """Each table's rows digested, or None when ``path`` only starts like a database."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.text_factory = bytes
    try:
        names = [r[0].decode() for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {}
        for name in names:
            digest = hashlib.sha256()
            for row in con.execute(f'SELECT * FROM "{name}" ORDER BY rowid' if not name.startswith("sqlite_") else f'SELECT * FROM "{name}"'):
                digest.update(repr(row).encode())
            out[f"table:{name}"] = digest.hexdigest()
        return out
    except sqlite3.DatabaseError:
        return None
    finally:
        con.close()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def snapshot(root: Path) -> dict[str, str]:
    """Path -> digest of everything under ``root``: file bytes, folders, and each SQLite table's rows."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "link"
        elif path.is_dir():
            out[rel] = "dir"
        elif path.suffix in (".db-wal", ".db-shm", ".db-journal") or path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # SQLite's own side files
        elif _is_sqlite(path) and (tables := _tables(path)) is not None:
            out.update({f"{rel}::{k}": v for k, v in tables.items()})
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
