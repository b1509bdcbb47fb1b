"""Losses: the HiPrBERT tree loss over distance categories, and the synonym loss.

Tree loss. With ``s = (cos + 1) / 2`` and, for every pair of categories ``i < j``
present in the batch::

    L_ij = mean_{category i} (1/α)·log(1 + exp(−α(s − λ)))
         + mean_{category j} (1/β)·log(1 + exp( β(s − λ)))

the loss is ``Σ_{i<j} L_ij``. Closer categories are pulled above λ, farther ones
pushed below it, and a category that appears as the closer side of many pairs
is pulled harder. λ is one number (the paper's form) or one threshold per far
category, ``λ_j`` for ``j = 1, 2, ...``: then ``L_ij`` uses ``λ_j``, so with
``λ_1 > λ_2 > λ_3`` each category is held in its own band of similarity
(synonyms above ``λ_1``, category 1 between ``λ_2`` and ``λ_1``, ...) instead of
every related category being pulled to, and pushed below, the same line. Only
categories present in the batch take part, so a missing middle category or a
batch of one category (loss 0) never makes a NaN;
``softplus`` keeps large β finite.

Depth-dependent bands (``depth_shift`` δ > 0): a pair whose codes' deepest common
ancestor lies at depth ``d`` (``TermPair.depth``; -1: none recorded, no shift) is held
in its band moved up by ``δ·clip(d − d̄, −3, 3)``, ``d̄`` the source's mean depth: λ
depends on how deep the two codes meet, so 7th-character siblings of ICD-10-CM need
not sit as far apart as two codes that meet at a chapter. Equivalently ``s`` becomes
``s − δ·clip(d − d̄, −3, 3)`` in every ``L_ij``.

Distillation loss. The mean squared difference between the cosine matrices of the
trained model and of its frozen base over a batch's distinct texts (diagonal left
out): most pairs in a batch are unrelated terms, so this keeps the base's geometry
on general term pairs while the tree and synonym losses move the related ones,
a regulariser during training instead of only a merge with the base afterwards.

Rank loss. For every anchor of a batch and every two of its pairs whose categories
are ``i < j``, with ``s_i``, ``s_j`` their similarities in the same ``s`` scale::

    (1/γ)·log(1 + exp(γ(s_j − s_i + m)))

averaged over all such (anchor, closer pair, farther pair) triples: a smooth hinge
that ranks an anchor's synonym above the same anchor's child or sibling, and that
one above its parent, by a margin ``m``, which the absolute thresholds of the tree
loss never ask for. Batches without two categories for one anchor give 0.

Synonym loss. pytorch-metric-learning's ``MultiSimilarityLoss`` (α 1, β 60, base
0.5) on the triplets its ``TripletMarginMiner`` (margin 0.2) finds, as in SapBERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DistillLoss", "RankLoss", "SynonymLoss", "TreeLoss"]


class TreeLoss(nn.Module):
    """Ordered-category loss on cosine similarities (see the module doc)."""

    max_levels = 3  # the depth shift stops this many levels from the mean

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, lambda_: float | Sequence[float] = 0.5,
                 depth_shift: float = 0.0, mean_depth: float = 0.0) -> None:
        super().__init__()
        if alpha <= 0 or beta <= 0:
            raise ValueError(f"alpha and beta must be > 0, got {alpha}, {beta}")
        if depth_shift < 0:
            raise ValueError(f"depth_shift must be >= 0, got {depth_shift}")
        self.alpha, self.beta = float(alpha), float(beta)
        self.depth_shift, self.mean_depth = float(depth_shift), float(mean_depth)
        self.lambda_: float | tuple[float, ...] = (
            float(lambda_) if isinstance(lambda_, int | float) else tuple(float(x) for x in lambda_)
        )
        if self.lambda_ == ():
            raise ValueError("lambda_ must be a number or a non-empty sequence of per-category thresholds")

    def threshold(self, far: int) -> float:
        """λ of the category pairs whose farther category is ``far``."""
        if isinstance(self.lambda_, float):
            return self.lambda_
        if not 1 <= far <= len(self.lambda_):
            raise ValueError(f"category {far} has no threshold: lambda_ gives {len(self.lambda_)} (categories 1..{len(self.lambda_)})")
        return self.lambda_[far - 1]

    def shift(self, depth: torch.Tensor) -> torch.Tensor:
        """Each pair's band offset in ``s`` from its common ancestor's depth (0 where depth < 0)."""
        levels = (depth.float() - self.mean_depth).clamp(-self.max_levels, self.max_levels)
        return torch.where(depth >= 0, self.depth_shift * levels, torch.zeros_like(levels))

    def forward(self, cosine: torch.Tensor, category: torch.Tensor, depth: torch.Tensor | None = None) -> torch.Tensor:
        """``cosine``: (n,) cosines of the pairs; ``category``: (n,) integer categories;
        ``depth``: (n,) depths of the pairs' common ancestors (used when ``depth_shift`` > 0)."""
        s = (cosine.float() + 1.0) / 2.0
        if depth is not None and self.depth_shift:
            s = s - self.shift(depth.to(s.device))
        present = torch.unique(category).tolist()
        total = s.sum() * 0.0  # a zero that keeps the graph, for batches with < 2 categories
        for b, cj in enumerate(present[1:], start=1):
            lam = self.threshold(cj)
            far = s[category == cj]
            push = (F.softplus(self.beta * (far - lam)) / self.beta).mean()
            for ci in present[:b]:
                near = s[category == ci]
                total = total + (F.softplus(-self.alpha * (near - lam)) / self.alpha).mean() + push
        return total

    def extra_repr(self) -> str:
        depth = f", depth_shift={self.depth_shift}, mean_depth={self.mean_depth:.3f}" if self.depth_shift else ""
        return f"alpha={self.alpha}, beta={self.beta}, lambda_={self.lambda_}{depth}"


