"""The runtime path must not import torch; core must not import training or export code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUNTIME_MODULES = [
    "ehrfeat",
    "ehrfeat.codes",
    "ehrfeat.vocab",
    "ehrfeat.store",
    "ehrfeat.embed",
    "ehrfeat.index",
    "ehrfeat.similar",
    "ehrfeat.models",
    "ehrfeat.onnx",
    "ehrfeat.cli.main",
]

FORBIDDEN = ["torch", "transformers", "sentence_transformers", "optimum", "ehrfeat.training", "ehrfeat.export"]


def test_runtime_modules_import_no_torch():
    code = (
        "import importlib, sys\n"
        f"for m in {RUNTIME_MODULES!r}: importlib.import_module(m)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"runtime path imported: {out.stdout.strip()}"


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed")
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
