from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from ehrfeat.codes import Code
from ehrfeat.errors import DatabaseError, InputError, SchemaError
from ehrfeat.store import open_database
from ehrfeat.store.embeddings import EmbeddingCache


@pytest.fixture
def cache(backend_url):
    """An empty cache on SQLite, then PostgreSQL, then DuckDB."""
    engine = open_database(backend_url, must_exist=False)
    c = EmbeddingCache(engine)
    c.ensure_table()
    yield c
    engine.dispose()


def _items(*codes):
    return [(Code("ICD10CM", c), f"text {c}") for c in codes]


def test_round_trip_keeps_order_values_and_dtype(cache):
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert cache.write("fp1", _items("E11.9", "I10", "A00"), vectors) == 3
    loaded = cache.load("fp1")
    assert loaded.matrix.dtype == np.float32
    by_code = dict(zip(loaded.codes, loaded.matrix, strict=True))
    np.testing.assert_array_equal(by_code[Code("ICD10CM", "I10")], [2.0, 3.0])
    assert loaded.texts[loaded.codes.index(Code("ICD10CM", "A00"))] == "text A00"


def test_fingerprints_are_kept_apart(cache):
    cache.write("fp1", _items("E11.9"), np.ones((1, 2), np.float32))
    cache.write("fp2", _items("E11.9", "I10"), np.zeros((2, 3), np.float32))
    assert cache.fingerprints() == {"fp1": 1, "fp2": 2}
    assert cache.load("fp1").dim == 2 and cache.load("fp2").dim == 3
    with pytest.raises(InputError, match="2 encoders"):
        cache.load()
    with pytest.raises(InputError, match="no embeddings of encoder fp3"):
        cache.load("fp3")


def test_rewriting_a_code_inserts_nothing_twice(cache):
    cache.write("fp", _items("E11.9"), np.ones((1, 2), np.float32))
    assert cache.write("fp", _items("E11.9", "I10"), np.zeros((2, 2), np.float32)) == 1
    assert cache.fingerprints() == {"fp": 2}
    loaded = cache.load("fp")
    np.testing.assert_array_equal(loaded.matrix[loaded.codes.index(Code("ICD10CM", "E11.9"))], [1.0, 1.0])


def test_non_finite_vectors_write_nothing(cache):
    bad = np.array([[1.0, np.nan]], np.float32)
    with pytest.raises(InputError, match="non-finite"):
        cache.write("fp", _items("E11.9"), bad)
    assert cache.fingerprints() == {}


def test_mismatched_lengths_are_rejected(cache):
    with pytest.raises(InputError):
        cache.write("fp", _items("E11.9", "I10"), np.ones((1, 2), np.float32))


def test_corrupt_blob_is_reported(cache):
    cache.write("fp", _items("E11.9"), np.ones((1, 4), np.float32))
    with cache.engine.begin() as conn:  # two bytes: not a whole float32
        conn.execute(sa.text("UPDATE code_embeddings SET vector = :v"), {"v": b"\x00\x00"})
    with pytest.raises(DatabaseError, match=r"corrupt embedding row ICD10CM:E11\.9"):
        cache.load("fp")


def test_existing_table_with_other_columns_is_refused(backend_url):
    engine = open_database(backend_url, must_exist=False)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE code_embeddings (a INTEGER)"))
    with pytest.raises(SchemaError, match="lacks columns"):
        EmbeddingCache(engine).ensure_table()


@pytest.mark.parametrize("name", ["x; DROP TABLE events", "1abc", "a-b", ""])
def test_table_names_are_validated(tmp_path, name):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(InputError):
        EmbeddingCache(engine, name)


def test_empty_table_asks_to_run_embed_codes(cache):
    with pytest.raises(InputError, match="embed-codes"):
        cache.load()


def test_default_breaks_the_tie_between_encoders(cache):
    cache.write("old", _items("E11.9"), np.ones((1, 2), np.float32))
    cache.write("new", _items("E11.9", "I10"), np.zeros((2, 2), np.float32))
    assert cache.load(default=lambda: "new").fingerprint == "new"
    with pytest.raises(InputError, match="2 encoders"):
        cache.load(default=lambda: "absent")  # the default's rows are not there: still ambiguous
    assert cache.load("old", default=lambda: "new").fingerprint == "old"  # a named fingerprint wins
