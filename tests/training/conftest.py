"""A toy ICD-10-CM-like source, small enough to check every pair by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ehrfeat.vocab import Hierarchy, VocabSource, Vocabulary

NAMES = {
    "E11": ("Type 2 diabetes mellitus", ["Diabetes type II"]),
    "E11.2": ("Type 2 diabetes mellitus with kidney complications", []),
    "E11.21": ("Type 2 diabetes mellitus with diabetic nephropathy", ["Type 2 diabetic nephropathy"]),
    "E11.22": ("Type 2 diabetes mellitus with diabetic chronic kidney disease", []),
    "E11.9": ("Type 2 diabetes mellitus without complications", []),
    "E10": ("Type 1 diabetes mellitus", ["Juvenile diabetes"]),
    "E10.9": ("Type 1 diabetes mellitus without complications", []),
    "E10.1": ("Type 1 diabetes mellitus with ketoacidosis", []),
    "I10": ("Essential (primary) hypertension", ["High blood pressure", "Hypertension NOS"]),
    "I11": ("Hypertensive heart disease", []),
    "I11.0": ("Hypertensive heart disease with heart failure", []),
    "I11.9": ("Hypertensive heart disease without heart failure", []),
}
EDGES = [
    ("E11.2", "E11"), ("E11.21", "E11.2"), ("E11.22", "E11.2"), ("E11.9", "E11"),
    ("E10.9", "E10"), ("E10.1", "E10"), ("I11.0", "I11"), ("I11.9", "I11"),
]


def make_toy_source() -> VocabSource:
    vocab = Vocabulary()
    for code, (name, syns) in NAMES.items():
        vocab.add("ICD10CM", code, name, syns)
    hierarchy = Hierarchy("ICD10CM", EDGES)
    hierarchy.add_node("I10")
    return VocabSource("toy", vocab, {"ICD10CM": hierarchy})


@pytest.fixture
def toy_source() -> VocabSource:
    return make_toy_source()


@pytest.fixture
def toy_factory():  # type: ignore[no-untyped-def]
    """A function making a fresh toy source (for runs that must not share one)."""
    return make_toy_source


@pytest.fixture
def resumes_bit_equal() -> Callable[..., None]:
    """A check that ``cfg`` stopped after 5 steps and resumed ends on exactly the weights of one run straight through."""
    from ehrfeat.training.loop import train

    def check(cfg: object, folder: Path) -> None:
        straight = train(cfg, folder / "straight", sources=[make_toy_source()], evaluate=False, progress=False)  # type: ignore[arg-type]
        train(cfg, folder / "resumed", sources=[make_toy_source()], stop_after=5, evaluate=False, progress=False)  # type: ignore[arg-type]
        resumed = train(cfg, folder / "resumed", sources=[make_toy_source()], evaluate=False, progress=False)  # type: ignore[arg-type]
        a, b = (load_file(str(run / "model.safetensors")) for run in (straight, resumed))
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)

    return check
