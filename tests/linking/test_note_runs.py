"""link-notes on native and OMOP databases, SQLite and a real PostgreSQL server: NOTE_NLP's context columns,
and a run key that holds every setting that changes the rows (a re-run with another one replaces, never duplicates)."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from ehrfeat.linking.notes import link_notes, make_pipeline
from ehrfeat.store import open_database
from ehrfeat.store.schema import native_metadata
from tests.store.test_database_backends import write_native

NOTES = [(1, "Denies headache. History of asthma."), (2, "Mother had high blood pressure. Pt w/ T2DM and CKD stage 3.")]
KEEP = [  # (note, lexical variant, term_exists, term_temporal, experiencer) with the default settings
    (1, "headache", "N", "present", "patient"), (1, "asthma", "Y", "past", "patient"),
    (2, "high blood pressure", "N", "present", "family"), (2, "T2DM", "Y", "present", "patient"),
    (2, "CKD stage 3", "Y", "present", "patient"),
]  # fmt: skip
OMOP_DDL = [
    "CREATE TABLE person (person_id INTEGER PRIMARY KEY)",
    "CREATE TABLE condition_occurrence (condition_occurrence_id INTEGER, person_id INTEGER, condition_concept_id INTEGER,"
    " condition_start_date DATE, condition_source_value VARCHAR(50))",
    "CREATE TABLE note (note_id BIGINT PRIMARY KEY, person_id INTEGER, note_text TEXT)",
    "INSERT INTO person VALUES (1)",
]


def _database(url: str, kind: str) -> tuple[str, str]:
    """A native or OMOP database at ``url`` holding :data:`NOTES`; and its NOTE_NLP table's name."""
    if kind == "native":
        write_native(url)
        table, rows = native_metadata().tables["notes"], [{"note_id": i, "patient_id": 1, "time": None, "text": t} for i, t in NOTES]
    else:
        engine = open_database(url, must_exist=False)
        with engine.begin() as conn:
            for ddl in OMOP_DDL:
                conn.execute(sa.text(ddl))
        engine.dispose()
        table = sa.table("note", sa.column("note_id"), sa.column("person_id"), sa.column("note_text"))
        rows = [{"note_id": i, "person_id": 1, "note_text": t} for i, t in NOTES]
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)
    engine.dispose()
    # OMOP on SQLite: NOTE_NLP as in OMOP's DDL; database servers get the unquoted, lower-case note_nlp
    return url, "NOTE_NLP" if kind == "omop" and url.startswith("sqlite") else "note_nlp"


def _rows(url: str, table: str) -> list[tuple]:
    engine = open_database(url)
    quoted = engine.dialect.identifier_preparer.quote(table)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT note_id, lexical_variant, term_exists, term_temporal, term_modifiers, nlp_system "
                                    f"FROM {quoted} ORDER BY note_id, note_nlp_id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _flags(rows: list[tuple]) -> list[tuple]:
    def experiencer(modifiers: str | None) -> str | None:
        return None if modifiers is None or "experiencer=" not in modifiers else modifiers.split("experiencer=")[1].split(";")[0]

    return [(int(r[0]), r[1], r[2], r[3], experiencer(r[4])) for r in rows]


@pytest.fixture(params=["native", "omop"])
def notes_url(request: pytest.FixtureRequest, database_url: str) -> tuple[str, str]:
    return _database(database_url, request.param)


def _pipeline(linker_config: dict, **settings: object):  # type: ignore[no-untyped-def]
    return make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0, **settings)


def test_note_nlp_rows_carry_the_context_and_a_rerun_writes_nothing(notes_url, linker_config):  # type: ignore[no-untyped-def]
    url, table = notes_url
    nlp = _pipeline(linker_config)
    first = link_notes(url, nlp=nlp, batch_size=1)
    rows = _rows(url, table)
    assert _flags(rows) == KEEP and first.rows_written == len(KEEP) and first.rows_replaced == 0
    assert all(r[4].startswith("system=") and "negated=" in r[4] for r in rows)
    again = link_notes(url, nlp=nlp)
    assert (again.notes_linked_now, again.notes_already_linked, again.rows_written) == (0, 2, 0)
    assert _rows(url, table) == rows


