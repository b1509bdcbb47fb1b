"""Distillation's shared-word focus: which pairs it weighs up, by hand, and the loss it gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ehrfeat.training.distill import Distiller, shared_word_pairs
from ehrfeat.training.losses import DistillLoss
from ehrfeat.training.model import TermModel


def _pairs(matrix: torch.Tensor) -> set[tuple[int, int]]:
    return {(i, j) for i, j in matrix.nonzero().tolist() if i < j}


def test_shared_words_by_hand() -> None:
    texts = ["Eisenmenger Syndrome", "Lutembacher syndrome", "Ulna Fractures", "Fracture of the ulna",
             "Pain in the hand", "Type 2 diabetes", "Hyperlipoproteinemia Type III", "Vitamin B12"]
    shared = shared_word_pairs(texts)
    assert shared.shape == (8, 8) and shared.dtype == torch.bool and not shared.diagonal().any()
    assert torch.equal(shared, shared.T)
    # syndrome (any case), ulna, type; not "the" (a function word), not "Fracture"/"Fractures" (different words),
    # not digits or two-letter pieces ("B12")
    assert _pairs(shared) == {(0, 1), (2, 3), (5, 6)}


def test_no_words_at_all() -> None:
    assert not shared_word_pairs(["B12", "of", "C3"]).any()
    assert shared_word_pairs([]).shape == (0, 0)


def test_weighted_distill_loss_by_hand() -> None:
    # Student cosines 1, 0, 0 against the teacher's 0, r, r (see test_losses): squared differences 1, 1/2, 1/2.
    r = 2 ** -0.5
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0], [r, r]])
    student = torch.tensor([[2.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    weights = torch.ones(3, 3)
    weights[0, 1] = weights[1, 0] = 4.0  # the pair with difference 1 weighs 4
    assert DistillLoss()(student, teacher, weights).item() == pytest.approx((4.0 + 0.5 + 0.5) / 3)
    assert DistillLoss()(student, teacher, torch.ones(3, 3)).item() == pytest.approx(DistillLoss()(student, teacher).item())
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        DistillLoss()(student, teacher, torch.ones(2, 2))


def test_the_distiller_weighs_up_shared_words_but_not_the_pairs_the_batch_trains(tiny_bert: Path) -> None:
    teacher = TermModel(tiny_bert, max_length=16)
    student_model = TermModel(tiny_bert, max_length=16)
    with torch.no_grad():  # a student that differs from the teacher
        for p in student_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    texts = ["Eisenmenger Syndrome", "Lutembacher Syndrome", "Ulna Fractures", "Fracture of the ulna", "Kuru"]
    trained = torch.zeros(5, 5, dtype=torch.bool)
    trained[2, 3] = trained[3, 2] = True  # the batch trains this pair: it keeps weight 1
    with torch.no_grad():
        student = student_model(texts)
        s = torch.nn.functional.normalize(student.float(), dim=-1)
        t = torch.nn.functional.normalize(teacher(texts).float(), dim=-1)
        squared = (s @ s.T - t @ t.T) ** 2
        plain = Distiller(teacher, 2.0)(texts, student, trained)
        focused = Distiller(teacher, 2.0, shared_word=3.0)(texts, student, trained)
        untrained = Distiller(teacher, 2.0, shared_word=3.0)(texts, student)
    off = ~torch.eye(5, dtype=torch.bool)
    assert plain.item() == pytest.approx(2.0 * squared[off].mean().item(), rel=1e-5)
    # only (0, 1) shares a word and is not trained: it counts 1 + 3 times, both orders
    expected = 2.0 * (squared[off].sum() + 3.0 * 2 * squared[0, 1]).item() / 20
    assert focused.item() == pytest.approx(expected, rel=1e-5)
    assert untrained.item() == pytest.approx(expected + 2.0 * 3.0 * 2 * squared[2, 3].item() / 20, rel=1e-5)


def test_tree_batches_take_their_own_distillation_weight(tiny_bert: Path) -> None:
    teacher = TermModel(tiny_bert, max_length=16)
    student_model = TermModel(tiny_bert, max_length=16)
    with torch.no_grad():
        for p in student_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    texts = ["Eisenmenger Syndrome", "Lutembacher Syndrome", "Kuru"]
    with torch.no_grad():
        student = student_model(texts)
        unit = Distiller(teacher, 1.0, shared_word=2.0)(texts, student, synonyms=True).item()
        unit_tree = Distiller(teacher, 1.0, shared_word=2.0)(texts, student, synonyms=False).item()
        split = Distiller(teacher, 10.0, shared_word=2.0, weight_tree=6.0)
        off = Distiller(teacher, 10.0, weight_tree=0.0)
        assert unit > 0 and unit_tree == pytest.approx(unit)
        assert split(texts, student, synonyms=True).item() == pytest.approx(10.0 * unit, rel=1e-5)
        assert split(texts, student, synonyms=False).item() == pytest.approx(6.0 * unit_tree, rel=1e-5)
        assert off(texts, student, synonyms=False).item() == 0.0 and off(texts, student, synonyms=True).item() > 0
    with pytest.raises(ValueError, match="distillation weights must be >= 0"):
        Distiller(teacher, 1.0, weight_tree=-1.0)
