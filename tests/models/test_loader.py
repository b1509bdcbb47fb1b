"""Model fingerprints come from the export's manifest, without loading the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ehrfeat.errors import ModelError
from ehrfeat.models.loader import load_encoder, model_fingerprint
from ehrfeat.onnx.manifest import read_manifest


def test_fingerprint_from_the_manifest_is_the_loaded_encoder_s(tiny_onnx: Path) -> None:
    assert model_fingerprint(tiny_onnx) == load_encoder(tiny_onnx).fingerprint
    assert model_fingerprint(tiny_onnx, variant="fp32") == load_encoder(tiny_onnx, variant="fp32").fingerprint


def test_fingerprint_needs_no_graph(tiny_onnx: Path, tmp_path: Path) -> None:
    """With the variant's graph gone the encoder cannot load, yet its fingerprint is known from the manifest."""
    folder = tmp_path / "export"
    shutil.copytree(tiny_onnx, folder)
    entry = read_manifest(folder).variant("int8")
    assert entry is not None
    (folder / entry.file).unlink()
    assert model_fingerprint(folder, variant="int8") == entry.sha256
    with pytest.raises(ModelError, match="E313"):
        load_encoder(folder, variant="int8")


def test_unknown_backend_is_refused_before_anything_loads() -> None:
    with pytest.raises(ModelError, match="E308"):
        model_fingerprint("minilm", backend="jax")


def test_providers_are_resolved_once_and_handed_to_the_encoder(tiny_shipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """load_encoder resolves the providers once: they pick the (derived CPU) folder and the session runs on them."""
    from ehrfeat.onnx import providers

    calls: list[str] = []
    real = providers.requested_providers

    def counted(device: str = "auto") -> list[str]:
        calls.append(device)
        return real(device)

    monkeypatch.setattr(providers, "requested_providers", counted)
    encoder = load_encoder(tiny_shipped, device="cpu")
    assert calls == ["cpu"]
    assert encoder.requested_providers == (providers.CPU,) and encoder.variant.precision in ("fp32", "int8")
    assert model_fingerprint(tiny_shipped, device="cpu") == encoder.fingerprint and calls == ["cpu", "cpu"]


def test_an_encoder_runs_on_the_providers_it_is_given(tiny_onnx: Path) -> None:
    from ehrfeat.onnx.providers import CPU
    from ehrfeat.onnx.runtime import OnnxEncoder

    encoder = OnnxEncoder(tiny_onnx, device="cuda", providers=[CPU])  # resolved by the caller: no CUDA needed
    assert encoder.provider == CPU and encoder.encode(["asthma"]).shape == (1, encoder.dim)