class RankLoss(nn.Module):
    """Per-anchor ranking of closer categories above farther ones (see the module doc)."""

    def __init__(self, margin: float = 0.05, gamma: float = 20.0) -> None:
        super().__init__()
        if gamma <= 0 or margin < 0:
            raise ValueError(f"gamma must be > 0 and margin >= 0, got {gamma}, {margin}")
        self.margin, self.gamma = float(margin), float(gamma)

    def forward(self, cosine: torch.Tensor, category: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
        """``cosine``, ``category``: (n,) as for :class:`TreeLoss`; ``anchor``: (n,) integer ids of the pairs' anchors."""
        s = (cosine.float() + 1.0) / 2.0
        # ordered[a, b]: pair a (closer) and pair b (farther) share an anchor and cat[a] < cat[b]
        ordered = (anchor[:, None] == anchor[None, :]) & (category[:, None] < category[None, :])
        if not bool(ordered.any()):
            return s.sum() * 0.0
        diff = s[None, :] - s[:, None] + self.margin  # s_far - s_close + m
        return (F.softplus(self.gamma * diff[ordered]) / self.gamma).mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, gamma={self.gamma}"


class SynonymLoss(nn.Module):
    """Multi-similarity loss on online-mined triplets (pytorch-metric-learning)."""

    def __init__(self, alpha: float = 1.0, beta: float = 60.0, base: float = 0.5, margin: float = 0.2) -> None:
        super().__init__()
        from pytorch_metric_learning import losses, miners

        self.miner: Any = miners.TripletMarginMiner(margin=margin, type_of_triplets="all")
        self.loss: Any = losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        embeddings = embeddings.float()
        triplets = self.miner(embeddings, labels)
        return self.loss(embeddings, labels, triplets)


class DistillLoss(nn.Module):
    """Mean squared difference of the student's and teacher's off-diagonal cosines, optionally weighted per pair."""

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """``student``, ``teacher``: (n, d) vectors of the same n texts (any norm); ``weights``: (n, n), default 1.

        The loss is the mean over the ``n(n-1)`` off-diagonal pairs of ``weight * difference²``:
        weights above 1 add pressure on their pairs without taking any from the others.
        """
        n = student.shape[0]
        if teacher.shape[0] != n:
            raise ValueError(f"student and teacher embed different numbers of texts: {n} and {teacher.shape[0]}")
        if weights is not None and tuple(weights.shape) != (n, n):
            raise ValueError(f"distillation weights must be ({n}, {n}), got {tuple(weights.shape)}")
        if n < 2:
            return student.sum() * 0.0
        s = F.normalize(student.float(), dim=-1)
        t = F.normalize(teacher.float(), dim=-1)
        off = ~torch.eye(n, dtype=torch.bool, device=s.device)
        squared = (s @ s.T - t @ t.T) ** 2
        if weights is not None:
            squared = squared * weights.to(squared.dtype)
        return squared[off].mean()
