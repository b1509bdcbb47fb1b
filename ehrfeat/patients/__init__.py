"""Patient vectors from cached code embeddings, clustering, and a scikit-learn transformer.

Importing this package needs numpy and scipy only; pandas, pyarrow, scikit-learn
and matplotlib (the ``patients`` extra) are imported where they are used.
"""

from __future__ import annotations

from typing import Any

from ehrfeat.patients.vectors import PatientVectors, VectorReport, patient_vectors
from ehrfeat.patients.weights import WEIGHTINGS

__all__ = ["WEIGHTINGS", "PatientEmbedder", "PatientVectors", "VectorReport", "patient_vectors"]


def __getattr__(name: str) -> Any:
    if name == "PatientEmbedder":  # needs scikit-learn
        from ehrfeat.patients.sklearn_api import PatientEmbedder

        return PatientEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
