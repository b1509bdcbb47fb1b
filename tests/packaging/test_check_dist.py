"""packaging/check_dist.py: a wheel must ship the model (hashes as its manifest says) and no test or fetched data."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from types import ModuleType

from tests.helpers import packaging_script

MODEL = "ehrfeat/models/hiprbert-mini"


def _check_dist() -> ModuleType:
    return packaging_script("check_dist")


def _wheel(path: Path, *, extra: dict[str, bytes] | None = None, graph: bytes = b"graph", requires: str = "onnxruntime>=1.18") -> Path:
    manifest = {"variants": [{"name": "fp16", "file": "onnx/model_fp16.onnx", "sha256": hashlib.sha256(b"graph").hexdigest()}]}
    files = {
        "ehrfeat/__init__.py": b"",
        f"{MODEL}/ehrfeat_onnx.json": json.dumps(manifest).encode(),
        f"{MODEL}/onnx/model_fp16.onnx": graph,
        f"{MODEL}/tokenizer.json": b"{}",
        "ehrfeat-0.1.0.dist-info/METADATA": f"Name: ehrfeat\nRequires-Dist: {requires}\nRequires-Dist: torch>=2; extra == \"torch\"\n".encode(),
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def test_a_good_wheel_passes(tmp_path: Path) -> None:
    report = _check_dist().check_wheel(_wheel(tmp_path / "ehrfeat-0.1.0-py3-none-any.whl"))
    assert report["problems"] == [] and report["core_requires"] == ["onnxruntime>=1.18"]


def test_missing_or_altered_model_test_data_and_core_torch_are_problems(tmp_path: Path) -> None:
    check = _check_dist()
    altered = check.check_wheel(_wheel(tmp_path / "a.whl", graph=b"other"))
    assert altered["problems"] == [f"{MODEL}/onnx/model_fp16.onnx does not match the sha256 in ehrfeat_onnx.json"]
    data = check.check_wheel(_wheel(tmp_path / "b.whl", extra={"tests/fixtures/x.csv": b"", "ehrfeat/cache/patients.db": b""}))
    assert any("tests/fixtures/x.csv" in p for p in data["problems"]) and any("patients.db" in p for p in data["problems"])
    torch = check.check_wheel(_wheel(tmp_path / "c.whl", requires="torch>=2"))
    assert torch["problems"] == ["the core install requires torch>=2", "the core install does not require onnxruntime"]
    gpu = check.check_wheel(_wheel(tmp_path / "ehrfeat_gpu-0.1.0-py3-none-any.whl"))  # the GPU build on the CPU runtime
    assert gpu["problems"] == ["the core install requires onnxruntime>=1.18", "the core install does not require onnxruntime-gpu"]
    assert check.main([str(tmp_path / "c.whl")]) == 1 and check.main([str(tmp_path / "a.whl")]) == 1
