"""The depth of two codes' deepest common ancestor, for depth-dependent tree-loss bands.

HiPrBERT's categories say how far apart two codes of a tree are, not how deep their
meeting point lies: two siblings under a chapter and two siblings that differ only in
ICD-10-CM's 7th character are both "siblings". With ``pairs.depth_shift`` each tree
pair records the depth of its codes' deepest common ancestor (:attr:`TermPair.depth`)
and :class:`~ehrfeat.training.losses.TreeLoss` moves the pair's band by it: the open
question of the paper, category thresholds that depend on the depth of the common
ancestor. Torch-free.
"""

from __future__ import annotations

from ehrfeat.vocab.hierarchy import Hierarchy

__all__ = ["CommonAncestorDepth"]


class CommonAncestorDepth:
    """``depth(a, b)``: hops from the nearest root down to the deepest code that is an
    ancestor of both (a code counts as its own ancestor); -1 when they share none.
    Lineages and depths are computed once per code."""

    def __init__(self, hierarchy: Hierarchy) -> None:
        self.hierarchy = hierarchy
        self._depths: dict[str, int] = {}
        self._lineages: dict[str, frozenset[str]] = {}

    def depth(self, code: str) -> int:
        """Hops from ``code`` up to its nearest root (0 for a root)."""
        if code not in self._depths:
            self._depths[code] = self.hierarchy.depth(code)
        return self._depths[code]

    def lineage(self, code: str) -> frozenset[str]:
        """``code`` and every ancestor of it."""
        if code not in self._lineages:
            self._lineages[code] = frozenset((code, *self.hierarchy.ancestors(code)))
        return self._lineages[code]

    def __call__(self, a: str, b: str) -> int:
        return max((self.depth(c) for c in self.lineage(a) & self.lineage(b)), default=-1)
