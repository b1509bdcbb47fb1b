"""An OMOP extract without vocabularies (ehrfeat.demo_omop), imported into SQLite, PostgreSQL or DuckDB.

A pytest plugin of ``tests/conftest.py``: ``extract_csv``, ``extract_url`` and ``encoder`` serve every package's tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from ehrfeat.demo_omop import write_omop_extract
from ehrfeat.encoders.base import BatchedEncoder, EncodeCall
from ehrfeat.store import import_omop


class HashEncoder(BatchedEncoder):
    """A real, deterministic encoder without a model: each text's vector is seeded by its SHA-256."""

    def __init__(self, dim: int = 16) -> None:
        self._dim = dim

    @property
    def fingerprint(self) -> str:
        return f"hash-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little") for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(self._dim) for s in seeds]).astype(np.float32)


@pytest.fixture(scope="session")
def extract_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CSV files of a 300-patient extract shaped like a real one without vocabularies."""
    folder = tmp_path_factory.mktemp("omop-extract")
    write_omop_extract(folder, n_patients=300, seed=0)
    return folder


@pytest.fixture
def extract_url(extract_csv: Path, backend_url: str) -> str:
    """The extract imported into a new SQLite, PostgreSQL or DuckDB database (the test runs on each)."""
    import_omop(extract_csv, backend_url)
    return backend_url


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder()
