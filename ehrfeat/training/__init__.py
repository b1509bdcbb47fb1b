"""Training of HiPrBERT term encoders (needs the ``train`` extra: torch, transformers).

Data preparation (config, pairs, synonym groups, batching) is torch-free (the held-out
group split lives with the vocabularies, :mod:`ehrfeat.vocab.splits`)
and imported eagerly; the loop, losses, model and checkpoint code import torch
and are loaded on first use, so evaluation can import the data layer alone.
"""

from __future__ import annotations

import importlib
from typing import Any

from ehrfeat.training.batching import Batch, plan_batches
from ehrfeat.training.config import RECIPES, TrainConfig, load_config, parse_config
from ehrfeat.training.data_sources import TrainingData, build_training_data, load_sources
from ehrfeat.training.pairs import PairSet, TermPair, build_hierarchy_pairs
from ehrfeat.training.phecode_pairs import build_phecode_pairs, phecode_category
from ehrfeat.training.synonyms import SynonymSet, build_synonym_groups

__all__ = [
    "RECIPES",
    "Batch",
    "PairSet",
    "SynonymLoss",
    "SynonymSet",
    "TermModel",
    "TermPair",
    "TrainConfig",
    "TrainingData",
    "TreeLoss",
    "build_hierarchy_pairs",
    "build_phecode_pairs",
    "build_synonym_groups",
    "build_training_data",
    "load_config",
    "load_sources",
    "parse_config",
    "phecode_category",
    "plan_batches",
    "train",
]

_LAZY = {
    "train": "ehrfeat.training.loop",
    "TreeLoss": "ehrfeat.training.losses",
    "SynonymLoss": "ehrfeat.training.losses",
    "TermModel": "ehrfeat.training.model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ehrfeat.training' has no attribute {name!r}")
