"""link-notes on SQLite, a real PostgreSQL server and DuckDB: the same links, written once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from ehrfeat.errors import DatabaseError
from ehrfeat.linking.notes import link_notes, make_pipeline
from ehrfeat.store import open_database
from ehrfeat.store.schema import native_metadata
from tests.pg_server import PG_PASSWORD, PostgresServer
from tests.store.test_database_backends import write_native

NOTES = [
    (1, 1, "2021-01-01", "Type 2 diabetes mellitus, well controlled. Asthma, unspecified."),
    (2, 1, "2021-02-01", "Headache for three days; high blood pressure noted."),
    (3, 2, "2021-03-01", "Nothing of note today."),
    (5, 3, "2021-03-03", "Heart failure, unspecified and chronic kidney disease, stage 3."),
]


def _with_notes(url: str) -> str:
    write_native(url)
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(native_metadata().tables["notes"]),
                     [dict(zip(("note_id", "patient_id", "time", "text"), n, strict=True)) for n in NOTES])
    engine.dispose()
    return url


def _links(url: str) -> list[tuple]:
    engine = open_database(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT note_id, "offset", lexical_variant, term_modifiers FROM note_nlp '
                                    "ORDER BY note_nlp_id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_link_notes_on_every_backend_gives_the_same_links(linker_config: dict, tmp_path: Path, postgresql_url: str) -> None:
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    urls = [f"sqlite:///{tmp_path / 'notes.db'}", postgresql_url]
    if importlib.util.find_spec("duckdb_engine") is not None:
        urls.append(f"duckdb:///{tmp_path / 'notes.duckdb'}")
    found = []
    for url in map(_with_notes, urls):
        report = link_notes(url, nlp=nlp, batch_size=2)
        assert report.notes_linked_now == 4 and report.rows_written == 6, url
        again = link_notes(url, nlp=nlp, batch_size=2)
        assert again.notes_linked_now == 0 and again.notes_already_linked == 4, url
        found.append(_links(url))
    sqlite_rows = found[0]
    assert [r[2] for r in sqlite_rows][:2] == ["Type 2 diabetes mellitus", "Asthma, unspecified"]
    for url, rows in zip(urls[1:], found[1:], strict=True):
        assert [r[:3] for r in sqlite_rows] == [r[:3] for r in rows], url
        # scores in term_modifiers agree to the printed precision
        assert [r[3] for r in sqlite_rows] == [r[3] for r in rows], url


def test_omop_note_nlp_rows_get_concept_ids_on_every_backend(backend_url: str, linker_config: dict, tmp_path: Path) -> None:
    """NOTE_NLP writes on an OMOP CDM: concept ids from CONCEPT, one row per linked mention, a re-run writes nothing."""
    from ehrfeat.store import import_omop
    from tests.linking.test_notes_schemas import CSV

    folder = tmp_path / "cdm"
    folder.mkdir()
    for name, text in CSV.items():
        (folder / name).write_text(text)
    import_omop(folder, backend_url)
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    report = link_notes(backend_url, nlp=nlp, batch_size=2)
    assert report.notes_linked_now == 3 and report.rows_written >= 4 and report.rows_with_concept_id >= 2
    engine = open_database(backend_url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(
            "SELECT note_id, lexical_variant, note_nlp_concept_id, note_nlp_source_concept_id, term_exists FROM note_nlp "
            "ORDER BY note_nlp_id")).all()]
    engine.dispose()
    assert len(rows) == report.rows_written
    assert rows[0] == (1, "Type 2 diabetes mellitus", 201826, 201826, "Y")
    assert (2, "high blood pressure", 317576, 317576, "Y") in rows
    assert link_notes(backend_url, nlp=nlp).rows_written == 0


@pytest.mark.slow  # the database index loads the built-in ICD-10-CM names once per backend
def test_link_notes_with_the_database_index_gives_the_same_vectors_and_links(linker_config: dict, tiny_encoder: object,
                                                                              tmp_path: Path, postgresql_url: str) -> None:
    """index={'db': URL}: the code vectors embed-codes cached agree within 1e-6 on every backend, and so do the links."""
    import numpy as np

    from ehrfeat.embed import embed_codes
    from ehrfeat.linking.notes import _linker

    urls = [f"sqlite:///{tmp_path / 'idx.db'}", postgresql_url]
    if importlib.util.find_spec("duckdb_engine") is not None:
        urls.append(f"duckdb:///{tmp_path / 'idx.duckdb'}")
    indexes, links = [], []
    for url in map(_with_notes, urls):
        embed_codes(url, encoder=tiny_encoder)  # type: ignore[arg-type]
        nlp = make_pipeline(model=linker_config["model"], index={"db": url}, systems=[], threshold=0.0,
                            encoder=tiny_encoder)  # type: ignore[arg-type]
        indexes.append(_linker(nlp).index)
        assert link_notes(url, nlp=nlp).notes_linked_now == 4, url
        links.append(_links(url))
    first = indexes[0].embeddings
    assert len(first.codes) == 7 and links[0]
    for url, index, rows in zip(urls[1:], indexes[1:], links[1:], strict=True):
        assert index.embeddings.codes == first.codes, url
        np.testing.assert_allclose(index.embeddings.matrix, first.matrix, atol=1e-6, err_msg=url)
        assert rows == links[0], url


def test_server_killed_mid_run_then_rerun(own_server: PostgresServer, linker_config: dict) -> None:
    """A server killed after the first batch: E1409 naming the URL without its password, the first batch
    kept whole, and a re-run links the rest without duplicates."""
    url = _with_notes(own_server.url(own_server.create_database()))
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)

    def kill_after_first_batch(done: int, total: int) -> None:
        if done == 2:
            own_server.kill()

    with pytest.raises(DatabaseError) as info:
        link_notes(url, nlp=nlp, batch_size=2, on_batch=kill_after_first_batch)
    assert info.value.code == "E1409" and "lost the connection" in str(info.value)
    assert PG_PASSWORD not in str(info.value) and f"ehrfeat:***@127.0.0.1:{own_server.port}" in str(info.value)
    own_server.restart()
    assert {r[0] for r in _links(url)} == {1, 2}  # the first batch, whole
    again = link_notes(url, nlp=nlp, batch_size=2)
    assert (again.notes_already_linked, again.notes_linked_now) == (2, 2)
    rows = _links(url)
    assert len(rows) == 6 and len({r[:2] for r in rows}) == 6
