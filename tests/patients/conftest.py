"""A small native database with hand-made code vectors, so patient vectors have exact expected values.

``db`` is that database as a SQLite file; ``any_db`` is the same database on SQLite, PostgreSQL and
DuckDB (the test runs once per backend; ``build_url`` writes it at any URL).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.store.database import open_database
from ehrfeat.store.embeddings import EmbeddingCache
from tests.helpers import insert_rows, make_native_db, make_native_url

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


def write_vectors(db: Path | str, vectors: dict[Code, list[float]] = VECTORS, fingerprint: str = FP) -> None:
    engine = open_database(db)
    cache = EmbeddingCache(engine)
    cache.ensure_table()
    items = [(code, f"text of {code}") for code in vectors]
    cache.write(fingerprint, items, np.asarray(list(vectors.values()), np.float32))
    engine.dispose()


def build_url(url: str, events=EVENTS, extra_patients=(4,)) -> str:
    """:func:`build_db` at any SQLAlchemy URL (SQLite, PostgreSQL, DuckDB)."""
    make_native_url(url, events, extra_patients=extra_patients)
    write_vectors(url)
    return url


def build_db(path: Path, events=EVENTS, extra_patients=(4,)) -> Path:
    make_native_db(path, events)
    insert_rows(f"sqlite:///{path}", "patients", [(p, None, None) for p in extra_patients])
    write_vectors(path)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "p.db")


@pytest.fixture
def any_db(backend_url: str) -> str:
    """The ``db`` database on SQLite, then PostgreSQL, then DuckDB."""
    return build_url(backend_url)
