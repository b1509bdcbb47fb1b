from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from ehrfeat.encoders.transformer import TransformerEncoder
from ehrfeat.errors import ModelError, ParityError
from ehrfeat.export.exporter import ExportConfig, export_model
from ehrfeat.onnx import MANIFEST_NAME, OnnxEncoder, read_manifest
from ehrfeat.onnx.manifest import file_sha256
from ehrfeat.onnx.parity import ParityGate, compare, top_k_overlap


def test_variants_side_by_side_with_checksums(tiny_onnx: Path, parity_terms: list[str]) -> None:
    manifest = read_manifest(tiny_onnx)
    files = {v.name: v.file for v in manifest.variants}
    assert files == {"fp32": "onnx/model.onnx", "O2": "onnx/model_O2.onnx", "int8": files["int8"]}
    assert files["int8"].startswith("onnx/model_qint8_")
    for entry in manifest.variants:
        assert file_sha256(tiny_onnx / entry.file) == entry.sha256
        assert entry.parity["passed"] and entry.parity["terms"] == len(parity_terms)
    assert (tiny_onnx / "modules.json").is_file() and (tiny_onnx / "tokenizer.json").is_file()


def test_graph_outputs_and_dynamic_axes(tiny_onnx: Path) -> None:
    graph = onnx.load(str(tiny_onnx / "onnx" / "model.onnx")).graph
    outputs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output}
    assert set(outputs) == {"sentence_embedding", "token_embeddings"}
    assert isinstance(outputs["sentence_embedding"][0], str)  # dynamic batch
    assert all(isinstance(d, str) for d in outputs["token_embeddings"][:2])  # dynamic batch and sequence
    assert {o.name: o.type.tensor_type.elem_type for o in graph.output}["sentence_embedding"] == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("variant", ["fp32", "O2", "int8"])
def test_runtime_matches_torch_and_is_normalised(tiny_onnx: Path, tiny_bert: Path, variant: str, parity_terms: list[str]) -> None:
    encoder = OnnxEncoder(tiny_onnx, variant=variant, device="cpu")
    got = encoder.encode(parity_terms, batch_size=7)
    want = TransformerEncoder(tiny_bert, device="cpu").encode(parity_terms)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * want).sum(1).min()) >= (0.9999 if variant != "int8" else 0.99)
    # pooling without the graph's normalisation gives the same direction
    raw = encoder.encode(parity_terms[:5], normalize_embeddings=False)
    # (int8 activations are quantised per batch, so batch composition moves them slightly)
    tol = 1e-5 if variant != "int8" else 2e-3
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), got[:5], atol=tol)


@pytest.mark.parametrize("level", ["O1", "O3", "O4"])
def test_each_optimisation_preset_passes_parity(tiny_bert: Path, tmp_path: Path, level: str, parity_terms: list[str]) -> None:
    result = export_model(tiny_bert, tmp_path / "m", ExportConfig(optimize=(level,)), terms=parity_terms)
    entry = result.manifest.variant(level)
    assert entry is not None and entry.precision == ("fp16" if level == "O4" else "fp32")
    assert (tmp_path / "m" / entry.file).is_file() and entry.parity["passed"]


def _perturb(path: Path, scale: float) -> None:
    model = onnx.load(str(path))
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        arr = onnx.numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.ndim == 2 and arr.shape[0] < 1000:
            init.CopyFrom(onnx.numpy_helper.from_array(arr + rng.normal(0, scale, arr.shape).astype(np.float32), init.name))
    onnx.save(model, str(path))


def test_failing_variant_is_not_written(tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parity_terms: list[str]) -> None:
    import ehrfeat.export.exporter as export_module

    real = export_module.quantize_onnx

    def broken_quantize(onnx_dir, preset, **kw):  # type: ignore[no-untyped-def]
        path, described = real(onnx_dir, preset, **kw)
        _perturb(path, 0.5)
        return path, described

    monkeypatch.setattr(export_module, "quantize_onnx", broken_quantize)
    out = tmp_path / "m"
    with pytest.raises(ParityError, match="int8"):
        export_model(tiny_bert, out, ExportConfig(quantize="int8"), terms=parity_terms)
    assert [v.name for v in read_manifest(out).variants] == ["fp32"]
    assert not list((out / "onnx").glob("*qint8*"))
    report = json.loads((out / "parity_report.json").read_text())
    assert [r["passed"] for r in report] == [True, False]


def test_failing_base_writes_nothing(tiny_bert: Path, tmp_path: Path, parity_terms: list[str]) -> None:
    out = tmp_path / "m"
    strict = ExportConfig(gates=(("fp32", ParityGate(min_cosine=1.1)),))
    with pytest.raises(ParityError, match="min cosine"):
        export_model(tiny_bert, out, strict, terms=parity_terms)
    assert not (out / MANIFEST_NAME).exists() and not list(out.rglob("*.onnx"))


def test_export_into_foreign_folder_is_refused(tiny_bert: Path, tmp_path: Path, parity_terms: list[str]) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelError, match="not empty"):
        export_model(tiny_bert, tmp_path, terms=parity_terms)


def test_parity_metrics_on_hand_made_vectors() -> None:
    ref = np.eye(4, dtype=np.float32)
    report = compare(ref, ref, variant="x", precision="fp32")
    assert report.passed and report.min_cosine == pytest.approx(1.0)
    rotated = ref.copy()
    rotated[0] = [0.6, 0.8, 0, 0]
    bad = compare(rotated, ref, variant="x", precision="fp32")
    assert not bad.passed and bad.min_cosine == pytest.approx(0.6)
    assert top_k_overlap(ref, ref, k=2) == 1.0
