"""link-notes on SQLite and on a real PostgreSQL server: the same links, written once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ehrfeat.linking.notes import link_notes, make_pipeline
from ehrfeat.store import open_database
from ehrfeat.store.schema import native_metadata
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


def test_link_notes_on_both_backends_gives_the_same_links(linker_config: dict, tmp_path: Path, postgresql_url: str) -> None:
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    found = []
    for url in (_with_notes(f"sqlite:///{tmp_path / 'notes.db'}"), _with_notes(postgresql_url)):
        report = link_notes(url, nlp=nlp, batch_size=2)
        assert report.notes_linked_now == 4 and report.rows_written == 6
        again = link_notes(url, nlp=nlp, batch_size=2)
        assert again.notes_linked_now == 0 and again.notes_already_linked == 4
        found.append(_links(url))
    sqlite_rows, pg_rows = found
    assert [r[2] for r in sqlite_rows][:2] == ["Type 2 diabetes mellitus", "Asthma, unspecified"]
    assert [r[:3] for r in sqlite_rows] == [r[:3] for r in pg_rows]
    # scores in term_modifiers agree to the printed precision
    assert [r[3] for r in sqlite_rows] == [r[3] for r in pg_rows]
