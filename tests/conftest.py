"""Shared fixtures: a tiny random BERT (built once per session) and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.training.tiny_model import DEFAULT_TINY_TERMS

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random BERT (hidden 32, 2 layers) with its tokenizer, as a model folder."""
    from ehrfeat.training.tiny_model import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's public development data (../shared/data); tests using it skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# An exported tiny BERT shared by the ONNX runtime and export tests (fp32, O2 and int8 variants).
PARITY_TERMS = [*DEFAULT_TINY_TERMS, *(f"{t} of left side" for t in DEFAULT_TINY_TERMS), *(f"history of {t.lower()}" for t in DEFAULT_TINY_TERMS)]


@pytest.fixture(scope="session")
def parity_terms() -> list[str]:
    return list(PARITY_TERMS)


@pytest.fixture(scope="session")
def tiny_onnx(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ehrfeat.export.exporter import ExportConfig, export_model

    out = tmp_path_factory.mktemp("tiny-onnx") / "model"
    export_model(tiny_bert, out, ExportConfig(optimize=("O2",), quantize="int8"), terms=PARITY_TERMS)
    return out


@pytest.fixture(scope="session")
def tiny_shipped(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT laid out as a shipped model: the fp16 graph only (``python -m ehrfeat.export.ship``)."""
    from ehrfeat.export import ship
    from ehrfeat.export.exporter import ExportConfig, export_model

    root = tmp_path_factory.mktemp("tiny-shipped")
    export_model(tiny_bert, root / "export", ExportConfig(fp16=True), terms=PARITY_TERMS)
    (root / "run").mkdir()
    (root / "run" / "ehrfeat_heldout.json").write_text('{"pairs": [], "synonym_groups": []}')
    return ship.main(root / "export", root / "run", "hiprbert-mini", root / "hiprbert-mini")
