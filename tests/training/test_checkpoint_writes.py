"""A write that fails mid-run (a full disk) is E1727 naming the folder, keeps the last checkpoint, and resumes.

The failure is real, not mocked: the run goes in a child process whose file-size limit
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored) makes the kernel refuse the checkpoint's
writes with ``EFBIG``, as a full disk refuses them with ``ENOSPC``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ehrfeat.training.checkpoint import LAST_CHECKPOINT, load_trainer_state
from ehrfeat.training.loop import train

resource = pytest.importorskip("resource")  # POSIX only

_RECIPE = Path(__file__).resolve().parents[2] / "ehrfeat" / "training" / "recipes" / "smoke.toml"


def _config(tmp_path: Path) -> Path:
    text = _RECIPE.read_text().replace("save_every = 0", "save_every = 2\nmax_steps = 6")
    assert "save_every = 2" in text
    path = tmp_path / "smoke_ckpt.toml"
    path.write_text(text + "\n")
    return path


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))  # the tiny model's weights are about 165 kB


@pytest.mark.slow
def test_a_checkpoint_that_cannot_be_written_is_e1727_and_the_run_resumes(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "run"
    train(cfg, out, stop_after=2, evaluate=False, progress=False)
    assert load_trainer_state(out)["step"] == 2  # type: ignore[index]
    before = {p.name: p.read_bytes() for p in (out / LAST_CHECKPOINT).iterdir() if p.is_file()}

    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "ehrfeat", "train", str(cfg), "-o", str(out), "--no-eval", "-q"]
    failed = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=_limit_file_size, timeout=600, check=False)
    assert failed.returncode == 2, failed.stderr[-2000:]
    assert "E1727" in failed.stderr and str(out) in failed.stderr and "free space" in failed.stderr
    assert "Traceback" not in failed.stderr
    # the half-written checkpoint is gone, the last good one is untouched, no final model was written
    assert not (out / f"{LAST_CHECKPOINT}.tmp").exists()
    assert {p.name: p.read_bytes() for p in (out / LAST_CHECKPOINT).iterdir() if p.is_file()} == before
    assert not (out / "ehrfeat_manifest.json").exists()

    resumed = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    manifest = json.loads((out / "ehrfeat_manifest.json").read_text())
    assert manifest["steps"] == 6
    assert not (out / LAST_CHECKPOINT).exists()
