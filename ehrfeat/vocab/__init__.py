"""Vocabularies, hierarchies and readers for the code systems of an EHR."""

from __future__ import annotations

from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.source import CodeMapping, VocabSource
from ehrfeat.vocab.splits import HeldOutSplit, group_of
from ehrfeat.vocab.vocabulary import Concept, Vocabulary

__all__ = ["CodeMapping", "Concept", "HeldOutSplit", "Hierarchy", "VocabSource", "Vocabulary", "group_of"]
