"""Anchors: names the trained model keeps where the base put them.

:class:`~ehrfeat.training.distill.Distiller` keeps the base's cosines between the texts of a
batch: a relational pull that reaches only what the batch holds, and that lets the whole
space turn. The lay-mention rows are lost on names no batch holds: a rare disease's
descriptor, whose base vector carried the knowledge that a lay query matched, drifts when the
tree and synonym losses reshape the space around it. An :class:`Anchorer` adds, on every step,
``weight * mean(1 - cos(student(t), base(t)))`` over ``size`` names ``t`` drawn from a bank:
the preferred names of the training-side concepts of chosen sources
(:func:`~ehrfeat.training.anchor_bank.anchor_bank`, torch-free like the rest of the data layer).
Only names move back: the synonyms and lay terms of those concepts stay free to move toward
them. The student encodes the names without dropout: the loss is zero until the weights move,
and measures their drift, not dropout's noise. The draw depends on the seed and the step only,
so a resumed run draws the same names.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ehrfeat.training.model import TermModel

__all__ = ["Anchorer", "anchor_loss"]


def anchor_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean of ``1 - cos`` between each student row and the teacher's row of the same text."""
    return (1.0 - F.cosine_similarity(student.float(), teacher.float(), dim=-1)).mean()


class Anchorer:
    """The frozen base, a bank of names, and the weight and draw size of :func:`anchor_loss` on them."""

    def __init__(self, teacher: TermModel, bank: Sequence[str], weight: float, size: int = 32, seed: int = 42) -> None:
        if weight < 0 or size < 1:
            raise ValueError(f"the anchor weight must be >= 0 and the draw size >= 1, got {weight}, {size}")
        if not bank:
            raise ValueError("the anchor bank is empty")
        self.teacher = teacher.eval().requires_grad_(False)
        self.bank = tuple(bank)
        self.weight = weight
        self.size = min(size, len(self.bank))
        self.seed = seed

    def draw(self, step: int) -> list[str]:
        """The names of ``step`` (the same for the same seed and step, resumed or not)."""
        return random.Random(f"{self.seed}|anchors|{step}").sample(self.bank, self.size)

    def __call__(self, model: TermModel, step: int) -> torch.Tensor:
        """The weighted loss of ``step``'s names; the student runs without dropout, so it measures drift only."""
        texts = self.draw(step)
        with torch.no_grad():
            teacher = self.teacher(texts)
        training = model.training
        model.eval()
        try:
            student = model(texts)
        finally:
            model.train(training)
        return self.weight * anchor_loss(student, teacher)
