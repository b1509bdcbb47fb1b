from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ehrfeat.embed import embed_codes
from ehrfeat.models import load_encoder
from tests.helpers import fetch_all, has_table, make_native_url

ICD10 = ["E11.9", "E11.65", "E10.9", "I10", "I50.9", "J44.1", "F32.9", "C50.911", "O09.90", "N18.3", "E66.9", "E78.5"]


def _write(url: str) -> str:
    events = [(p, f"2020-01-{1 + p % 28:02d}", "ICD10CM", code, None) for p, code in enumerate(ICD10 * 3)]
    events += [
        (100, "2021-03-01", "icd10cm", "e119", None),  # odd forms of E11.9
        (101, "2021-03-01", "ICD10CM", " E11.9 ", None),
        (102, "2021-03-01", "ICD9CM", "4280", None),  # built-in ICD-9-CM text
        (103, "2021-03-01", "LOCAL", "LAB-42", 7.5),  # in the database vocabulary
        (104, "2021-03-01", "LOCAL", "LAB-99", 1.0),  # no text anywhere
        (105, "2021-03-01", "ICD10CM", "not a code", None),  # malformed
    ]
    return make_native_url(url, events, [("LOCAL", "LAB-42", "Serum potassium"), ("ICD10CM", "I10", "High blood pressure (local wording)")])


@pytest.fixture
def db(backend_url: str) -> str:
    """The database on SQLite, then PostgreSQL, then DuckDB."""
    return _write(backend_url)


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    return load_encoder(tiny_bert)


def _rows(db: str, table: str = "code_embeddings") -> list[tuple]:
    return fetch_all(db, f"SELECT code_system, code, text, fingerprint FROM {table} ORDER BY 1, 2")


def test_embeds_every_code_with_text_once(db, encoder):
    report = embed_codes(db, encoder=encoder, batch_size=4)
    rows = _rows(db)
    keys = [(s, c) for s, c, _, _ in rows]
    assert len(keys) == len(set(keys)) == report.embedded_now == len(ICD10) + 2
    assert ("ICD10CM", "E11.9") in keys and ("ICD9CM", "428.0") in keys and ("LOCAL", "LAB-42") in keys
    texts = {(s, c): t for s, c, t, _ in rows}
    assert texts[("ICD10CM", "I10")] == "High blood pressure (local wording)"  # the database's own text wins
    assert "heart failure" in texts[("ICD9CM", "428.0")].lower()  # built-in ICD-9-CM dictionary
    assert report.codes_found == len(ICD10) + 3
    assert sum(report.unresolved.values()) == 1
    assert any("LOCAL:LAB-99" in ex for ex in report.unresolved_examples.values())
    assert sum(report.skipped.values()) >= 1  # the malformed code is counted, not dropped silently
    # the reason says where the description goes (an OMOP database says CONCEPT)
    assert report.unresolved_examples == {"no description in the vocabulary table, and no built-in dictionary for LOCAL": ["LOCAL:LAB-99"]}


def test_a_phecode_without_its_folder_names_the_variable(monkeypatch):
    from ehrfeat.codes import PHECODE, SNOMED
    from ehrfeat.vocab.builtin import PHECODE_DIR_ENV, BuiltinDictionaries

    monkeypatch.delenv(PHECODE_DIR_ENV, raising=False)
    builtin = BuiltinDictionaries()
    assert builtin.missing_reason(PHECODE, "CONCEPT") == (
        "no description in CONCEPT; the built-in PHECODE dictionary reads pheinfo.csv from $EHRFEAT_PHECODE_DIR (not set)")
    assert builtin.missing_reason(SNOMED, "CONCEPT") == "no description in CONCEPT, and no built-in dictionary for SNOMED"


def test_second_run_reports_all_cached(db, encoder):
    first = embed_codes(db, encoder=encoder)
    second = embed_codes(db, encoder=encoder)
    assert second.embedded_now == 0
    assert second.already_cached == first.embedded_now
    assert len(_rows(db)) == first.embedded_now


