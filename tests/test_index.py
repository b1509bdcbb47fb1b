from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.encoders.base import l2_normalize
from ehrfeat.index import CodeIndex
from ehrfeat.store.embeddings import CodeEmbeddings


@pytest.fixture
def index():
    rng = np.random.default_rng(0)
    codes = (*tuple(Code("ICD10CM", f"E11.{i}") for i in range(8)), Code("ICD9CM", "250.00"), Code("HPO", "HP:0001250"))
    matrix = l2_normalize(rng.normal(size=(len(codes), 6)))
    return CodeIndex(CodeEmbeddings("fp", codes, tuple(str(c) for c in codes), matrix))


def test_search_matches_brute_force(index):
    rng = np.random.default_rng(1)
    queries = l2_normalize(rng.normal(size=(4, 6)))
    scores, idx = index.search(queries, k=3)
    full = queries @ index.embeddings.matrix.T
    expected = np.argsort(-full, axis=1)[:, :3]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-6)


def test_k_larger_than_index_returns_everything_sorted(index):
    scores, idx = index.search(index.embeddings.matrix[:1], k=50)
    assert idx.shape == (1, len(index))
    assert np.all(np.diff(scores[0]) <= 0)
    assert idx[0, 0] == 0


def test_systems_filter(index):
    _, idx = index.search(index.embeddings.matrix[:1], k=2, systems=["icd9"])
    assert index.embeddings.codes[idx[0, 0]] == Code("ICD9CM", "250.00")
    assert len(index.neighbours(Code("ICD10CM", "E11.0"), k=5, systems=["ICD9CM"])) == 1


def test_find_accepts_odd_forms_and_prefixes(index):
    assert index.find("e11.3 ") == [Code("ICD10CM", "E11.3")]
    assert index.find("ICD9CM:25000") == [Code("ICD9CM", "250.00")]
    assert index.find("HP:0001250") == [Code("HPO", "HP:0001250")]
    assert index.find("Z99.9") == []
    assert index.text(Code("ICD9CM", "250.00")) == "ICD9CM:250.00"


def test_neighbours_exclude_the_query(index):
    out = index.neighbours(Code("ICD10CM", "E11.0"), k=3)
    assert len(out) == 3 and all(n.code != "E11.0" for n in out)
    assert out[0].score >= out[1].score >= out[2].score
