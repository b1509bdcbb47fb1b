from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ehrfeat.cli import doctor, export
from ehrfeat.onnx import read_manifest


def _app() -> typer.Typer:
    app = typer.Typer()
    export.register(app)
    doctor.register(app)
    return app


def test_export_command_writes_variants(tiny_bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    result = CliRunner().invoke(_app(), ["export", str(tiny_bert), str(out), "--optimize", "O3", "--quantize", "int8", "--parity-terms", "2000"])
    assert result.exit_code == 0, result.output
    assert "int8 (int8) on 2000 terms" in result.output
    assert {v.name for v in read_manifest(out).variants} == {"fp32", "O3", "int8"}


def test_export_command_reports_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["export", str(tmp_path / "nope"), str(tmp_path / "out"), "--optimize", "O9"])
    assert result.exit_code == 2 and "error:" in result.output


def test_doctor_reports_variant_provider_flags_and_speed(tiny_onnx: Path) -> None:
    result = CliRunner().invoke(_app(), ["doctor", "--model", str(tiny_onnx), "--seconds", "0.3"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert next(iter(report)) == "runtime"  # what runs, and why (no) GPU, comes first
    assert "CPUExecutionProvider" in report["runtime"]["providers_available"]
    assert report["runtime"]["runtime"] == "onnxruntime" and report["runtime"]["provider_used"] == "CPUExecutionProvider"
    assert report["runtime"]["gpu"]["used"] is False and "CPU-only" in report["runtime"]["gpu"]["reason"]
    assert set(report["cpu_flags"]) >= {"avx2", "avx512f", "avx512_vnni"}
    assert report["encoder"]["variant"].startswith("onnx/model_qint8_")
    assert report["encoder"]["provider"] == "CPUExecutionProvider"
    assert report["benchmark"]["terms_per_s"] > 0 and report["versions"]["onnxruntime"]
    assert report["int8_target"] in ("avx512_vnni", "avx512", "avx2", "arm64")
    assert report["encoder"]["quantization"]["target"] == report["int8_target"]
    assert "cache" in report and report["cache"]["folder"].endswith("onnx")


def test_cache_report_sizes_each_cached_model_and_marks_the_one_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ehrfeat.models.doctor import cache_report

    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path))
    assert cache_report() == {"folder": str(tmp_path / "onnx"), "megabytes": 0.0, "models": []}
    for name, size in (("model-old-int8-derived1", 3), ("model-new-int8-int8-u8-derived1", 1)):
        (tmp_path / "onnx" / name / "onnx").mkdir(parents=True)
        (tmp_path / "onnx" / name / "onnx" / "model.onnx").write_bytes(b"\0" * size * 2**20)
    (tmp_path / "onnx" / ".deriving-x").mkdir()  # a build in progress is not a cached model
    report = cache_report(tmp_path / "onnx" / "model-new-int8-int8-u8-derived1")
    assert report["megabytes"] == 4.0
    assert [(m["name"], m["megabytes"], m["used_by_this_encoder"]) for m in report["models"]] == [
        ("model-new-int8-int8-u8-derived1", 1.0, True),
        ("model-old-int8-derived1", 3.0, False),
    ]
    assert (tmp_path / "onnx" / "model-old-int8-derived1").is_dir()  # reported, never deleted
