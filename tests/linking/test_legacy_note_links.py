"""Notes linked by an earlier ehrfeat (bookkeeping in ehrfeat_note_links, keyed by the encoder alone) are linked once
more by the next run, which replaces their old rows: never twice in NOTE_NLP, and the old table empties."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ehrfeat.linking.notes import link_notes, make_pipeline
from tests.helpers import make_native_db

NOTES = ["Type 2 diabetes mellitus, well controlled.", "Asthma, unspecified. Headache.", "Essential (primary) hypertension."]
ROWS = "SELECT note_id, \"offset\", lexical_variant, code FROM note_nlp ORDER BY 1, 2, 3, 4"


def _db(path: Path) -> Path:
    db = make_native_db(path, [(1, "2021-01-01", "ICD10CM", "E11.9", None)])
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, time TEXT, text TEXT)")
        con.executemany("INSERT INTO notes VALUES (?, 1, NULL, ?)", list(enumerate(NOTES, 1)))
    return db


def _pipeline(linker_config: dict):  # type: ignore[no-untyped-def,type-arg]
    return make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)


def test_notes_of_the_old_bookkeeping_are_relinked_once(tmp_path: Path, linker_config: dict) -> None:  # type: ignore[type-arg]
    db = _db(tmp_path / "p.db")
    first = link_notes(db, nlp=_pipeline(linker_config))
    assert first.notes_linked_now == 3
    with sqlite3.connect(db) as con:  # the state an earlier version left: its nlp_system, its bookkeeping table
        expected = con.execute(ROWS).fetchall()
        fingerprint = con.execute("SELECT DISTINCT fingerprint FROM ehrfeat_note_runs").fetchone()[0]
        con.execute("UPDATE note_nlp SET nlp_system = 'ehrfeat_linker encoder=' || ?", (fingerprint,))
        con.execute("CREATE TABLE ehrfeat_note_links (note_id BIGINT, fingerprint VARCHAR(64), mentions INTEGER, "
                    "rows_written INTEGER, linked_at VARCHAR(32), PRIMARY KEY (note_id, fingerprint))")
        con.execute("INSERT INTO ehrfeat_note_links SELECT note_id, fingerprint, mentions, rows_written, linked_at FROM ehrfeat_note_runs")
        con.execute("DELETE FROM ehrfeat_note_runs")
    again = link_notes(db, nlp=_pipeline(linker_config))
    assert again.notes_linked_now == 3
    with sqlite3.connect(db) as con:
        assert con.execute(ROWS).fetchall() == expected  # replaced, not doubled
        assert con.execute("SELECT count(*) FROM note_nlp WHERE nlp_system NOT LIKE '%run=%'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM ehrfeat_note_links").fetchone()[0] == 0
    third = link_notes(db, nlp=_pipeline(linker_config))
    assert third.notes_linked_now == 0 and third.notes_already_linked == 3
