"""link-notes, similar and build-index with --schema/--write-schema on a real PostgreSQL server:
the CDM lives in schema ``cdm``, which the role running ehrfeat may only read; NOTE_NLP, the
bookkeeping table and the code embeddings go to schema ``results``; nothing is written to ``cdm``."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.embed import embed_codes
from ehrfeat.errors import DatabaseError
from ehrfeat.linking.notes import link_notes, make_pipeline
from ehrfeat.store import import_omop
from ehrfeat.store.search_path import in_schemas
from tests.helpers import READER_PASSWORD, read_only_cdm

CSV = {
    "person.csv": "person_id,year_of_birth\n1,1960\n2,1970\n3,1980\n",
    "concept.csv": "concept_id,concept_name,vocabulary_id,concept_code,standard_concept\n"
                   "201826,Type 2 diabetes mellitus,ICD10CM,E11,S\n"
                   "317576,Essential (primary) hypertension,ICD10CM,I10,S\n"
                   "317577,Asthma unspecified,ICD10CM,J45.909,S\n",
    "condition_occurrence.csv": "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_source_value\n"
                                "1,1,201826,2020-01-01,E11\n2,2,317576,2020-02-01,I10\n3,3,0,2020-03-01,J45909\n",
    "note.csv": "note_id,person_id,note_date,note_text\n"
                "1,1,2021-01-01,\"Type 2 diabetes mellitus, well controlled. Asthma, unspecified.\"\n"
                "2,1,2021-02-01,Headache for three days; high blood pressure noted.\n"
                "3,2,2021-03-01,Heart failure and chronic kidney disease.\n",
}


def _cdm_snapshot(admin: str) -> dict[str, int]:
    """Every table of schema cdm with its row count (as the superuser)."""
    engine = sa.create_engine(admin)
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'cdm'")).scalars().all()
        out = {n: conn.execute(sa.text(f'SELECT count(*) FROM cdm."{n}"')).scalar_one() for n in names}
    engine.dispose()
    return out


def _tables(admin: str, schema: str) -> set[str]:
    engine = sa.create_engine(admin)
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema})
        out = set(names.scalars())
    engine.dispose()
    return out


@pytest.fixture
def cdm(tmp_path: Path, postgresql_url: str) -> tuple[str, str]:
    """(superuser URL, URL of a role that may only read schema cdm and create tables in schema results)."""
    folder = tmp_path / "cdm"
    folder.mkdir()
    for name, text in CSV.items():
        (folder / name).write_text(text)
    # a real CDM ships an (empty) NOTE_NLP table of its own, as read-only as the rest
    note_nlp = ("CREATE TABLE cdm.note_nlp (note_nlp_id BIGINT, note_id BIGINT, lexical_variant TEXT, "
                "note_nlp_concept_id INTEGER, nlp_system TEXT, nlp_date DATE)")
    return read_only_cdm(postgresql_url, folder, [note_nlp])


def test_link_notes_reads_the_cdm_schema_and_writes_the_results_schema(cdm: tuple[str, str], linker_config: dict,
                                                                       tiny_encoder: object) -> None:
    admin, reader = cdm
    before = _cdm_snapshot(admin)
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    with pytest.raises(DatabaseError) as info:  # cdm.note_nlp exists but may not be written
        link_notes(reader, nlp=nlp, schema="cdm")
    assert info.value.code == "E1408" and "--write-schema" in str(info.value) and READER_PASSWORD not in str(info.value)
    report = link_notes(reader, nlp=nlp, schema="cdm", write_schema="results", batch_size=2)
    assert report.notes_linked_now == 3 and report.rows_written >= 4 and report.target == "results.note_nlp"
    assert report.rows_with_concept_id >= 2  # concept ids resolved through cdm.concept
    again = link_notes(reader, nlp=nlp, schema="cdm", write_schema="results")
    assert again.notes_linked_now == 0 and again.notes_already_linked == 3 and again.rows_written == 0
    assert _cdm_snapshot(admin) == before  # nothing created or written in the CDM schema
    assert {"note_nlp", "ehrfeat_note_runs"} <= _tables(admin, "results")
    engine = sa.create_engine(admin)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT note_id, lexical_variant, note_nlp_concept_id FROM results.note_nlp "
                                    "ORDER BY note_nlp_id")).all()
    engine.dispose()
    assert len(rows) == report.rows_written and rows[0][:2] == (1, "Type 2 diabetes mellitus")
    assert (1, "Type 2 diabetes mellitus", 201826) in [tuple(r) for r in rows]


@pytest.mark.slow
def test_cli_link_notes_similar_and_build_index_with_schemas(cdm: tuple[str, str], tiny_onnx_model: Path,
                                                              tiny_encoder: object, tmp_path: Path) -> None:
    admin, reader = cdm
    before = _cdm_snapshot(admin)
    runner = CliRunner()
    embed_codes(reader, encoder=tiny_encoder, schema="cdm", write_schema="results")  # type: ignore[arg-type]
    link = ["link-notes", reader, "--model", str(tiny_onnx_model), "--threshold", "0", "--schema", "cdm"]
    denied = runner.invoke(app, link)
    assert denied.exit_code == 2 and "E1408" in denied.output and "--write-schema" in denied.output
    assert READER_PASSWORD not in denied.output
    done = runner.invoke(app, [*link, "--write-schema", "results"])
    assert done.exit_code == 0, done.output
    assert "results.code_embeddings" in done.output  # index auto: the embeddings of this model, in results
    assert "results.note_nlp" in done.output and READER_PASSWORD not in done.output
    similar = runner.invoke(app, ["similar", "E11", "--db", reader, "-k", "2", "--schema", "cdm", "--write-schema", "results"])
    assert similar.exit_code == 0, similar.output
    assert similar.output.startswith("ICD10CM:E11  Type 2 diabetes mellitus") and len(similar.output.splitlines()) == 3
    no_schema = runner.invoke(app, ["similar", "E11", "--db", reader])  # the embeddings are not in the default schema
    assert no_schema.exit_code == 2 and READER_PASSWORD not in no_schema.output
    folder = tmp_path / "index"
    built = runner.invoke(app, ["build-index", str(folder), "--model", str(tiny_onnx_model), "--db", reader,
                                "--write-schema", "results"])
    assert built.exit_code == 0, built.output
    assert built.output.startswith("3 codes")
    assert _cdm_snapshot(admin) == before


def test_unknown_schema_names_the_fix(cdm: tuple[str, str], linker_config: dict) -> None:
    admin, _ = cdm
    runner = CliRunner()
    result = runner.invoke(app, ["link-notes", admin, "--model", linker_config["model"], "--index", "builtin",
                                 "--schema", "cdm", "--write-schema", "resultz"])
    assert result.exit_code == 2 and "E1407" in result.output and "CREATE SCHEMA resultz" in result.output
    assert in_schemas(sa.create_engine(admin), "cdm").url.database == sa.engine.make_url(admin).database


def test_duckdb_schemas(linker_config: dict, tmp_path: Path) -> None:
    """The same flags on a DuckDB file: the CDM in schema cdm (with its own empty NOTE_NLP), ehrfeat's tables in results."""
    pytest.importorskip("duckdb_engine")
    from ehrfeat.patients import patient_vectors
    from ehrfeat.similar import similar_codes
    from ehrfeat.store import open_database
    from tests.omop_data import HashEncoder

    folder = tmp_path / "cdm"
    folder.mkdir()
    for name, text in CSV.items():
        (folder / name).write_text(text)
    url = f"duckdb:///{tmp_path / 'omop.duckdb'}"  # not cdm.duckdb: its catalog would be named cdm too
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA cdm"))
        conn.execute(sa.text("CREATE SCHEMA results"))
        conn.execute(sa.text("CREATE TABLE cdm.note_nlp (note_nlp_id BIGINT, note_id BIGINT, lexical_variant TEXT, "
                             "note_nlp_concept_id INTEGER, nlp_system TEXT, nlp_date DATE)"))
    engine.dispose()
    import_omop(folder, url, schema="cdm")
    assert embed_codes(url, encoder=HashEncoder(), schema="cdm", write_schema="results").embedded_now == 3
    query, _, neighbours = similar_codes("E11", url, k=2, schemas=("results", "cdm"))
    assert query == "ICD10CM:E11" and len(neighbours) == 2
    vectors = patient_vectors(in_schemas(open_database(url), "cdm", "results"), aggregate="events")
    assert vectors.patient_ids.tolist() == [1, 2, 3] and not vectors.no_codes.any()
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    report = link_notes(url, nlp=nlp, schema="cdm", write_schema="results")
    assert report.notes_linked_now == 3 and report.rows_with_concept_id >= 2 and report.target == "results.note_nlp"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = conn.execute(sa.text("SELECT table_schema, table_name FROM information_schema.tables")).all()
        assert conn.execute(sa.text("SELECT count(*) FROM cdm.note_nlp")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM results.note_nlp")).scalar_one() == report.rows_written
    engine.dispose()
    assert {(s, t) for s, t in tables if s == "cdm"} == {("cdm", t) for t in ("concept", "condition_occurrence", "note",
                                                                                "note_nlp", "person")}
    assert {"code_embeddings", "note_nlp", "ehrfeat_note_runs"} <= {t for s, t in tables if s == "results"}
