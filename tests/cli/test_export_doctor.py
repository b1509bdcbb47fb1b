from __future__ import annotations

import json
from pathlib import Path

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
