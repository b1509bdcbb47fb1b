"""Model names: the default, minilm, and a model shipped inside the package (ehrfeat/models/<name>)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ehrfeat.errors import ModelError
from ehrfeat.models import loader
from ehrfeat.onnx.manifest import file_sha256

SHIPPED = Path(loader.__file__).resolve().parents[1] / "models" / "hiprbert-mini"


def test_minilm_resolves_to_the_bundled_base() -> None:
    base = loader.bundled_minilm_path()
    for name in ("minilm", "MiniLM", "sentence-transformers/all-MiniLM-L6-v2"):
        assert loader.resolve_model(name) == base, name


@pytest.mark.skipif(not (SHIPPED / "ehrfeat_onnx.json").is_file(), reason="this checkout ships no hiprbert-mini")
def test_default_is_the_shipped_model() -> None:
    assert loader.DEFAULT_MODEL == "hiprbert-mini"
    for name in (None, "default", "hiprbert-mini", "ehrfeat/hiprbert-mini"):
        assert loader.resolve_model(name) == SHIPPED, name


def test_folders_and_hub_ids_are_kept(tmp_path: Path) -> None:
    assert loader.resolve_model(tmp_path) == tmp_path
    assert loader.resolve_model("org/some-model") == "org/some-model"


def test_missing_shipped_model_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ehrfeat.models.shipped_model_path", lambda name="hiprbert-mini": tmp_path / name)
    with pytest.raises(ModelError) as err:
        loader.load_encoder("hiprbert-mini")
    assert err.value.code == "E334" and "ehrfeat.export.ship" in str(err.value.fix)


def test_shipped_model_loads_as_onnx(tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = tmp_path / "hiprbert-mini"
    shutil.copytree(tiny_onnx, shipped)
    monkeypatch.setattr("ehrfeat.models.shipped_model_path", lambda name="hiprbert-mini": tmp_path / name)
    encoder = loader.load_encoder("hiprbert-mini", device="cpu")
    assert type(encoder).__name__ == "OnnxEncoder" and Path(encoder.folder) == shipped  # type: ignore[attr-defined]
    assert encoder.encode(["essential hypertension"]).shape == (1, encoder.dim)


@pytest.mark.skipif(not (SHIPPED / "ehrfeat_onnx.json").is_file(), reason="this checkout ships no hiprbert-mini")
def test_shipped_folder_matches_its_manifest() -> None:
    manifest = json.loads((SHIPPED / "ehrfeat_onnx.json").read_text())
    (variant,) = manifest["variants"]
    assert variant["precision"] == "fp16" and variant["parity"]["min_cosine"] >= 0.999
    assert file_sha256(SHIPPED / variant["file"]) == variant["sha256"]
    assert file_sha256(SHIPPED / "tokenizer.json") == manifest["tokenizer_sha256"]
    assert sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file()) <= 50 * 2**20
    assert "| link_hpo@1 |" in (SHIPPED / "README.md").read_text()
