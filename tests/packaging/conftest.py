"""Run ehrfeat in a subprocess with chosen modules made unimportable (tests/packaging/shim/sitecustomize.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIM = Path(__file__).parent / "shim"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_blocked() -> Run:
    """``run_blocked(blocked, *python_args)``: ``python *args`` with the ``blocked`` modules not importable
    (the user cache is the caller's, so the shipped model's CPU variants are derived once per run)."""
    def run(blocked: Sequence[str], *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SHIM), str(ROOT)]),
            "EHRFEAT_TEST_BLOCK": ",".join(blocked),
        }
        return subprocess.run(
            [sys.executable, *args], cwd=cwd or ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    return run


@pytest.fixture(scope="session")
def small_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-patient demo database (native schema, notes, ICD-9-CM and HPO codes)."""
    from ehrfeat.demo import make_demo_db

    path = tmp_path_factory.mktemp("demo") / "patients.db"
    make_demo_db(path, n_patients=60, seed=3)
    return path
