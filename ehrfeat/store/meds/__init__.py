"""MEDS datasets (Medical Event Data Standard): reading shards lazily, code strings, labels, code vectors, writing.

Needs the ``meds`` extra (``pyarrow`` and the ``meds`` schemas); nothing here is imported
by the SQL stores, so native and OMOP users never need it.
"""

from __future__ import annotations

from ehrfeat.store.meds.code_rules import BUILTIN_RULES, CodeRule, CodeRules, ParsedCode, default_rules, load_code_rules
from ehrfeat.store.meds.codes import MedsCode, distinct_meds_codes, resolve_meds_texts
from ehrfeat.store.meds.dataset import (
    EMBEDDINGS_FILE,
    MedsBatch,
    MedsDataset,
    MedsReadReport,
    looks_like_meds,
    open_meds,
)
from ehrfeat.store.meds.labels import PredictionTimes, read_labels

__all__ = [
    "BUILTIN_RULES",
    "EMBEDDINGS_FILE",
    "CodeRule",
    "CodeRules",
    "MedsBatch",
    "MedsCode",
    "MedsDataset",
    "MedsReadReport",
    "ParsedCode",
    "PredictionTimes",
    "default_rules",
    "distinct_meds_codes",
    "load_code_rules",
    "looks_like_meds",
    "open_meds",
    "read_labels",
    "resolve_meds_texts",
]
