"""A linking index folder changed by hand gives a clear E173 naming the folder (exit 2), never KeyError or ValueError."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import InputError
from ehrfeat.linking import load_index
from tests.helpers import make_native_db


def _meta(edit: Callable[[dict[str, Any]], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        meta = json.loads((folder / "index.json").read_text())
        changed = edit(meta)
        (folder / "index.json").write_text(json.dumps(meta if changed is None else changed))
    return apply


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text)


def _matrix(values: np.ndarray) -> Callable[[Path], None]:
    return lambda folder: np.save(folder / "matrix.npy", values)


TAMPERINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    "meta is a list": (_meta(lambda m: [m]), "not an object"),
    "no codes": (_meta(lambda m: m.pop("codes") and None), "'codes'"),
    "no texts": (_meta(lambda m: m.pop("texts") and None), "'texts'"),
    "no fingerprint": (_meta(lambda m: m.pop("fingerprint") and None), "'fingerprint'"),
    "fingerprint a number": (_meta(lambda m: m.update(fingerprint=7)), "'fingerprint'"),
    "codes not pairs": (_meta(lambda m: m.update(codes=[["ICD10CM"]] * len(m["codes"]))), "[system, code] pair"),
    "codes of numbers": (_meta(lambda m: m.update(codes=[[1, 2]] * len(m["codes"]))), "[system, code] pair"),
    "a code twice": (_meta(lambda m: m.update(codes=[m["codes"][0]] * len(m["codes"]))), "twice"),
    "texts of numbers": (_meta(lambda m: m.update(texts=list(range(len(m["texts"]))))), "texts"),
    "one text less": (_meta(lambda m: m.update(texts=m["texts"][1:])), "does not match"),
    "format 2": (_meta(lambda m: m.update(format=2)), "index format 2"),
    "not json": (_write("index.json", "{not json"), "cannot read"),
    "terms a dict": (_write("terms.json", '{"a": 1}'), "terms.json"),
    "matrix of text": (_matrix(np.array([["a"]])), "matrix"),
    "matrix 1-d": (_matrix(np.zeros(3, np.float32)), "matrix"),
    "matrix with NaN": (lambda f: np.save(f / "matrix.npy", np.full(np.load(f / "matrix.npy").shape, np.nan, np.float32)), "finite"),
    "matrix not npy": (_write("matrix.npy", "hello"), "cannot read"),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampered_index_is_a_clear_error(name: str, small_index_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    shutil.copytree(small_index_dir, folder)
    tamper, phrase = TAMPERINGS[name]
    tamper(folder)
    with pytest.raises(InputError) as info:
        load_index(folder)
    assert info.value.code == "E173" and str(folder) in str(info.value) and phrase in str(info.value)


def test_cli_with_a_tampered_index_exits_2_and_writes_nothing(small_index_dir: Path, tiny_onnx_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    shutil.copytree(small_index_dir, folder)
    _meta(lambda m: m.pop("codes") and None)(folder)
    db = make_native_db(tmp_path / "p.db", [(1, "2020-01-01", "ICD10CM", "E11.9", None)])
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER, time TEXT, text TEXT)")
    con.execute("INSERT INTO notes VALUES (1, 1, '2020-01-01', 'type 2 diabetes mellitus')")
    con.commit()
    con.close()
    before = db.read_bytes()
    result = CliRunner().invoke(app, ["link-notes", str(db), "--model", str(tiny_onnx_model), "--index", str(folder)])
    assert result.exit_code == 2, result.output
    assert "E173" in result.output and "Traceback" not in result.output
    assert db.read_bytes() == before
