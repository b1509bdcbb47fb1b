"""build-index never deletes what it did not create (was: ``shutil.rmtree`` of any existing OUT_DIR)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import InputError
from ehrfeat.linking import load_index, save_index
from ehrfeat.linking.code_index import INDEX_FILES
from tests.helpers import snapshot


def _user_folder(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "patients.db").write_bytes(b"SQLite format 3\x00 pretend")
    (work / "notes.txt").write_text("mine")
    (work / "sub" / "x.csv").write_text("a,b\n")
    return work


@pytest.mark.parametrize("extra", [None, "index.json"])
def test_cli_refuses_a_folder_that_is_not_an_index_and_touches_nothing(tmp_path, monkeypatch, extra):
    work = _user_folder(tmp_path)
    if extra:  # an index.json that is not ours, beside user files
        (work / extra).write_text("{}")
    before = snapshot(work)
    monkeypatch.chdir(work)
    for target in (str(work), "."):
        result = CliRunner().invoke(app, ["build-index", target, "--model", "/no/such/model"])
        assert result.exit_code == 2, result.output
        assert "E1201" in result.output and "not empty" in result.output and "choose a new or empty folder" in result.output
        assert "Traceback" not in result.output
    assert snapshot(work) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no scratch folder left beside it


def test_cli_refuses_a_file_and_an_unwritable_place_before_loading_a_model(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep")
    for out, phrase in ((target, "is a file"), (target / "idx", "is a file"), (Path("/proc/ehrfeat-idx"), "not writable")):
        result = CliRunner().invoke(app, ["build-index", str(out), "--model", "/no/such/model"])
        assert result.exit_code == 2, result.output
        assert phrase in result.output and "Traceback" not in result.output
    assert target.read_text() == "keep"


def test_old_index_is_replaced_and_empty_folder_filled(small_index_dir, tmp_path):
    index = load_index(small_index_dir)
    target = save_index(index, tmp_path / "idx")
    meta = json.loads((target / "index.json").read_text())
    meta["source"] = "old"
    (target / "index.json").write_text(json.dumps(meta))
    save_index(index, target)  # an old index: replaced
    assert load_index(target).source == index.source
    assert sorted(p.name for p in target.iterdir()) == sorted(INDEX_FILES)
    empty = tmp_path / "empty"
    empty.mkdir()
    inode = empty.stat().st_ino
    save_index(index, empty)
    assert empty.stat().st_ino == inode and load_index(empty).embeddings.codes == index.embeddings.codes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "idx"]


def test_an_index_folder_with_a_user_file_in_it_is_refused(small_index_dir, tmp_path):
    target = save_index(load_index(small_index_dir), tmp_path / "idx")
    (target / "my-notes.txt").write_text("mine")
    before = snapshot(target)
    with pytest.raises(InputError, match="E1201"):
        save_index(load_index(small_index_dir), target)
    assert snapshot(target) == before


def test_a_failed_write_keeps_the_old_index(small_index_dir, tmp_path, monkeypatch):
    target = save_index(load_index(small_index_dir), tmp_path / "idx")
    before = snapshot(target)

    def broken_save(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError):
        save_index(load_index(small_index_dir), target)
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]
    assert not any(name.startswith(".") for name in os.listdir(tmp_path))
