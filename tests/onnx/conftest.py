"""An exported tiny BERT shared by the ONNX tests (fp32, O2 and int8 variants)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.training.tiny_model import DEFAULT_TINY_TERMS

PARITY_TERMS = [*DEFAULT_TINY_TERMS, *(f"{t} of left side" for t in DEFAULT_TINY_TERMS), *(f"history of {t.lower()}" for t in DEFAULT_TINY_TERMS)]


@pytest.fixture(scope="session")
def parity_terms() -> list[str]:
    return list(PARITY_TERMS)


@pytest.fixture(scope="session")
def tiny_onnx(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ehrfeat.onnx.export import ExportConfig, export_model

    out = tmp_path_factory.mktemp("tiny-onnx") / "model"
    export_model(tiny_bert, out, ExportConfig(optimize=("O2",), quantize="int8"), terms=PARITY_TERMS)
    return out


@pytest.fixture(scope="session")
def tiny_shipped(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT laid out as a shipped model: the fp16 graph only (``python -m ehrfeat.onnx.ship``)."""
    from ehrfeat.onnx import ship
    from ehrfeat.onnx.export import ExportConfig, export_model

    root = tmp_path_factory.mktemp("tiny-shipped")
    export_model(tiny_bert, root / "export", ExportConfig(fp16=True), terms=PARITY_TERMS)
    (root / "run").mkdir()
    (root / "run" / "ehrfeat_heldout.json").write_text('{"pairs": [], "synonym_groups": []}')
    return ship.main(root / "export", root / "run", "hiprbert-mini", root / "hiprbert-mini")
