"""Deriving the CPU variants (fp32 upcast, int8) of an fp16-only export, as a shipped model has."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from ehrfeat.errors import ModelError
from ehrfeat.models import loader
from ehrfeat.onnx import derive
from ehrfeat.onnx.manifest import file_sha256, read_manifest
from ehrfeat.onnx.parity import ParityGate
from ehrfeat.onnx.runtime import OnnxEncoder
from ehrfeat.onnx.upcast import upcast_fp16_model


def test_upcast_keeps_what_the_fp16_graph_computes(tiny_shipped: Path, tmp_path: Path, parity_terms: list[str]) -> None:
    import onnx

    (fp16,) = read_manifest(tiny_shipped).variants
    counts = upcast_fp16_model(tiny_shipped / fp16.file, tmp_path / "model.onnx")
    assert counts["initializers"] > 10
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    assert all(init.data_type != onnx.TensorProto.FLOAT16 for init in graph.initializer)
    assert all(a.i != onnx.TensorProto.FLOAT16 for n in graph.node if n.op_type == "Cast" for a in n.attribute if a.name == "to")
    with pytest.raises(ModelError) as err:  # an fp32 graph has nothing to upcast
        upcast_fp16_model(tmp_path / "model.onnx", tmp_path / "again.onnx")
    assert err.value.code == "E337"


def test_derives_fp32_and_int8_behind_parity_gates(tiny_shipped: Path, tmp_path: Path, parity_terms: list[str]) -> None:
    reports = derive.derive_cpu_variants(tiny_shipped, tmp_path / "out", terms=parity_terms)
    manifest = read_manifest(tmp_path / "out")
    by_name = {v.name: v for v in manifest.variants}
    assert set(by_name) == {"fp16", "fp32", "int8"} and reports[0].variant == "fp32" and reports[0].passed
    assert by_name["fp32"].parity["min_cosine"] >= 0.999 and by_name["int8"].parity["passed"]
    assert by_name["int8"].quantization is not None and by_name["int8"].quantization["preset"] == "int8"
    for entry in manifest.variants:
        assert file_sha256(tmp_path / "out" / entry.file) == entry.sha256
    assert manifest.source["derived_from"]["sha256"] == by_name["fp16"].sha256
    fp16 = OnnxEncoder(tmp_path / "out", variant="fp16", device="cpu").encode(parity_terms)
    fp32 = OnnxEncoder(tmp_path / "out", variant="fp32", device="cpu").encode(parity_terms)
    assert float((fp16 * fp32).sum(axis=1).min()) > 0.999


def test_int8_tries_the_ladder_then_falls_back_to_fp32(
    tiny_shipped: Path, tmp_path: Path, parity_terms: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(derive.GATES, "int8", ParityGate(mean_cosine=1.01))  # no int8 graph can pass
    with caplog.at_level(logging.INFO, logger="ehrfeat.onnx.derive"):
        reports = derive.derive_cpu_variants(tiny_shipped, tmp_path / "out", quantize=("int8", "int8-attention"), terms=parity_terms)
    assert [r.variant for r in reports] == ["fp32", "int8", "int8"] and not any(r.passed for r in reports[1:])
    assert [v.name for v in read_manifest(tmp_path / "out").variants] == ["fp16", "fp32"]
    assert not list((tmp_path / "out" / "onnx").glob("*qint8*"))
    assert "no int8 preset of int8, int8-attention passes parity" in caplog.text


def test_shipped_fp16_model_loads_its_derived_cpu_variant_from_the_cache(
    tiny_shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("ehrfeat.models.shipped_model_path", lambda name="hiprbert-mini": tiny_shipped.parent / name)
    encoder = loader.load_encoder("hiprbert-mini", device="cpu")
    folder = Path(encoder.folder)  # type: ignore[attr-defined]
    assert folder.parent == tmp_path / "cache" / "onnx" and encoder.variant.precision == "int8"  # type: ignore[attr-defined]
    assert encoder.encode(["essential hypertension"]).shape == (1, encoder.dim)
    stamp = (folder / "ehrfeat_onnx.json").stat().st_mtime_ns
    again = loader.load_encoder("hiprbert-mini", device="cpu")  # the second load reuses the cache
    assert Path(again.folder) == folder and (folder / "ehrfeat_onnx.json").stat().st_mtime_ns == stamp  # type: ignore[attr-defined]
    assert not list((tmp_path / "cache" / "onnx").glob(".deriving-*"))
    fp16 = loader.load_encoder("hiprbert-mini", device="cpu", variant="fp16")  # asked for by name: no derivation
    assert Path(fp16.folder) == tiny_shipped  # type: ignore[attr-defined]


def test_a_folder_without_fp16_cannot_be_derived(tiny_onnx: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_onnx, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "ehrfeat_onnx.json").read_text())
    assert not derive.needs_cpu_variants(read_manifest(tmp_path / "m")) and manifest["variants"]
    with pytest.raises(ModelError) as err:
        derive.derived_folder(tmp_path / "m")
    assert err.value.code == "E337"


def test_deriving_and_loading_import_no_torch(tiny_shipped: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ehrfeat.models.loader import load_encoder\n"
        f"enc = load_encoder({str(tiny_shipped)!r}, device='cpu')\n"
        "assert enc.variant.precision == 'int8', enc.variant\n"
        "enc.encode(['type 2 diabetes mellitus'])\n"
        "print(','.join(m for m in ('torch', 'transformers', 'optimum', 'ehrfeat.training') if m in sys.modules))\n"
    )
    env = {**os.environ, "EHRFEAT_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"deriving imported: {out.stdout.strip()}"


def test_deriving_prints_no_warning_about_its_own_parity_terms(
    tiny_shipped: Path, tmp_path: Path, parity_terms: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    long_term = " ".join(["chronic kidney disease stage"] * 20)  # longer than max_length: truncated
    with caplog.at_level(logging.WARNING):
        derive.derive_cpu_variants(tiny_shipped, tmp_path / "out", terms=[*parity_terms, long_term])
    assert "truncated" not in caplog.text and "pre-processing" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="ehrfeat.onnx.runtime"):  # the user's own texts still warn
        OnnxEncoder(tmp_path / "out", device="cpu").encode([long_term])
    assert "truncated" in caplog.text
