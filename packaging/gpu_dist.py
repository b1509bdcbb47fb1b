"""Build ehrfeat-gpu: the same code as ehrfeat, depending on onnxruntime-gpu instead of onnxruntime.

    python packaging/gpu_dist.py dist/          # dist/ehrfeat_gpu-<version>.tar.gz and .whl

onnxruntime and onnxruntime-gpu install the same ``onnxruntime`` module and must never
share an environment, and an extra can only add packages, never swap one. So, as
fastembed / fastembed-gpu do, the GPU build is a second distribution built from this
tree: the project name becomes ``ehrfeat-gpu``, ``onnxruntime`` becomes ``onnxruntime-gpu``
(also inside ``optimum-onnx[...]``), and self-references ``ehrfeat[extra]`` become
``ehrfeat-gpu[extra]``. Users install one or the other:

    pip install ehrfeat          # CPU
    pip install ehrfeat-gpu      # NVIDIA GPU (CUDA 12, cuDNN 9); never both in one environment
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["GPU_NAME", "build_gpu_dist", "gpu_extras_module", "gpu_pyproject"]

GPU_NAME = "ehrfeat-gpu"
ROOT = Path(__file__).resolve().parents[1]
_COPIED = ("ehrfeat", "pyproject.toml", "README.md")


def gpu_pyproject(text: str) -> str:
    """``pyproject.toml`` of ehrfeat rewritten for ehrfeat-gpu; raises if a rewrite found nothing to change."""
    rules = (
        (r'(?m)^name = "ehrfeat"$', f'name = "{GPU_NAME}"'),
        (r'"onnxruntime>=', '"onnxruntime-gpu>='),
        (r"optimum-onnx\[onnxruntime\]", "optimum-onnx[onnxruntime-gpu]"),
        (r'"ehrfeat\[', f'"{GPU_NAME}['),
    )
    for pattern, replacement in rules:
        text, n = re.subn(pattern, replacement, text)
        if n == 0:
            raise ValueError(f"pyproject.toml has no {pattern!r} to rewrite for {GPU_NAME}")
    if re.search(r'"onnxruntime[>=<~\[]', text):
        raise ValueError(f"pyproject.toml still names the CPU onnxruntime after the {GPU_NAME} rewrite")
    return text


def gpu_extras_module(text: str) -> str:
    """``ehrfeat/extras.py`` with error messages that say ``pip install "ehrfeat-gpu[extra]"``."""
    new, n = re.subn(r'(?m)^DISTRIBUTION = "ehrfeat"', f'DISTRIBUTION = "{GPU_NAME}"', text)
    if n != 1:
        raise ValueError("ehrfeat/extras.py has no DISTRIBUTION line to rewrite")
    return new


def build_gpu_dist(out: Path, root: Path = ROOT) -> list[Path]:
    """Build the ehrfeat-gpu sdist and wheel of ``root`` into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ehrfeat-gpu-") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        for name in _COPIED:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, tree / name)
        (tree / "pyproject.toml").write_text(gpu_pyproject((root / "pyproject.toml").read_text()))
        extras = tree / "ehrfeat" / "extras.py"
        extras.write_text(gpu_extras_module(extras.read_text()))
        before = set(out.iterdir())
        subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(tree)], check=True)
    return sorted(set(out.iterdir()) - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the ehrfeat-gpu sdist and wheel")
    args = parser.parse_args()
    for path in build_gpu_dist(args.out):
        print(path)


if __name__ == "__main__":
    main()