def test_codes_another_run_wrote_meanwhile_count_as_cached(db, encoder):
    """A second run that writes the same codes between this run's cache read and its write: its rows
    are kept, and this run counts them as cached, so found = embedded now + cached + unresolved."""

    class RacedEncoder:
        fingerprint, dim = encoder.fingerprint, encoder.dim
        raced = False

        def encode(self, texts, **kwargs):
            if not self.raced:
                self.raced = True
                embed_codes(db, encoder=encoder)  # the other run, to the end
            return encoder.encode(texts, **kwargs)

    report = embed_codes(db, encoder=RacedEncoder())
    rows = _rows(db)
    assert len(rows) == len({(s, c) for s, c, *_ in rows}) == len(ICD10) + 2
    assert report.embedded_now == 0
    assert report.already_cached == len(ICD10) + 2
    assert report.embedded_now + report.already_cached + sum(report.unresolved.values()) == report.codes_found


def test_other_encoder_is_kept_apart(db, encoder, tmp_path):
    from ehrfeat.training.tiny_model import make_tiny_bert

    other = load_encoder(make_tiny_bert(tmp_path / "other", seed=1))
    assert other.fingerprint != encoder.fingerprint
    n = embed_codes(db, encoder=encoder).embedded_now
    assert embed_codes(db, encoder=other).embedded_now == n
    fingerprints = {fp for *_, fp in _rows(db)}
    assert fingerprints == {encoder.fingerprint, other.fingerprint}


def test_systems_filter_and_out_database(db, encoder, new_database):
    out = new_database()  # a second database of the same backend
    report = embed_codes(db, encoder=encoder, systems=["icd9"], out=out, table="vectors")
    assert report.embedded_now == 1
    assert [(s, c) for s, c, *_ in _rows(out, "vectors")] == [("ICD9CM", "428.0")]
    assert not has_table(db, "vectors") and has_table(out, "vectors")


KILL_SCRIPT = """
import os, signal, sys
import sqlalchemy as sa
from ehrfeat.embed import embed_codes
from ehrfeat.models import load_encoder

db, model, mode = sys.argv[1], sys.argv[2], sys.argv[3]
encoder = load_encoder(model)
inserts = 0

def kill_inside_transaction(conn, cursor, statement, *args):
    global inserts
    if statement.lstrip().upper().startswith("INSERT INTO CODE_EMBEDDINGS"):
        inserts += 1
        if inserts == 2:  # the second batch is inserted but not committed
            os.kill(os.getpid(), signal.SIGKILL)

def kill_between_batches(done, total):
    if done >= 8:
        os.kill(os.getpid(), signal.SIGKILL)

def kill_after_copy(copy_rows):  # PostgreSQL writes with COPY, not INSERT: die after the second COPY, uncommitted
    def wrapped(*args, **kwargs):
        global inserts
        copy_rows(*args, **kwargs)
        inserts += 1
        if inserts == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return wrapped

if mode == "in-transaction":
    import ehrfeat.store.embeddings as embeddings
    embeddings._copy_rows = kill_after_copy(embeddings._copy_rows)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", kill_inside_transaction)
    embed_codes(db, encoder=encoder, batch_size=4)
else:
    embed_codes(db, encoder=encoder, batch_size=4, on_batch=kill_between_batches)
"""


@pytest.mark.parametrize("new_database", ["sqlite", "postgresql"], indirect=True)  # DuckDB left out: CI time
@pytest.mark.parametrize("mode", ["in-transaction", "between-batches"])
def test_killed_run_resumes_with_exactly_one_row_per_code(db, encoder, tiny_bert, tmp_path, mode):
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, str(script), str(db), str(tiny_bert), mode], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    partial = _rows(db)
    assert len(partial) == (4 if mode == "in-transaction" else 8)  # only whole committed batches
    report = embed_codes(db, encoder=encoder, batch_size=4)
    rows = _rows(db)
    keys = [(s, c) for s, c, *_ in rows]
    assert len(keys) == len(set(keys)) == len(ICD10) + 2
    assert report.already_cached == len(partial)
    assert report.embedded_now == len(ICD10) + 2 - len(partial)


@pytest.mark.sqlite_only  # import-omop of the real Synthea extract; both backends: tests/store/test_database_backends.py
def test_import_omop_then_embed_codes_on_synthea(shared_data, encoder, tmp_path):
    from ehrfeat.store import import_omop

    db = tmp_path / "synthea.db"
    import_omop(shared_data / "omop" / "Synthea27Nj_5.4.zip", db)
    report = embed_codes(db, encoder=encoder, batch_size=128)
    assert report.codes_found == report.embedded_now > 300
    assert report.text_sources == {"database": report.embedded_now}
    systems = {s for s, *_ in _rows(db)}
    assert {"SNOMED", "RxNorm", "LOINC"} <= systems
    assert embed_codes(db, encoder=encoder).already_cached == report.codes_found
