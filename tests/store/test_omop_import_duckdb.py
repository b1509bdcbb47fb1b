"""DuckDB: import-omop with DuckDB's own CSV reader, embed-codes and patient-vectors, as on SQLite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.embed import embed_codes
from ehrfeat.patients import patient_vectors
from ehrfeat.store import import_omop
from tests.omop_data import HashEncoder

pytest.importorskip("duckdb_engine")


def _rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_import_embed_and_vectors_match_sqlite(extract_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    duck = f"duckdb:///{tmp_path / 'omop.duckdb'}"
    lite = f"sqlite:///{tmp_path / 'omop.db'}"
    result = CliRunner().invoke(app, ["import-omop", str(extract_csv), "--to", duck])
    assert result.exit_code == 0, result.output
    twice = CliRunner().invoke(app, ["import-omop", str(extract_csv), lite, "--to", duck])
    assert twice.exit_code == 2 and "E1410" in twice.output
    import_omop(extract_csv, lite)
    for table in ("person", "condition_occurrence", "measurement", "drug_exposure", "concept"):
        assert _rows(duck, table) == _rows(lite, table), table  # same types, trailing blanks and NULLs kept
    monkeypatch.setattr("ehrfeat.models.loader.load_encoder", lambda model=None: HashEncoder())
    embedded = CliRunner().invoke(app, ["embed-codes", duck, "--no-progress"])
    assert embedded.exit_code == 0, embedded.output
    report = embed_codes(lite, encoder=HashEncoder())
    again = embed_codes(duck, encoder=HashEncoder())
    assert again.embedded_now == 0 and again.already_cached == report.embedded_now > 200
    assert again.coverage == report.coverage
    a, b = patient_vectors(lite, aggregate="events"), patient_vectors(duck, aggregate="events")
    assert a.patient_ids.tolist() == b.patient_ids.tolist()
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-6)


def test_athena_tsv_dates_mixed_columns_and_bad_bytes(tmp_path: Path) -> None:
    src = tmp_path / "csv"
    src.mkdir()
    (src / "CONCEPT.csv").write_text(
        "concept_id\tconcept_name\tvocabulary_id\tconcept_code\tvalid_start_date\n"
        '1\tSay "hi"\tICD10CM\tE11.9\t20200131\n2\tOther\tICD10CM\tI10\t19700101\n')
    (src / "person.csv").write_text("person_id,year_of_birth,person_source_value\n1,1960,001\n2,x1970,002\n")
    (src / "note.csv").write_bytes(b"note_id,note_text\n1,caf\xe9 au lait\n")  # latin-1, not UTF-8
    url = f"duckdb:///{tmp_path / 'a.duckdb'}"
    report = import_omop(src, url)
    assert report.tables == {"concept": 2, "note": 1, "person": 2} and report.decode_errors == {"note": 1}
    assert _rows(url, "concept")[0] == (1, 'Say "hi"', "ICD10CM", "E11.9", "2020-01-31")
    assert _rows(url, "person") == [(1, "1960", "001"), (2, "x1970", "002")]  # a non-integer value: TEXT, kept
    assert _rows(url, "note") == [(1, "caf\ufffd au lait")]
