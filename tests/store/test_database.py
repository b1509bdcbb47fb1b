"""open_database: SQLite files (checked before connecting; the tests marked sqlite_only), URLs, table names on every backend."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.store import open_database, table_names, validate_identifier


@pytest.mark.sqlite_only
def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"missing\.db does not exist") as info:
        open_database(tmp_path / "missing.db")
    assert info.value.code == "E201" and info.value.fix


@pytest.mark.sqlite_only
def test_text_file_renamed_db_is_refused_before_connecting(tmp_path: Path) -> None:
    fake = tmp_path / "notes.db"
    fake.write_text("patient_id,code\n1,E11.9\n")
    with pytest.raises(DatabaseError, match="not a SQLite or DuckDB database") as info:
        open_database(fake)
    assert info.value.code == "E202" and "duckdb" not in fake.name


@pytest.mark.sqlite_only
def test_a_duckdb_file_given_by_its_path_opens_as_duckdb(tmp_path: Path) -> None:
    """A DuckDB file is recognised by its header, whatever its name; a new *.duckdb path is created as DuckDB."""
    import sqlalchemy as sa

    created = open_database(tmp_path / "omop.duckdb", must_exist=False)
    assert created.dialect.name == "duckdb"
    with created.begin() as conn:
        conn.execute(sa.text("CREATE TABLE person (person_id INTEGER)"))
        conn.execute(sa.text("INSERT INTO person VALUES (1), (2)"))
    created.dispose()
    assert (tmp_path / "omop.duckdb").read_bytes()[8:12] == b"DUCK"
    (tmp_path / "omop.duckdb").rename(tmp_path / "renamed.db")  # the header decides, not the name
    engine = open_database(tmp_path / "renamed.db")
    assert engine.dialect.name == "duckdb" and table_names(engine) == {"person": "person"}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM person")).scalar() == 2
    engine.dispose()
    assert open_database(tmp_path / "new.db", must_exist=False).dialect.name == "sqlite"  # other names stay SQLite


@pytest.mark.sqlite_only
def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a folder"):
        open_database(tmp_path)


@pytest.mark.sqlite_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    path.chmod(0)
    with pytest.raises(DatabaseError, match="permission denied"):
        open_database(path)


@pytest.mark.sqlite_only
def test_new_file_when_allowed_and_the_journal_mode_left_as_it_was(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "new.db", must_exist=False)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    engine.dispose()
    assert sqlite3.connect(tmp_path / "new.db").execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con = sqlite3.connect(tmp_path / "wal.db")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    engine = open_database(tmp_path / "wal.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    with pytest.raises(DatabaseError, match="does not exist"):
        open_database(tmp_path / "no" / "such" / "folder.db", must_exist=False)


@pytest.mark.sqlite_only
def test_empty_file_is_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert table_names(open_database(path)) == {}


@pytest.mark.sqlite_only
def test_read_only_file_opens_read_only(tmp_path: Path, native_db: Path) -> None:
    native_db.chmod(0o444)
    try:
        engine = open_database(native_db)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM patients").scalar() == 3
    finally:
        native_db.chmod(0o644)


@pytest.mark.sqlite_only
def test_urls_go_to_create_engine(tmp_path: Path, native_db: Path) -> None:
    engine = open_database(f"sqlite:///{native_db}")
    assert "events" in table_names(engine)
    with pytest.raises(DatabaseError, match="cannot use database URL") as info:
        open_database("nosuchdialect://user:secret@host/db")
    assert "secret" not in str(info.value)


def test_table_names_are_case_insensitive(backend_url: str) -> None:
    engine = open_database(backend_url, must_exist=False)
    with engine.begin() as conn:  # quoted: PostgreSQL keeps the mixed case too
        conn.exec_driver_sql('CREATE TABLE "CONDITION_Occurrence" (x INTEGER)')
    assert table_names(engine) == {"condition_occurrence": "CONDITION_Occurrence"}
    engine.dispose()


@pytest.mark.parametrize("name", ["x; DROP TABLE events", "1events", "", "a" * 64, "events--", "ev ents", "ev\"ents"])
def test_identifier_validation_rejects(name: str) -> None:
    with pytest.raises(InputError, match="not allowed") as info:
        validate_identifier(name, "column")
    assert repr(name) in str(info.value)


def test_identifier_validation_accepts() -> None:
    assert validate_identifier("_events_2024") == "_events_2024"
    assert validate_identifier("A" * 63) == "A" * 63
