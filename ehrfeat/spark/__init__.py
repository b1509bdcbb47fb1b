"""ehrfeat on Apache Spark (extra ``spark``): code embedding and patient vectors where the data lives.

Same numbers as one machine: the events are normalised with the single-machine
functions on the executors, the weights follow the same rules and reasons, and the
last step per patient partition is :func:`ehrfeat.patients.vectors.combine` itself.
Importing this package does not import pyspark; each function needs it (and Java 17).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SparkPatientVectors", "embed_codes", "patient_vectors", "read_meds", "read_native", "read_omop", "read_source",
           "spark_session"]

_WHERE = {
    "SparkPatientVectors": "ehrfeat.spark.vectors",
    "patient_vectors": "ehrfeat.spark.vectors",
    "embed_codes": "ehrfeat.spark.embed",
    "read_meds": "ehrfeat.spark.readers",
    "read_native": "ehrfeat.spark.readers",
    "read_omop": "ehrfeat.spark.readers",
    "read_source": "ehrfeat.spark.readers",
    "spark_session": "ehrfeat.spark.session",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        from ehrfeat.spark.session import require_pyspark

        require_pyspark()
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
