"""kill -9 in the middle of every writer, then run again: no duplicate or partial rows, the same result as one clean run.

Each writer runs the real ``ehrfeat`` command in a child process (:data:`KILL_SCRIPT`) that
SIGKILLs itself at a chosen point: inside a write transaction (after the N-th INSERT into a
table), or just before or just after a named function (a file written but not yet renamed
into place). The parent checks what the kill left, runs the command again in-process, and
compares with a run that was never interrupted. (embed-codes: tests/test_embed.py.)
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from tests.helpers import make_native_db

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

KILL_SCRIPT = """
import importlib, os, signal, sys
import sqlalchemy as sa

mode, where, count, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
seen = 0

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "insert":  # the count-th INSERT INTO the table: inside its transaction, not committed
    def after_execute(conn, cursor, statement, *rest):
        global seen
        if statement.lstrip().upper().startswith("INSERT INTO " + where.upper()):
            seen += 1
            if seen == count:
                die()
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", after_execute)
else:  # before or after the count-th call of module:function
    module_name, attr = where.split(":")
    module = importlib.import_module(module_name)
    original = getattr(module, attr)
    def wrapped(*a, **k):
        global seen
        seen += 1
        if mode == "before" and seen == count:
            die()
        out = original(*a, **k)
        if mode == "after" and seen == count:
            die()
        return out
    setattr(module, attr, wrapped)

