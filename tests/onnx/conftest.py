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
