"""--schema / --write-schema on a real PostgreSQL server: a read-only CDM schema and a results schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.embed import embed_codes
from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.store import open_database
from tests.helpers import READER_PASSWORD, read_only_cdm
from tests.omop_data import HashEncoder
from tests.pg_server import PG_PASSWORD


@pytest.fixture
def cdm_url(extract_csv: Path, postgresql_url: str) -> tuple[str, str]:
    """(superuser URL, URL of a role that may only read schema cdm and write schema results)."""
    admin, reader = read_only_cdm(postgresql_url, extract_csv)
    engine = sa.create_engine(admin)
    with engine.connect() as conn:
        tables = conn.execute(sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'cdm'")).scalars()
        assert "condition_occurrence" in set(tables)
    engine.dispose()
    return admin, reader


def test_read_only_cdm_needs_a_write_schema(cdm_url: tuple[str, str]) -> None:
    _, reader = cdm_url
    with pytest.raises(DatabaseError) as info:
        embed_codes(reader, encoder=HashEncoder(), schema="cdm")
    assert info.value.code == "E1408" and "--write-schema" in str(info.value) and READER_PASSWORD not in str(info.value)
    report = embed_codes(reader, encoder=HashEncoder(), schema="cdm", write_schema="results")
    assert report.embedded_now > 200 and report.coverage is not None
    engine = open_database(reader)
    with engine.connect() as conn:
        where = conn.execute(sa.text("SELECT table_schema FROM information_schema.tables "
                                     "WHERE table_name = 'code_embeddings'")).scalars().all()
    engine.dispose()
    assert where == ["results"]
    again = embed_codes(reader, encoder=HashEncoder(), schema="cdm", write_schema="results")
    assert again.embedded_now == 0 and again.already_cached == report.embedded_now


def test_cli_schemas_and_errors(cdm_url: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    admin, reader = cdm_url
    monkeypatch.setattr("ehrfeat.models.loader.load_encoder", lambda model=None: HashEncoder())
    runner = CliRunner()
    denied = runner.invoke(app, ["embed-codes", reader, "--no-progress", "--schema", "cdm"])
    assert denied.exit_code == 2 and "--write-schema" in denied.output and READER_PASSWORD not in denied.output
    done = runner.invoke(app, ["embed-codes", reader, "--no-progress", "--schema", "cdm", "--write-schema", "results"])
    assert done.exit_code == 0, done.output
    assert READER_PASSWORD not in done.output and "***" in done.output
    out = tmp_path / "v.npy"
    vectors = runner.invoke(app, ["patient-vectors", reader, "--out", str(out), "--schema", "cdm",
                                  "--write-schema", "results", "--aggregate", "events"])
    assert vectors.exit_code == 0, vectors.output
    assert out.exists()
    report = tmp_path / "clusters"
    clusters = runner.invoke(app, ["cluster", str(out), "--db", reader, "--schema", "cdm", "--write-schema", "results",
                                   "--k", "2", "--top", "3", "--report", str(report)])
    assert clusters.exit_code == 0, clusters.output
    summary = json.loads((report / "summary.json").read_text())
    assert summary["top_codes"] and all(len(top) <= 3 for top in summary["top_codes"].values())  # read through the schemas
    unknown = runner.invoke(app, ["embed-codes", admin, "--no-progress", "--schema", "cdmx"])
    assert unknown.exit_code == 2 and "E1407" in unknown.output and "cdmx" in unknown.output
    assert "cdm" in unknown.output and PG_PASSWORD not in unknown.output


def test_schema_on_sqlite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        embed_codes(f"sqlite:///{tmp_path / 'x.db'}", encoder=HashEncoder(), schema="cdm")
    assert info.value.code == "E1405"
