from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.linking.notes import link_notes, make_pipeline
from tests.helpers import execute, fetch_all, insert_rows, make_native_url

NOTES = [
    (1, 1, "2021-01-01", "Type 2 diabetes mellitus, well controlled. Asthma, unspecified."),
    (2, 1, "2021-02-01", "Headache for three days; high blood pressure noted."),
    (3, 2, "2021-03-01", "Nothing of note today."),
    (4, 2, "2021-03-02", ""),
    (5, 3, "2021-03-03", "Heart failure, unspecified and chronic kidney disease, stage 3."),
]


@pytest.fixture
def native_db(backend_url: str) -> str:
    """Notes and events on SQLite, then PostgreSQL, then DuckDB."""
    db = make_native_url(backend_url, [(1, "2021-01-01", "ICD10CM", "E11.9", None), (2, None, "ICD10CM", "I10", None)])
    execute(db, "CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, time TEXT, text TEXT)")
    insert_rows(db, "notes", NOTES)
    return db


def _pipeline(linker_config: dict):  # type: ignore[no-untyped-def]
    return make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)


def _rows(db: Path | str, table: str = "note_nlp") -> list[tuple]:
    return fetch_all(db, "SELECT note_nlp_id, note_id, \"offset\", lexical_variant, note_nlp_concept_id, note_nlp_source_concept_id, "
                         f"term_modifiers, snippet FROM {table} ORDER BY note_nlp_id")


def test_native_notes_are_linked_once(native_db, linker_config):
    nlp = _pipeline(linker_config)
    report = link_notes(native_db, nlp=nlp, batch_size=2)
    rows = _rows(native_db)
    texts = {n: t for n, _, _, t in NOTES}
    assert [(r[1], r[3]) for r in rows] == [
        (1, "Type 2 diabetes mellitus"), (1, "Asthma, unspecified"), (2, "Headache"), (2, "high blood pressure"),
        (5, "Heart failure, unspecified"), (5, "chronic kidney disease, stage 3"),
    ]  # fmt: skip
    for _, note_id, offset, lexical, concept, source, modifiers, snippet in rows:
        assert texts[note_id][int(offset) : int(offset) + len(lexical)] == lexical
        assert concept == source == 0  # a native database has no OMOP concepts: the code is in term_modifiers
        assert modifiers.startswith("system=") and f"encoder={report.fingerprint}" in modifiers and lexical in snippet
    assert "system=ICD10CM;code=E11;" in rows[0][6] and "system=ICD10CM;code=J45.909;score=1.0000" in rows[1][6]
    assert len({r[0] for r in rows}) == len(rows)
    assert (report.notes_found, report.notes_linked_now, report.rows_written) == (5, 4, 6)
    assert report.skipped == {"empty note text": 1}

    again = link_notes(native_db, nlp=nlp, batch_size=2)
    assert (again.notes_linked_now, again.notes_already_linked, again.rows_written) == (0, 4, 0)
    assert _rows(native_db) == rows
    assert fetch_all(native_db, "SELECT code_system, code FROM note_nlp ORDER BY note_nlp_id LIMIT 1") == [("ICD10CM", "E11")]


def test_interrupted_run_resumes_without_duplicates(native_db, linker_config):
    nlp = _pipeline(linker_config)

    def stop_after_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        link_notes(native_db, nlp=nlp, batch_size=2, on_batch=stop_after_first_batch)
    assert {r[1] for r in _rows(native_db)} == {1, 2}  # the first batch was committed whole
    report = link_notes(native_db, nlp=nlp, batch_size=2)
    assert (report.notes_already_linked, report.notes_linked_now) == (2, 2)
    rows = _rows(native_db)
    assert len(rows) == 6 and len({(r[1], r[2]) for r in rows}) == 6


def test_link_notes_cli_and_missing_notes_table(native_db, linker_config, new_database):
    runner = CliRunner()
    args = ["link-notes", str(native_db), "--model", linker_config["model"], "--index", linker_config["index"]["path"],
            "--systems", "ICD10CM", "--threshold", "0"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "NOTE_NLP rows written: 6" in result.output
    assert all("system=ICD10CM;" in r[6] for r in _rows(native_db))  # --systems keeps HPO codes out
    assert "linked now:            0" in runner.invoke(app, args).output
    bare = make_native_url(new_database(), [(1, None, "ICD10CM", "I10", None)])
    result = runner.invoke(app, ["link-notes", str(bare), "--model", linker_config["model"], "--index", linker_config["index"]["path"]])
    assert result.exit_code == 2 and "no notes table" in result.output


def test_omop_notes_get_concept_ids(shared_data, tiny_encoder, linker_config, tmp_path):
    from ehrfeat.embed import embed_codes
    from ehrfeat.store import import_omop

    # Synthea on SQLite only (CI time); OMOP notes on every backend: test_notes_backends.py
    db = tmp_path / "omop.db"
    import_omop(shared_data / "omop" / "Synthea27Nj_5.4.zip", db)
    embed_codes(db, encoder=tiny_encoder)
    (name, concept_id), (name2, concept_id2) = fetch_all(
        db,
        "SELECT c.concept_name, c.concept_id FROM code_embeddings e JOIN concept c ON c.concept_code = e.code "
        "AND c.vocabulary_id = 'SNOMED' WHERE e.code_system = 'SNOMED' AND c.standard_concept = 'S' "
        "AND length(c.concept_name) > 12 ORDER BY c.concept_id LIMIT 2",
    )
    execute(
        f"sqlite:///{db}",
        "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, note_class_concept_id, note_title, note_text, encoding_concept_id, language_concept_id) "
        "VALUES (:id, 1, '2020-01-01', 44814645, 0, 'progress', :text, 0, 4180186)",
        [{"id": 10, "text": f"Seen today. {name}."}, {"id": 11, "text": f"History of {name2}, stable."}, {"id": 12, "text": ""}],
    )
    nlp = make_pipeline(model=linker_config["model"], index={"db": str(db)}, systems=[], threshold=0.0, encoder=tiny_encoder)
    report = link_notes(db, nlp=nlp)
    assert report.notes_linked_now == 2 and report.skipped == {"empty note text": 1}
    rows = _rows(db, "NOTE_NLP")
    by_text = {r[3].lower(): r for r in rows}
    assert by_text[name.lower()][4] == by_text[name.lower()][5] == concept_id  # standard SNOMED: both columns
    assert by_text[name2.lower()][4] == concept_id2
    assert link_notes(db, nlp=nlp).rows_written == 0 and len(_rows(db, "NOTE_NLP")) == len(rows)


def test_build_index_cli_writes_a_loadable_folder(tiny_onnx_model, tmp_path, monkeypatch):
    from ehrfeat.linking import load_index

    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path / "cache"))

    out = tmp_path / "idx"
    result = CliRunner().invoke(app, ["build-index", str(out), "--model", str(tiny_onnx_model), "--max-code-length", "3"])
    assert result.exit_code == 0, result.output
    index = load_index(out)
    assert len(index) > 1500 and all(len(c.code) == 3 for c in index.embeddings.codes)
    assert "Essential hypertension" in index.terms and index.source == "builtin:ICD10CM:3"
