"""Distillation toward the frozen base: which pairs of a batch it keeps, and how hard.

:class:`~ehrfeat.training.losses.DistillLoss` keeps the base's cosine on every pair of a
batch's distinct texts. Most of those pairs are unrelated terms, so the plain loss mostly
guards the far end of the space. The lay-mention tasks are lost at the near end: a
trained model lifts names that share only a generic word with the query ("Eisenmenger
Syndrome" toward "Lutembacher Syndrome", "Hangman's Fracture" toward "Ulna Fractures")
above the concept the base found. ``shared_word`` > 0 weighs such pairs
``1 + shared_word`` times: two texts that share a word of three letters or more (not a
function word) and that the batch does not train together. Pairs the batch trains (an
anchor and its partner, two synonyms of one concept) keep weight 1, so distillation does
not pull back what the tree and synonym losses move. ``shared_word_tree`` sets the focus of
tree batches apart (``None``: the same as synonym batches; ``0``: none, leaving tree batches
free to reshape the code trees). ``weight_tree`` likewise sets the weight of the whole loss in
tree batches apart (``None``: ``weight``): the lay confusers come from synonym batches, the
hierarchy rows from tree batches, and one weight for both trades one against the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ehrfeat.training.data_sources import WORD
from ehrfeat.training.losses import DistillLoss
from ehrfeat.training.model import TermModel

__all__ = ["Distiller", "shared_word_pairs"]

_FUNCTION_WORDS = frozenset({"and", "the", "with", "without", "for", "from", "due", "not", "other", "than", "into"})


def _words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.casefold()) if w not in _FUNCTION_WORDS}


def shared_word_pairs(texts: Sequence[str]) -> torch.Tensor:
    """(n, n) bool: texts ``i`` and ``j`` (``i != j``) share a word of three letters or more."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, text in enumerate(texts):
        for word in _words(text):
            rows.append(i)
            cols.append(vocab.setdefault(word, len(vocab)))
    n = len(texts)
    incidence = torch.zeros(n, max(len(vocab), 1))
    if rows:
        incidence[rows, cols] = 1.0
    shared = (incidence @ incidence.T) > 0
    shared.fill_diagonal_(False)
    return shared


class Distiller:
    """The frozen base model, the weight of :class:`DistillLoss` against it, and its shared-word focus."""

    def __init__(self, teacher: TermModel, weight: float, shared_word: float = 0.0, shared_word_tree: float | None = None,
                 weight_tree: float | None = None) -> None:
        tree = shared_word if shared_word_tree is None else shared_word_tree
        if min(shared_word, tree) < 0:
            raise ValueError(f"the shared-word weights must be >= 0, got {shared_word}, {shared_word_tree}")
        self.weight_tree = weight if weight_tree is None else weight_tree
        if min(weight, self.weight_tree) < 0:
            raise ValueError(f"the distillation weights must be >= 0, got {weight}, {weight_tree}")
        self.teacher = teacher.eval().requires_grad_(False)
        self.weight = weight
        self.shared_word = shared_word
        self.shared_word_tree = tree
        self.loss = DistillLoss()

    def __call__(self, texts: list[str], student: torch.Tensor, trained: torch.Tensor | None = None,
                 synonyms: bool = False) -> torch.Tensor:
        """``trained``: (n, n) bool, the pairs the batch trains (kept at weight 1); ``None``: none.

        ``synonyms``: the batch is a synonym batch (its weight and focus are ``weight`` and
        ``shared_word``, else ``weight_tree`` and ``shared_word_tree``).
        """
        weight = self.weight if synonyms else self.weight_tree
        if weight == 0:
            return student.new_zeros(())
        with torch.no_grad():
            teacher = self.teacher(texts)
        weights = None
        focus_weight = self.shared_word if synonyms else self.shared_word_tree
        if focus_weight > 0:
            focus = shared_word_pairs(texts)
            if trained is not None:
                focus &= ~trained.cpu()
            weights = (1.0 + focus_weight * focus.float()).to(student.device)
        return weight * self.loss(student, teacher, weights)
