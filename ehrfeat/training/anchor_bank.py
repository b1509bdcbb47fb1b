"""The names :class:`~ehrfeat.training.anchors.Anchorer` keeps in place: training-side preferred names only.

Torch-free (the training data layer imports it, and ONNX-only installs import that layer).
"""

from __future__ import annotations

from collections.abc import Iterable

from ehrfeat.vocab import VocabSource
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["anchor_bank"]


def anchor_bank(sources: Iterable[VocabSource], split: HeldOutSplit, heldout: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Sorted distinct preferred names of the ``sources``' concepts that are not held out.

    ``heldout``: case-folded texts of held-out concepts (from any source); a name among them
    stays out too, so no held-out text is ever anchored.
    """
    names: dict[str, str] = {}
    for source in sources:
        for concept in source.vocabulary:
            key = concept.name.casefold()
            if concept.name and key not in heldout and not split.is_heldout(concept.system, concept.code):
                names.setdefault(key, concept.name)
    return tuple(sorted(names.values()))
