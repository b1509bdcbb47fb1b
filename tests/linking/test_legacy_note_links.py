"""Notes linked by an earlier ehrfeat (bookkeeping in ehrfeat_note_links, keyed by the encoder alone) are linked once
more by the next run, which replaces their old rows: never twice in NOTE_NLP, and the old table empties."""

from __future__ import annotations

from ehrfeat.linking.notes import link_notes, make_pipeline
from tests.helpers import execute, fetch_all, insert_rows, make_native_url

NOTES = ["Type 2 diabetes mellitus, well controlled.", "Asthma, unspecified. Headache.", "Essential (primary) hypertension."]
ROWS = "SELECT note_id, \"offset\", lexical_variant, code FROM note_nlp ORDER BY 1, 2, 3, 4"


def _db(url: str) -> str:
    db = make_native_url(url, [(1, "2021-01-01", "ICD10CM", "E11.9", None)])
    execute(db, "CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, time TEXT, text TEXT)")
    insert_rows(db, "notes", [(i, 1, None, text) for i, text in enumerate(NOTES, 1)])
    return db


def _pipeline(linker_config: dict):  # type: ignore[no-untyped-def,type-arg]
    return make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)


def test_notes_of_the_old_bookkeeping_are_relinked_once(backend_url: str, linker_config: dict) -> None:  # type: ignore[type-arg]
    db = _db(backend_url)
    first = link_notes(db, nlp=_pipeline(linker_config))
    assert first.notes_linked_now == 3
    # the state an earlier version left: its nlp_system, its bookkeeping table
    expected = fetch_all(db, ROWS)
    ((fingerprint,),) = fetch_all(db, "SELECT DISTINCT fingerprint FROM ehrfeat_note_runs")
    execute(db, "UPDATE note_nlp SET nlp_system = :system", [{"system": f"ehrfeat_linker encoder={fingerprint}"}])
    execute(db, "CREATE TABLE ehrfeat_note_links (note_id BIGINT, fingerprint VARCHAR(64), mentions INTEGER, "
                "rows_written INTEGER, linked_at VARCHAR(32), PRIMARY KEY (note_id, fingerprint))")
    execute(db, "INSERT INTO ehrfeat_note_links SELECT note_id, fingerprint, mentions, rows_written, linked_at FROM ehrfeat_note_runs")
    execute(db, "DELETE FROM ehrfeat_note_runs")
    again = link_notes(db, nlp=_pipeline(linker_config))
    assert again.notes_linked_now == 3
    assert fetch_all(db, ROWS) == expected  # replaced, not doubled
    assert fetch_all(db, "SELECT count(*) FROM note_nlp WHERE nlp_system NOT LIKE '%run=%'") == [(0,)]
    assert fetch_all(db, "SELECT count(*) FROM ehrfeat_note_links") == [(0,)]
    third = link_notes(db, nlp=_pipeline(linker_config))
    assert third.notes_linked_now == 0 and third.notes_already_linked == 3
