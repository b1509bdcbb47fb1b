"""link-notes: over-long and undecodable notes never stop a run; bookkeeping is keyed by encoder, index and settings."""

from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.linking import load_index, save_index
from ehrfeat.linking.code_index import LinkingIndex
from ehrfeat.linking.notes import BAD_TEXT, link_notes, make_pipeline
from ehrfeat.store.embeddings import CodeEmbeddings
from tests.helpers import execute, fetch_all, make_native_url

GOOD = "Type 2 diabetes mellitus, well controlled. Asthma, unspecified."


def _db(url: str, notes: list[tuple[int, str | bytes]]) -> str:
    db = make_native_url(url, [(1, "2021-01-01", "ICD10CM", "E11.9", None)])
    execute(db, "CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, time TEXT, text TEXT)")
    for note_id, text in notes:
        value = "CAST(:t AS TEXT)" if isinstance(text, bytes) else ":t"  # bytes: SQLite keeps them as (invalid) text
        execute(db, f"INSERT INTO notes VALUES (:n, 1, NULL, {value})", [{"n": note_id, "t": text}])
    return db


def _pipeline(linker_config: dict, index: dict | None = None, threshold: float = 0.0):  # type: ignore[no-untyped-def]
    return make_pipeline(model=linker_config["model"], index=index or linker_config["index"], systems=[], threshold=threshold)


def _count(db: str, sql: str) -> int:
    return int(fetch_all(db, sql)[0][0])


def test_a_note_over_spacys_limit_is_linked_in_windows_with_offsets_in_the_whole_note(new_database, linker_config):  # type: ignore[no-untyped-def]
    sentence = "Type 2 diabetes mellitus, well controlled. Asthma, unspecified. "
    long = sentence * 12 + "No history of asthma.\n" + sentence * 12  # 1,557 characters
    db = _db(new_database(), [(1, GOOD), (2, long)])
    db_q = _db(new_database(), [(1, GOOD), (2, long)])
    whole = link_notes(db_q, nlp=_pipeline(linker_config))  # under the limit: one doc
    nlp = _pipeline(linker_config)
    nlp.max_length = 200  # spaCy's limit, made small: the long note goes in windows of at most 200 characters
    report = link_notes(db, nlp=nlp)
    assert report.notes_linked_now == 2 and report.skipped == {}
    assert list(report.repaired.values()) == [1] and "windows" in next(iter(report.repaired))
    query = 'SELECT note_id, "offset", lexical_variant FROM note_nlp ORDER BY 1, CAST("offset" AS INTEGER)'
    rows, expected = fetch_all(db, query), fetch_all(db_q, query)
    texts = {1: GOOD, 2: long}
    assert rows and all(texts[n][int(o) : int(o) + len(v)] == v for n, o, v in rows)  # offsets point into the whole note
    assert max(int(o) for n, o, _ in rows if n == 2) > 1000
    assert rows == expected and whole.mentions == report.mentions  # windows end at sentence ends: the same mentions


def test_max_note_chars_skips_and_counts_longer_notes(backend_url, linker_config):  # type: ignore[no-untyped-def]
    db2 = _db(backend_url, [(1, GOOD), (3, GOOD + " " + "x" * 300)])
    first = link_notes(db2, nlp=_pipeline(linker_config), max_note_chars=100)
    assert first.notes_linked_now == 1
    assert first.skipped == {"note longer than 100 characters (left unlinked; raise the limit with --max-note-chars)": 1}
    second = link_notes(db2, nlp=_pipeline(linker_config), max_note_chars=1000)
    assert second.notes_linked_now == 1 and second.notes_already_linked == 1  # the long one, now linked


@pytest.mark.sqlite_only  # invalid UTF-8 in a TEXT column: only SQLite stores it (PostgreSQL and DuckDB refuse it)
def test_undecodable_note_text_is_linked_and_counted(tmp_path, linker_config):  # type: ignore[no-untyped-def]
    db = _db(f"sqlite:///{tmp_path / 'p.db'}", [(1, GOOD), (2, b"Asthma, unspecified. Caf\xe9 au lait spots.")])
    report = link_notes(db, nlp=_pipeline(linker_config))
    assert report.notes_linked_now == 2 and report.repaired == {BAD_TEXT: 1}
    assert any("repaired" in line for line in report.lines())
    assert _count(db, "SELECT count(*) FROM note_nlp WHERE note_id = 2") >= 1


def test_another_threshold_or_index_links_again_the_same_setting_does_not(backend_url, tmp_path, linker_config):  # type: ignore[no-untyped-def]
    db = _db(backend_url, [(1, GOOD), (2, "Headache for three days; high blood pressure noted.")])
    strict = link_notes(db, nlp=_pipeline(linker_config, threshold=0.999999))
    assert strict.notes_linked_now == 2
    loose = link_notes(db, nlp=_pipeline(linker_config, threshold=0.0))
    assert loose.notes_linked_now == 2 and loose.run_key != strict.run_key
    assert link_notes(db, nlp=_pipeline(linker_config, threshold=0.0)).notes_linked_now == 0
    # a "broken" index (same codes, other vectors) has another key: a later good run is not skipped
    good = load_index(linker_config["index"]["path"])
    rng = np.random.default_rng(0)
    broken = LinkingIndex(CodeEmbeddings(good.fingerprint, good.embeddings.codes, good.embeddings.texts,
                                         rng.normal(size=good.embeddings.matrix.shape).astype(np.float32)), good.terms, good.source)
    path = save_index(broken, tmp_path / "broken-index")
    other = link_notes(db, nlp=_pipeline(linker_config, index={"path": str(path)}))
    assert other.notes_linked_now == 2 and other.run_key not in (strict.run_key, loose.run_key)
    # each setting replaced the rows of the one before: the notes' rows and bookkeeping are the last run's only
    assert other.rows_replaced == loose.rows_written and other.rows_replaced > 0
    assert _count(db, "SELECT count(DISTINCT run_key) FROM ehrfeat_note_runs") == 1
    assert _count(db, "SELECT count(*) FROM note_nlp") == other.rows_written
    assert _count(db, f"SELECT count(*) FROM note_nlp WHERE nlp_system LIKE '%run={other.run_key[:12]}'") == other.rows_written


@pytest.mark.parametrize("limit", [0, -5])
def test_a_bad_limit_is_an_error(tmp_path, linker_config, limit):  # type: ignore[no-untyped-def]
    from ehrfeat.errors import InputError

    db = _db(f"sqlite:///{tmp_path / 'p.db'}", [(1, GOOD)])  # refused before the database is read: one backend is enough
    with pytest.raises(InputError, match="max_note_chars"):
        link_notes(db, nlp=_pipeline(linker_config), max_note_chars=limit)
