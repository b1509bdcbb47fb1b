"""MentionVectors: a text encoded once per process, a bounded cache, never pickled with its encoder."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import ehrfeat.linking.mention_vectors as mv
from ehrfeat.errors import ModelError
from ehrfeat.linking.code_index import LinkingIndex, build_index
from ehrfeat.linking.mention_vectors import MentionVectors
from ehrfeat.vocab import Vocabulary
from tests.omop_data import HashEncoder


class CountingEncoder(HashEncoder):
    def __init__(self, dim: int = 16) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().encode(texts, **kwargs)


def test_each_text_is_encoded_once_and_vectors_match_the_encoder(small_vocab: Vocabulary) -> None:
    index = build_index(small_vocab, HashEncoder())
    encoder = CountingEncoder()
    vectors = MentionVectors(None)
    vectors.set_encoder(encoder)
    assert vectors.encoder is encoder
    first = vectors.encode(["chest pain", "fever"], index, batch_size=8)  # the linker passes distinct texts
    again = vectors.encode(["fever", "cough"], index, batch_size=8)
    assert encoder.seen == ["chest pain", "fever", "cough"]
    assert first.dtype == np.float32 and first.shape == (2, index.embeddings.dim)
    np.testing.assert_array_equal(first[1], again[0])
    np.testing.assert_allclose(again, HashEncoder().encode(["fever", "cough"]), rtol=1e-6)
    vectors.clear()
    vectors.encode(["fever"], index, batch_size=8)
    assert encoder.seen[-1] == "fever"  # forgotten by clear()


def _cache_of_two(vocab: Vocabulary, monkeypatch: pytest.MonkeyPatch) -> tuple[LinkingIndex, CountingEncoder, MentionVectors]:
    """An index, a counting encoder and mention vectors whose cache holds two texts."""
    monkeypatch.setattr(mv, "VECTOR_CACHE_SIZE", 2)
    encoder = CountingEncoder()
    vectors = MentionVectors(None)
    vectors.set_encoder(encoder)
    return build_index(vocab, HashEncoder()), encoder, vectors


def test_the_cache_drops_the_least_recently_used(small_vocab: Vocabulary, monkeypatch: pytest.MonkeyPatch) -> None:
    index, encoder, vectors = _cache_of_two(small_vocab, monkeypatch)
    vectors.encode(["a", "b"], index, batch_size=8)
    vectors.encode(["a"], index, batch_size=8)
    vectors.encode(["c"], index, batch_size=8)  # "b" is the least recently used: dropped
    vectors.encode(["a"], index, batch_size=8)
    vectors.encode(["b"], index, batch_size=8)
    assert encoder.seen == ["a", "b", "c", "b"]


def test_an_encoder_of_another_space_is_refused_and_never_pickled(small_vocab: Vocabulary) -> None:
    index = build_index(small_vocab, HashEncoder(dim=16))
    vectors = MentionVectors("some-model")
    vectors.set_encoder(HashEncoder(dim=8))
    with pytest.raises(ModelError, match="was built with encoder hash-16"):
        vectors.encode(["fever"], index, batch_size=8)
    vectors.set_encoder(HashEncoder(dim=16))
    vectors.encode(["fever"], index, batch_size=8)
    copy = pickle.loads(pickle.dumps(vectors))
    assert copy.model == "some-model"
    assert copy.__dict__["_encoder"] is None and len(copy.__dict__["_vectors"]) == 0
    assert vectors.__dict__["_encoder"] is not None  # the original keeps its own


def test_a_full_cache_serves_a_batch_of_old_and_new_texts(small_vocab: Vocabulary, monkeypatch: pytest.MonkeyPatch) -> None:
    """The least recently used text and new texts in one batch (evicting before the copy raised KeyError)."""
    index, encoder, vectors = _cache_of_two(small_vocab, monkeypatch)
    vectors.encode(["a", "b"], index, batch_size=8)
    out = vectors.encode(["a", "c", "d", "c"], index, batch_size=8)  # "a" is the oldest; three texts > the cache
    assert out.shape == (4, index.embeddings.dim) and np.array_equal(out[1], out[3])
    assert encoder.seen == ["a", "b", "c", "d"]  # "c" encoded once, though it came twice
    assert np.array_equal(vectors.encode(["d"], index, batch_size=8)[0], out[2])
    assert encoder.seen == ["a", "b", "c", "d"]  # "d", among the most recent, was kept
