"""Shared fixtures: a tiny random BERT (built once per session), paths, and databases.

Databases (SQLite and a real PostgreSQL server)
-----------------------------------------------
``database_url`` is parametrised over ``sqlite`` and ``postgresql``: a test that takes it runs
twice, each time with the SQLAlchemy URL of a new, empty database::

    def test_round_trip(database_url: str) -> None:
        engine = open_database(database_url, must_exist=False)   # sqlite:///... or postgresql+psycopg://...
        ...
        engine.dispose()

``backend_url`` is parametrised over ``sqlite``, ``postgresql`` and ``duckdb`` (a new, empty
database of each), and ``new_database`` is the factory behind it: call it for more databases of
the same backend in one test (``new_database()`` -> URL). DuckDB cases skip without duckdb-engine.

Most database tests take ``backend_url`` (or a fixture built on it, e.g. ``native_url``/``omop_url``
in ``tests/store/conftest.py``, ``any_db`` in ``tests/patients/conftest.py``) and write their rows
through ``tests.helpers`` (``execute``, ``insert_rows``, ``fetch_all``, ``make_native_url``), never
with ``sqlite3``. A test that needs fewer backends narrows the one fixture:
``@pytest.mark.parametrize("new_database", ["sqlite", "postgresql"], indirect=True)``. Tests of
SQLite's own behaviour (file paths and permissions, PRAGMA, rowids, the SQLite fast path) are
marked ``@pytest.mark.sqlite_only`` and stay on SQLite files.

``postgresql_url`` gives a new, empty PostgreSQL database only (for PostgreSQL-only behaviour),
and ``postgresql_server`` the session's server itself (:class:`tests.pg_server.PostgresServer`:
``url(dbname)``, ``create_database()``, ``drop_database(name)``, ``connect()``). Select one
backend with ``-k sqlite`` or ``-k postgresql``.

* One server per test session (pytest-postgresql's executor around ``pg_ctl``, on 127.0.0.1 and
  a free port, password auth), started on first use and always stopped at the end of the
  session. When run as root it runs as the ``postgres`` user (PostgreSQL refuses root).
* Each test gets its own database, dropped (``WITH (FORCE)``) after the test, so tests never
  see each other's tables. URLs carry the password ``tests.pg_server.PG_PASSWORD``.
* Without PostgreSQL binaries the ``postgresql`` cases skip, unless ``EHRFEAT_REQUIRE_POSTGRES=1``
  (set by ``.ci/run``), where they fail instead.

Data of more than one package's tests
-------------------------------------
Tests mirror the modules they test (``tests/<package>/test_<module>.py``), so data several
packages' tests share lives in plain modules, loaded here as plugins: :mod:`tests.meds_data`
(a small MEDS folder, ``meds_dir``) and :mod:`tests.omop_data` (an OMOP extract, ``extract_csv``,
``extract_url``; the model-free ``HashEncoder``, ``encoder``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ehrfeat.training.tiny_model import DEFAULT_TINY_TERMS

pytest_plugins = ["tests.meds_data", "tests.omop_data"]

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random BERT (hidden 32, 2 layers) with its tokenizer, as a model folder."""
    from ehrfeat.training.tiny_model import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's public development data (../shared/data); tests using it skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# An exported tiny BERT shared by the ONNX runtime and export tests (fp32, O2 and int8 variants).
PARITY_TERMS = [*DEFAULT_TINY_TERMS, *(f"{t} of left side" for t in DEFAULT_TINY_TERMS), *(f"history of {t.lower()}" for t in DEFAULT_TINY_TERMS)]


@pytest.fixture(scope="session")
def parity_terms() -> list[str]:
    return list(PARITY_TERMS)


@pytest.fixture(scope="session")
def tiny_onnx(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ehrfeat.export.exporter import ExportConfig, export_model

    out = tmp_path_factory.mktemp("tiny-onnx") / "model"
    export_model(tiny_bert, out, ExportConfig(optimize=("O2",), quantize="int8"), terms=PARITY_TERMS)
    return out


@pytest.fixture(scope="session")
def tiny_shipped(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT laid out as a shipped model: the fp16 graph only (``python -m ehrfeat.export.ship``)."""
    from ehrfeat.export import ship
    from ehrfeat.export.exporter import ExportConfig, export_model

    root = tmp_path_factory.mktemp("tiny-shipped")
    export_model(tiny_bert, root / "export", ExportConfig(fp16=True), terms=PARITY_TERMS)
    (root / "run").mkdir()
    (root / "run" / "ehrfeat_heldout.json").write_text('{"pairs": [], "synonym_groups": []}')
    return ship.main(root / "export", root / "run", "hiprbert-mini", root / "hiprbert-mini")


# -- databases ----------------------------------------------------------------------------------
def _started_postgres() -> Iterator[object]:
    """A new throw-away server, stopped afterwards; skipped when it cannot start (fails with EHRFEAT_REQUIRE_POSTGRES=1)."""
    from tests.pg_server import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("EHRFEAT_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[object]:
    """The session's throw-away PostgreSQL server (see the module docstring)."""
    yield from _started_postgres()


@pytest.fixture
def postgresql_url(postgresql_server: object) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (postgresql+psycopg://, with a password), dropped after the test."""
    from tests.pg_server import PostgresServer

    assert isinstance(postgresql_server, PostgresServer)
    name = postgresql_server.create_database()
    try:
        yield postgresql_server.url(name)
    finally:
        postgresql_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty database: a SQLite file, then a PostgreSQL database (the test runs on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgresql_url"))


@pytest.fixture
def own_server() -> Iterator[object]:
    """A PostgreSQL server of this test only, to kill and restart (the session's server must not be killed)."""
    yield from _started_postgres()


BACKENDS = ("sqlite", "postgresql", "duckdb")


@pytest.fixture(params=BACKENDS)
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of new, empty databases of one backend; the test runs once per backend."""
    backend = str(request.param)
    if backend == "duckdb":
        pytest.importorskip("duckdb_engine")
    server = request.getfixturevalue("postgresql_server") if backend == "postgresql" else None
    created: list[str] = []

    def make() -> str:
        n = len(created)
        if server is not None:
            name = server.create_database()  # type: ignore[attr-defined]
            created.append(name)
            return str(server.url(name))  # type: ignore[attr-defined]
        created.append(str(n))
        suffix = "duckdb" if backend == "duckdb" else "db"
        return f"{backend}:///{tmp_path / f'db{n}.{suffix}'}"

    yield make
    if server is not None:
        for name in created:
            server.drop_database(name)  # type: ignore[attr-defined]


@pytest.fixture
def backend_url(new_database: Callable[[], str]) -> str:
    """The URL of a new, empty SQLite, PostgreSQL or DuckDB database (the test runs on all three)."""
    return new_database()
