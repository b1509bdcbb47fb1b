"""int8 presets: signed or unsigned weights, and the ladder each CPU target tries."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from ehrfeat.onnx import derive, quantize
from ehrfeat.onnx.manifest import read_manifest
from ehrfeat.onnx.parity import ParityReport
from ehrfeat.onnx.quantize import INT8_LADDER, get_quantization_preset, int8_ladder, quantize_onnx


def _weight_dtypes(path: Path) -> set[np.dtype]:
    """dtypes of the quantised MatMul weights (initialisers named ``*_quantized``)."""
    graph = onnx.load(str(path)).graph
    return {numpy_helper.to_array(init).dtype for init in graph.initializer if init.name.endswith("_quantized")}


@pytest.mark.parametrize("target", ["avx512_vnni", "avx512", "avx2", "arm64"])
def test_every_target_quantises_weights_to_int8_by_default(target: str) -> None:
    assert replace(get_quantization_preset("int8"), target=target).weight_type == "QInt8"
    assert replace(get_quantization_preset("int8-u8"), target=target).weight_type == "QUInt8"


def test_the_u8_preset_writes_uint8_weights_and_the_default_int8(tiny_onnx: Path, tmp_path: Path) -> None:
    onnx_dir = tmp_path / "onnx"
    onnx_dir.mkdir()
    shutil.copy2(tiny_onnx / "onnx" / "model.onnx", onnx_dir / "model.onnx")
    signed, described_signed = quantize_onnx(onnx_dir, get_quantization_preset("int8"), target="signed.onnx")
    unsigned, described_unsigned = quantize_onnx(onnx_dir, get_quantization_preset("int8-u8"), target="unsigned.onnx")
    assert _weight_dtypes(signed) == {np.dtype(np.int8)} and described_signed["weight_type"] == "QInt8"
    assert _weight_dtypes(unsigned) == {np.dtype(np.uint8)} and described_unsigned["weight_type"] == "QUInt8"


def test_avx2_tries_uint8_weights_second_and_other_targets_keep_the_ladder(monkeypatch: pytest.MonkeyPatch) -> None:
    assert int8_ladder("avx2") == ("int8", "int8-u8", "int8-keep-ffn1", "int8-attention")
    for target in ("avx512_vnni", "avx512", "arm64"):
        assert int8_ladder(target) == INT8_LADDER
    monkeypatch.setattr(quantize, "int8_target", lambda: "avx2")
    assert int8_ladder() == int8_ladder("avx2")


def test_derive_falls_back_to_uint8_weights_when_int8_weights_fail_parity(
    tiny_shipped: Path, tmp_path: Path, parity_terms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = derive.check_variant

    def saturating(folder, manifest, variant, reference, terms, gate):  # type: ignore[no-untyped-def]
        report: ParityReport = real(folder, manifest, variant, reference, terms, gate)
        signed = variant.quantization is not None and variant.quantization["weight_type"] == "QInt8"
        return replace(report, failures=("as if VPMADDUBSW saturated",)) if signed else report

    monkeypatch.setattr(derive, "check_variant", saturating)
    monkeypatch.setattr(quantize, "int8_target", lambda: "avx2")
    reports = derive.derive_cpu_variants(tiny_shipped, tmp_path / "out", terms=parity_terms)
    assert [r.passed for r in reports] == [True, False, True]
    int8 = next(v for v in read_manifest(tmp_path / "out").variants if v.precision == "int8")
    assert int8.quantization is not None
    assert (int8.quantization["preset"], int8.quantization["weight_type"]) == ("int8-u8", "QUInt8")
    assert _weight_dtypes(tmp_path / "out" / int8.file) == {np.dtype(np.uint8)}


def test_the_derived_folder_is_named_for_the_ladder_it_tried(tiny_shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(quantize, "int8_target", lambda: "avx2")
    assert derive.derived_folder(tiny_shipped).name.endswith("-int8-int8-u8-int8-keep-ffn1-int8-attention-" + derive.DERIVED_LAYOUT)