from ehrfeat.cli.main import app
app(args)
"""


def _killed(tmp_path: Path, mode: str, where: str, count: int, args: list[str]) -> None:
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script), mode, where, str(count), *args], env=env, capture_output=True, timeout=600)
    assert proc.returncode == -9, (proc.returncode, proc.stderr.decode()[-3000:])


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return [tuple(r) for r in con.execute(sql)]
    finally:
        con.close()


def _tables(db: Path) -> set[str]:
    return {r[0] for r in _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


# -- link-notes ---------------------------------------------------------------------------------
NOTES = [f"Patient {i} has type 2 diabetes mellitus and essential hypertension; no asthma." for i in range(12)]
NLP_ROWS = "SELECT note_id, \"offset\", lexical_variant, code_system, code, term_exists FROM note_nlp ORDER BY 1, 2, 3, 4, 5"


def _notes_db(path: Path) -> Path:
    make_native_db(path, [(1, "2020-01-01", "ICD10CM", "E11.9", None)])
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER, time TEXT, text TEXT)")
    con.executemany("INSERT INTO notes VALUES (?, 1, '2020-01-01', ?)", list(enumerate(NOTES, 1)))
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def link_index(tiny_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ehrfeat.linking import build_index, save_index
    from ehrfeat.models import load_encoder
    from ehrfeat.vocab import Vocabulary

    vocab = Vocabulary()
    vocab.add("ICD10CM", "E11.9", "Type 2 diabetes mellitus", ["diabetes mellitus"])
    vocab.add("ICD10CM", "I10", "Essential (primary) hypertension", ["essential hypertension"])
    vocab.add("ICD10CM", "J45.909", "Asthma, unspecified", ["asthma"])
    return save_index(build_index(vocab, load_encoder(tiny_onnx), source="kill test"), tmp_path_factory.mktemp("kidx") / "idx")


@pytest.mark.parametrize(("mode", "where", "count"), [("insert", "note_nlp", 2), ("after", "ehrfeat.linking.notes:write_batch", 2)])
def test_link_notes_killed_then_rerun(mode: str, where: str, count: int, tiny_onnx: Path, link_index: Path, tmp_path: Path) -> None:
    clean, killed = _notes_db(tmp_path / "clean.db"), _notes_db(tmp_path / "killed.db")
    args = ["--model", str(tiny_onnx), "--index", str(link_index), "--threshold", "0", "--batch-size", "3"]
    _run(["link-notes", str(clean), *args])
    _killed(tmp_path, mode, where, count, ["link-notes", str(killed), *args])
    partial = _rows(killed, "SELECT DISTINCT note_id FROM note_nlp") if "note_nlp" in _tables(killed) else []
    assert len(partial) == (3 if mode == "insert" else 6)  # whole committed batches only
    out = _run(["link-notes", str(killed), *args])
    assert f"already linked:        {len(partial)}" in out
    expected = _rows(clean, NLP_ROWS)
    assert expected and _rows(killed, NLP_ROWS) == expected
    keys = _rows(killed, "SELECT note_id, run_key FROM ehrfeat_note_runs")
    assert len(keys) == len(set(keys)) == len(NOTES)


# -- import-omop --------------------------------------------------------------------------------
def _omop_csv(folder: Path) -> Path:
    folder.mkdir()
    (folder / "PERSON.csv").write_text("person_id,gender_concept_id,year_of_birth\n" + "".join(f"{i},8507,19{i % 90 + 10}\n" for i in range(1, 41)))
    (folder / "CONDITION_OCCURRENCE.csv").write_text(
        "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_source_value\n"
        + "".join(f"{i},{i % 40 + 1},201826,2020-01-{i % 28 + 1:02d},E11.9\n" for i in range(1, 301)))
    return folder


@pytest.mark.parametrize("table", ["person", "condition_occurrence"])  # killed in the first table's INSERT, and in the last's
def test_import_omop_killed_then_rerun(table: str, tmp_path: Path) -> None:
    source = _omop_csv(tmp_path / "csv")
    clean, killed = tmp_path / "clean.db", tmp_path / "killed.db"
    _run(["import-omop", str(source), str(clean)])
    _killed(tmp_path, "insert", table, 1, ["import-omop", str(source), str(killed)])
    assert not killed.exists() or not _tables(killed)  # one transaction: nothing of the killed run is left
    _run(["import-omop", str(source), str(killed)])
    for table in ("person", "condition_occurrence"):
        assert _rows(killed, f"SELECT * FROM {table} ORDER BY 1") == _rows(clean, f"SELECT * FROM {table} ORDER BY 1")


# -- patient-vectors ------------------------------------------------------------------------------
@pytest.fixture
def embedded_db(tiny_onnx: Path, tmp_path: Path) -> Path:
    events = [(p, f"2020-0{m}-01", "ICD10CM", c, None) for p in range(1, 6) for m, c in enumerate(["E11.9", "I10", "J45.909"], 1)]
    db = make_native_db(tmp_path / "p.db", events)
    _run(["embed-codes", str(db), "--model", str(tiny_onnx), "--no-progress"])
    return db


@pytest.mark.parametrize(("suffix", "where"), [(".parquet", "pyarrow.parquet:write_table"), (".npy", "numpy:save")])
def test_patient_vectors_killed_while_writing(suffix: str, where: str, embedded_db: Path, tmp_path: Path) -> None:
    from ehrfeat.patients.output import read_vectors

    clean, out = tmp_path / f"clean{suffix}", tmp_path / f"v{suffix}"
    _run(["patient-vectors", str(embedded_db), "--out", str(clean)])
    out.write_bytes(clean.read_bytes())  # an earlier run's file: kept whole when the next run is killed
    before = out.read_bytes()
    _killed(tmp_path, "after", where, 1, ["patient-vectors", str(embedded_db), "--out", str(out), "--weighting", "count"])
    assert out.read_bytes() == before
    _run(["patient-vectors", str(embedded_db), "--out", str(out)])
    a, b = read_vectors(out), read_vectors(clean)
    assert a.patient_ids.tolist() == b.patient_ids.tolist() and np.array_equal(a.matrix, b.matrix)


# -- build-index ----------------------------------------------------------------------------------
def test_build_index_killed_before_the_swap_keeps_the_old_index(embedded_db: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    from ehrfeat.linking import load_index

    clean, target = tmp_path / "clean", tmp_path / "idx"
    args = ["--model", str(tiny_onnx), "--db", str(embedded_db)]
    _run(["build-index", str(clean), *args])
    _run(["build-index", str(target), *args])
    meta = json.loads((target / "index.json").read_text())
    meta["source"] = "the old index"
    (target / "index.json").write_text(json.dumps(meta))
    for mode in ("before", "after"):  # killed before the swap, and just after it
        _killed(tmp_path, mode, "ehrfeat.linking.code_index:replace_folder", 1, ["build-index", str(target), *args])
        kept = load_index(target)
        assert kept.source == ("the old index" if mode == "before" else load_index(clean).source)
        assert len(kept) == len(load_index(clean))
    _run(["build-index", str(target), *args])
    new, want = load_index(target), load_index(clean)
    assert new.embeddings.codes == want.embeddings.codes and np.array_equal(new.embeddings.matrix, want.embeddings.matrix)
    assert sorted(p.name for p in target.iterdir()) == ["index.json", "matrix.npy", "terms.json"]


# -- MEDS embed-codes -----------------------------------------------------------------------------
def test_meds_embed_killed_while_writing(tiny_onnx: Path, tmp_path: Path) -> None:
    from ehrfeat.store.meds.code_vectors import read_code_vectors
    from tests.meds_data import write_events

    clean, killed = write_events(tmp_path / "clean"), write_events(tmp_path / "killed")
    _run(["embed-codes", str(clean), "--model", str(tiny_onnx), "--no-progress"])
    _killed(tmp_path, "after", "pyarrow.parquet:write_table", 1, ["embed-codes", str(killed), "--model", str(tiny_onnx), "--no-progress"])
    target = killed / "metadata" / "ehrfeat_code_embeddings.parquet"
    assert not target.exists()  # written beside, never renamed in: no half file
    _run(["embed-codes", str(killed), "--model", str(tiny_onnx), "--no-progress"])
    a, b = read_code_vectors(target), read_code_vectors(clean / "metadata" / "ehrfeat_code_embeddings.parquet")
    assert a.codes == b.codes and np.array_equal(a.matrix, b.matrix)
