from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from tests.helpers import execute, fetch_all, make_native_url

runner = CliRunner()


@pytest.fixture
def db(backend_url):
    """Six codes on SQLite, then PostgreSQL, then DuckDB (a URL: the commands take URLs and paths alike)."""
    events = [(p, "2020-01-01", "ICD10CM", c, None) for p, c in enumerate(["E11.9", "E11.65", "E10.9", "I10", "I50.9", "J45.909"])]
    return make_native_url(backend_url, events)


def test_embed_then_similar(db, tiny_bert):
    result = runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_bert), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "codes found:        6" in result.output
    assert "embedded now:       6" in result.output
    again = runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_bert), "--no-progress"])
    assert "already cached:     6" in again.output and "embedded now:       0" in again.output
    sim = runner.invoke(app, ["similar", "e119", "--db", str(db), "-k", "3"])
    assert sim.exit_code == 0, sim.output
    lines = sim.output.strip().splitlines()
    assert lines[0].startswith("ICD10CM:E11.9") and len(lines) == 4


@pytest.mark.sqlite_only  # a SQLite file path that does not exist
def test_missing_database(tmp_path):
    result = runner.invoke(app, ["embed-codes", str(tmp_path / "nope.db")])
    assert result.exit_code != 0
    assert "nope.db" in result.output


@pytest.mark.sqlite_only  # a file without the SQLite header
def test_not_a_database(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("hello, I am a text file\n")
    result = runner.invoke(app, ["embed-codes", str(bad)])
    assert result.exit_code != 0
    assert "notes.db" in result.output


def test_unknown_schema_names_tables_and_schemas(backend_url):
    path = backend_url
    execute(path, "CREATE TABLE visits (id INTEGER)")
    execute(path, "CREATE TABLE labs (id INTEGER)")
    result = runner.invoke(app, ["embed-codes", str(path)])
    assert result.exit_code != 0
    assert "visits" in result.output and "labs" in result.output
    assert "OMOP" in result.output and "events" in result.output


def test_bad_model_path(db, tmp_path):
    result = runner.invoke(app, ["embed-codes", str(db), "--model", str(tmp_path / "no-such-model")])
    assert result.exit_code != 0
    assert "no-such-model" in result.output


def test_bad_table_name_is_rejected(db, tiny_bert):
    result = runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_bert), "--table", "x; DROP TABLE events"])
    assert result.exit_code != 0
    assert "DROP TABLE" in result.output
    assert fetch_all(db, "SELECT count(*) FROM events") == [(6,)]


def test_similar_unknown_code(db, tiny_bert):
    runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_bert), "--no-progress"])
    result = runner.invoke(app, ["similar", "Z99.89", "--db", str(db)])
    assert result.exit_code != 0 and "Z99.89" in result.output
