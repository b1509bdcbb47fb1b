"""A small native database with hand-made code vectors, so patient vectors have exact expected values."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.store.database import open_database
from ehrfeat.store.embeddings import EmbeddingCache
from tests.helpers import make_native_db

FP = "hand-made"
VECTORS = {
    Code("ICD10CM", "E11.9"): [1.0, 0.0, 0.0, 0.0],
    Code("ICD10CM", "I10"): [0.0, 1.0, 0.0, 0.0],
    Code("LOINC", "2345-7"): [0.0, 0.0, 1.0, 0.0],
    Code("ICD10CM", "J44.1"): [0.0, 0.0, 0.0, 1.0],
}
EVENTS = [
    (1, "2019-01-01", "ICD10CM", "E11.9", None),
    (1, "2019-06-01", "ICD10CM", "E11.9", None),
    (1, "2019-03-01", "ICD10CM", "I10", None),
    (2, "2019-02-01", "ICD10CM", "I10", None),
    (2, "2019-02-01", "LOINC", "2345-7", 5.4),
    (3, "2019-02-01", "LOCAL", "X-1", None),  # a code without a cached vector
]


def write_vectors(db: Path, vectors: dict[Code, list[float]] = VECTORS, fingerprint: str = FP) -> None:
    cache = EmbeddingCache(open_database(db))
    cache.ensure_table()
    items = [(code, f"text of {code}") for code in vectors]
    cache.write(fingerprint, items, np.asarray(list(vectors.values()), np.float32))


def build_db(path: Path, events=EVENTS, extra_patients=(4,)) -> Path:
    make_native_db(path, events)
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO patients VALUES (?, NULL, NULL)", [(p,) for p in extra_patients])
    con.commit()
    con.close()
    write_vectors(path)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "p.db")