def test_negated_drop_after_keep_replaces_the_rows(notes_url, linker_config):  # type: ignore[no-untyped-def]
    """The same pipeline with ``negated="drop"``: not skipped, and the negated rows are gone, none written twice."""
    url, table = notes_url
    nlp = _pipeline(linker_config)
    keep = link_notes(url, nlp=nlp)
    drop = link_notes(url, nlp=nlp, negated="drop")
    assert drop.run_key != keep.run_key and drop.notes_linked_now == 2 and drop.notes_already_linked == 0
    assert drop.rows_replaced == len(KEEP) and drop.skipped == {"negated mention (--negated drop)": 1}
    rows = _rows(url, table)
    assert _flags(rows) == [r for r in KEEP if r[1] != "headache"]  # the denied headache is gone, the mother's not
    assert len({r[5] for r in rows}) == 1 and not [k for k, n in Counter((r[0], r[1]) for r in rows).items() if n > 1]
    assert link_notes(url, nlp=nlp, negated="drop").rows_written == 0 and _rows(url, table) == rows
    back = link_notes(url, nlp=nlp, negated="keep")
    assert back.notes_linked_now == 2 and back.rows_replaced == len(rows) and _flags(_rows(url, table)) == KEEP


@pytest.mark.parametrize("setting", [{"context": False}, {"clinical_abbreviations": False}, {"extend_mentions": False},
                                     {"rerank": False}])
def test_every_linker_setting_that_changes_rows_is_in_the_key(tmp_path, linker_config, setting):  # type: ignore[no-untyped-def]
    url, table = _database(f"sqlite:///{tmp_path / 'notes.db'}", "native")
    first = link_notes(url, nlp=_pipeline(linker_config))
    other = link_notes(url, nlp=_pipeline(linker_config, **setting))
    assert other.run_key != first.run_key and other.notes_linked_now == 2 and other.rows_replaced == first.rows_written
    rows = _rows(url, table)
    assert len(rows) == other.rows_written and len({r[5] for r in rows}) == 1
    if "context" in setting:
        assert {(r[2], r[3]) for r in rows} == {(None, None)} and "negated=" not in rows[0][4]
    if "clinical_abbreviations" in setting:
        assert "T2DM" not in [r[1] for r in rows]


def test_rows_of_other_nlp_systems_are_never_replaced(tmp_path, linker_config):  # type: ignore[no-untyped-def]
    url, table = _database(f"sqlite:///{tmp_path / 'omop.db'}", "omop")
    link_notes(url, nlp=_pipeline(linker_config))
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {table} (note_nlp_id, note_id, lexical_variant, note_nlp_concept_id, nlp_system, nlp_date) "
                             "VALUES (900, 1, 'headache', 0, 'cTAKES 4.0', '2024-01-01')"))
    engine.dispose()
    link_notes(url, nlp=_pipeline(linker_config), negated="drop")
    rows = _rows(url, table)
    assert [r[1] for r in rows if r[5] == "cTAKES 4.0"] == ["headache"]
    assert [r[1] for r in rows if r[5] != "cTAKES 4.0"] == ["asthma", "high blood pressure", "T2DM", "CKD stage 3"]


def test_cli_reruns_with_other_context_settings_replace(tmp_path, linker_config):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    url, table = _database(f"sqlite:///{tmp_path / 'notes.db'}", "native")
    args = ["link-notes", url, "--model", linker_config["model"], "--index", linker_config["index"]["path"], "--threshold", "0"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "already linked:        2" in CliRunner().invoke(app, args).output
    plain = CliRunner().invoke(app, [*args, "--no-context", "--no-clinical-abbreviations"])
    assert plain.exit_code == 0 and "linked now:            2" in plain.output, plain.output
    assert "rows of earlier settings replaced" in plain.output
    rows = _rows(url, table)
    assert {(r[2], r[3]) for r in rows} == {(None, None)} and "T2DM" not in [r[1] for r in rows]
