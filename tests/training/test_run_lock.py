"""One training run per output folder: the second is refused (E1726) and writes nothing."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from ehrfeat.errors import InputError
from ehrfeat.training.checkpoint import LAST_CHECKPOINT
from ehrfeat.training.config import parse_config
from ehrfeat.training.loop import train
from ehrfeat.training.run_lock import LOCK_FILE, run_lock


def _config(base: Path):  # type: ignore[no-untyped-def]
    return parse_config({
        "name": "toy",
        "sources": [{"name": "toy", "reader": "icd10cm"}],
        "model": {"base": str(base), "pooling": "mean", "max_length": 16},
        "training": {"lr": 1e-3, "batch_size": 16, "epochs": 1, "seed": 0, "save_every": 2},
        "pairs": {"heldout_fraction": 0.3},
    })


def test_a_second_holder_is_refused_and_the_lock_file_goes_at_the_end(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())
        with pytest.raises(InputError) as err, run_lock(tmp_path):  # a second open file: flock refuses it
            pass
        assert err.value.code == "E1726" and str(tmp_path) in err.value.message and f"process {os.getpid()}" in err.value.message
        assert (tmp_path / LOCK_FILE).is_file()  # the refused one took nothing away
    assert not (tmp_path / LOCK_FILE).exists()
    with pytest.raises(RuntimeError), run_lock(tmp_path):  # a run that fails lets go too
        raise RuntimeError("boom")
    assert not (tmp_path / LOCK_FILE).exists()
    with run_lock(tmp_path):  # and the folder can be taken again
        pass


def test_train_refuses_a_folder_another_run_holds(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    train(_config(tiny_bert), out, sources=[toy_factory()], stop_after=2, evaluate=False, progress=False)
    assert (out / LAST_CHECKPOINT).is_dir() and not (out / LOCK_FILE).exists()
    with open(out / LOCK_FILE, "a+", encoding="utf-8") as other:  # another run (its own open file) holds the folder
        other.write("4242")
        other.flush()
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*")}
        with pytest.raises(InputError) as err:
            train(_config(tiny_bert), out, sources=[toy_factory()], evaluate=False, progress=False)
        assert err.value.code == "E1726" and "process 4242" in err.value.message
    after = {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*")}
    assert after == before  # the refused run wrote nothing
    # the other run was killed: its lock file stays behind, unlocked, and the next run takes over and finishes
    done = train(_config(tiny_bert), out, sources=[toy_factory()], evaluate=False, progress=False)
    assert (done / "model.safetensors").is_file() and not (done / LOCK_FILE).exists() and not (done / LAST_CHECKPOINT).exists()


def test_a_folder_left_with_only_a_stale_lock_file_is_a_run_folder(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "killed"
    out.mkdir()
    (out / LOCK_FILE).write_text("999999")  # a run killed before its first checkpoint
    done = train(_config(tiny_bert), out, sources=[toy_factory()], evaluate=False, progress=False)
    assert (done / "model.safetensors").is_file() and not (done / LOCK_FILE).exists()
