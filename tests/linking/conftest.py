"""Fixtures of the linking tests: a tiny ONNX encoder (no torch at link time) and a small hand-made index."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.vocab import Vocabulary

CONCEPTS = [
    ("ICD10CM", "E11", "Type 2 diabetes mellitus", ["diabetes mellitus type 2"]),
    ("ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications", []),
    ("ICD10CM", "E10", "Type 1 diabetes mellitus", []),
    ("ICD10CM", "E14", "Diabetes mellitus", []),
    ("ICD10CM", "I10", "Essential (primary) hypertension", ["high blood pressure"]),
    ("ICD10CM", "J45.909", "Asthma, unspecified", []),
    ("ICD10CM", "I50.9", "Heart failure, unspecified", []),
    ("ICD10CM", "N18.3", "Chronic kidney disease, stage 3", []),
    ("HPO", "HP:0002315", "Headache", ["Cephalgia"]),
]


@pytest.fixture(scope="session")
def tiny_onnx_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random BERT exported to ONNX fp32: what the linker runs, without torch."""
    from ehrfeat.export.exporter import ExportConfig, export_model

    out = tmp_path_factory.mktemp("linking-onnx") / "model"
    export_model(tiny_bert, out, ExportConfig(parity_terms=40))
    return out


@pytest.fixture(scope="session")
def small_vocab() -> Vocabulary:
    vocab = Vocabulary()
    for system, code, name, synonyms in CONCEPTS:
        vocab.add(system, code, name, synonyms)
    return vocab


@pytest.fixture(scope="session")
def tiny_encoder(tiny_onnx_model: Path):  # type: ignore[no-untyped-def]
    from ehrfeat.models import load_encoder

    return load_encoder(tiny_onnx_model)


@pytest.fixture(scope="session")
def small_index_dir(small_vocab: Vocabulary, tiny_encoder, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    from ehrfeat.linking import build_index, save_index

    return save_index(build_index(small_vocab, tiny_encoder, source="test vocabulary"), tmp_path_factory.mktemp("idx") / "index")


@pytest.fixture
def linker_config(tiny_onnx_model: Path, small_index_dir: Path) -> dict:
    return {"model": str(tiny_onnx_model), "index": {"path": str(small_index_dir)}, "systems": [], "k": 3, "threshold": 0.0}
