"""Anchors: the loss by hand, the bank's held-out guard, the draw, and the loop that adds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ehrfeat.errors import ConfigError
from ehrfeat.training.anchor_bank import anchor_bank
from ehrfeat.training.anchors import Anchorer, anchor_loss
from ehrfeat.training.checkpoint import MANIFEST
from ehrfeat.training.config import TrainConfig, parse_config
from ehrfeat.training.data_sources import build_training_data
from ehrfeat.training.loop import train
from ehrfeat.training.model import TermModel
from ehrfeat.vocab import VocabSource, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit
from tests.training.conftest import NAMES


def _config(base: Path, heldout: float = 0.3, **training: object) -> TrainConfig:
    return parse_config({
        "name": "toy",
        "sources": [{"name": "toy", "reader": "icd10cm"}],
        "model": {"base": str(base), "pooling": "mean", "max_length": 16},
        "training": {"lr": 1e-3, "batch_size": 16, "epochs": 2, "seed": 0, "save_every": 4, **training},
        "pairs": {"heldout_fraction": heldout},
    })


def test_anchor_loss_by_hand() -> None:
    # cosines 1 (same direction, other length) and 1/sqrt(2): mean of 1 - cos is (0 + 1 - 2**-0.5) / 2
    student = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    teacher = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert anchor_loss(student, teacher).item() == pytest.approx((1 - 2 ** -0.5) / 2)
    assert anchor_loss(teacher, teacher).item() == pytest.approx(0.0, abs=1e-7)
    assert anchor_loss(-teacher, teacher).item() == pytest.approx(2.0)


def _source(name: str, system: str, concepts: dict[str, str]) -> VocabSource:
    vocab = Vocabulary()
    for code, text in concepts.items():
        vocab.add(system, code, text, [])
    return VocabSource(name, vocab, {})


def test_the_bank_holds_training_side_names_only() -> None:
    split = HeldOutSplit(0.5)
    codes = [f"D{i:06d}" for i in range(40)]
    held = [c for c in codes if split.is_heldout("MeSH", c)]
    kept = [c for c in codes if not split.is_heldout("MeSH", c)]
    assert held and kept  # the split parts these codes
    concepts = {c: f"Disease {c}" for c in codes}
    concepts[kept[0]] = "Porphyria, Erythropoietic"
    concepts[kept[1]] = "porphyria, erythropoietic"  # one name, two cases: kept once
    concepts[kept[2]] = "Kuru"  # the text of a held-out concept elsewhere
    bank = anchor_bank([_source("mesh", "MSH", concepts)], split, heldout=frozenset({"kuru"}))
    assert list(bank) == sorted(bank)
    assert "Kuru" not in bank and not any(f"Disease {c}" in bank for c in held)
    assert [n.casefold() for n in bank].count("porphyria, erythropoietic") == 1
    assert set(bank) >= {f"Disease {c}" for c in kept[3:]}
    assert len(bank) == len(kept) - 2


def test_the_draw_depends_on_seed_and_step_only(tiny_bert: Path) -> None:
    teacher = TermModel(tiny_bert, max_length=16)
    bank = [name for name, _ in NAMES.values()]
    a = Anchorer(teacher, bank, weight=2.0, size=5, seed=7)
    b = Anchorer(teacher, bank, weight=9.0, size=5, seed=7)  # another object (as after a resume): the same names
    assert a.draw(3) == b.draw(3) and len(set(a.draw(3))) == 5
    assert any(a.draw(3) != a.draw(s) for s in range(4, 10))
    assert Anchorer(teacher, bank[:2], weight=1.0, size=32).size == 2  # never more than the bank holds
    with pytest.raises(ValueError, match="empty"):
        Anchorer(teacher, [], weight=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        Anchorer(teacher, bank, weight=-1.0)


def test_the_loss_measures_drift_not_dropout(tiny_bert: Path) -> None:
    teacher = TermModel(tiny_bert, max_length=16)
    student = TermModel(tiny_bert, max_length=16).train()
    bank = [name for name, _ in NAMES.values()]
    anchorer = Anchorer(teacher, bank, weight=3.0, size=6, seed=0)
    assert anchorer(student, 0).item() == pytest.approx(0.0, abs=1e-6)  # the same weights: no loss, dropout or not
    assert student.training  # its mode is given back
    with torch.no_grad():
        for p in student.parameters():
            p.add_(0.05 * torch.randn_like(p))
    texts = anchorer.draw(1)
    with torch.no_grad():
        expected = 3.0 * anchor_loss(student.eval()(texts), teacher(texts)).item()
    student.train()
    loss = anchorer(student, 1)
    assert loss.item() == pytest.approx(expected, rel=1e-5) and loss.item() > 0
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())


def test_build_training_data_gives_the_bank_of_the_chosen_sources(tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    cfg = _config(tiny_bert, heldout=0.7, anchor_weight=1.0, anchor_sources=["toy"])
    data = build_training_data(cfg, [toy_factory()])
    split = HeldOutSplit(0.7)  # holds out the I11 category
    expected = sorted(name for code, (name, _) in NAMES.items() if not split.is_heldout("ICD10CM", code))
    assert list(data.anchors) == expected and 0 < len(expected) < len(NAMES)
    assert build_training_data(_config(tiny_bert), [toy_factory()]).anchors == ()


def test_a_bank_left_empty_by_the_split_is_a_config_error(tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no training-side name") as info:
        build_training_data(_config(tiny_bert, heldout=0.99, anchor_weight=1.0), [toy_factory()])
    assert info.value.code == "E412"


@pytest.mark.parametrize(("training", "message"), [
    ({"anchor_weight": -1.0}, "anchor_weight must be >= 0"),
    ({"anchor_weight": 1.0, "anchor_size": 0}, "anchor_size >= 1"),
    ({"anchor_weight": 1.0, "anchor_sources": ["mesh"]}, "'mesh', which is not one of"),
    ({"anchor_sources": ["toy"]}, "that weight is 0"),
    ({"anchor_weight": 1.0, "anchor_sources": [1]}, "list of strings"),
])
def test_bad_anchor_keys_are_config_errors(tiny_bert: Path, training: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message) as info:
        _config(tiny_bert, **training)
    assert info.value.code == "E404"


def test_anchors_keep_the_trained_names_closer_to_the_base(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    free = train(_config(tiny_bert), tmp_path / "free", sources=[toy_factory()], evaluate=False, progress=False)
    held = train(_config(tiny_bert, anchor_weight=50.0), tmp_path / "held", sources=[toy_factory()], evaluate=False, progress=False)
    manifest = json.loads((held / MANIFEST).read_text())
    assert manifest["config"]["training"]["anchor_weight"] == 50.0 and "anchors" in manifest["final_losses"]
    names = list(build_training_data(_config(tiny_bert, anchor_weight=1.0), [toy_factory()]).anchors)
    base = TermModel(tiny_bert, max_length=16).eval()

    def drift(folder: Path) -> float:
        with torch.no_grad():
            return anchor_loss(TermModel(folder, max_length=16).eval()(names), base(names)).item()

    assert 0.0 < drift(held) < drift(free)


def test_a_resumed_run_with_anchors_matches_an_uninterrupted_one(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    from safetensors.torch import load_file

    cfg = _config(tiny_bert, anchor_weight=5.0, anchor_size=4)
    straight = train(cfg, tmp_path / "a", sources=[toy_factory()], evaluate=False, progress=False)
    train(cfg, tmp_path / "b", sources=[toy_factory()], stop_after=3, evaluate=False, progress=False)
    resumed = train(cfg, tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_a_recorded_config_reads_back_its_anchor_keys(tiny_bert: Path) -> None:
    cfg = _config(tiny_bert, anchor_weight=2.5, anchor_sources=["toy"], anchor_size=8)
    again = parse_config(json.loads(json.dumps(cfg.to_dict())))  # as a run's manifest records it
    assert (again.training.anchor_weight, again.training.anchor_sources, again.training.anchor_size) == (2.5, ("toy",), 8)
