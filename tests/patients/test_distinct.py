"""Distinct (key, time) events: hashed duplicate search equals an exact set, collisions included."""

from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.patients import distinct
from ehrfeat.patients.distinct import DistinctEvents, distinct_events, drop_duplicates


def _reference(key, time):
    return sorted(set(zip(key.tolist(), time.tolist(), strict=True)))


@pytest.mark.parametrize("merge_at", [1, 50, 10_000])
def test_distinct_events_across_parts_equal_a_set(merge_at):
    rng = np.random.default_rng(7)
    store, keys, times = DistinctEvents(merge_at), [], []
    for _ in range(12):
        k = rng.integers(0, 40, 200).astype(np.int64)
        t = rng.integers(-3, 3, 200).astype(np.int64) * 86_400
        store.add(k, t)
        keys.append(k)
        times.append(t)
    key, time, duplicates = store.finish()
    want = _reference(np.concatenate(keys), np.concatenate(times))
    assert sorted(zip(key.tolist(), time.tolist(), strict=True)) == want
    assert (np.diff(key) >= 0).all()
    assert duplicates == 12 * 200 - len(want)
    assert store.finish().duplicates == 0  # emptied


def test_hash_collisions_are_never_taken_for_duplicates(monkeypatch):
    monkeypatch.setattr(distinct, "_hash", lambda key, time: (key % 3).view(np.uint64))  # nearly every pair collides
    key = np.array([5, 8, 5, 2, 5, 8, 11], np.int64)
    time = np.array([1, 1, 1, 7, 2, 1, -4], np.int64)
    k, t = drop_duplicates(key, time)
    assert list(zip(k.tolist(), t.tolist(), strict=True)) == [(5, 1), (8, 1), (2, 7), (5, 2), (11, -4)]  # first of each, in order
    k, t = distinct_events(key, time)
    assert sorted(zip(k.tolist(), t.tolist(), strict=True)) == _reference(key, time)


def test_extreme_values_hash_alike():
    big = np.iinfo(np.int64)
    key = np.array([big.max, big.min, big.max, 0], np.int64)
    time = np.array([big.min, big.max, big.min, 0], np.int64)
    k, t = drop_duplicates(key, time)
    assert list(zip(k.tolist(), t.tolist(), strict=True)) == [(big.max, big.min), (big.min, big.max), (0, 0)]


@pytest.mark.parametrize("few_copies", [0, 3, 10_000])  # 0: sort again; 3: both ways by count; 10,000: take copies out
@pytest.mark.parametrize("with_time", [True, False])
def test_the_key_sort_beside_the_duplicate_search_equals_a_set(monkeypatch, few_copies, with_time):
    """Large stores sort the keys on a second thread while duplicates are looked for, then take the copies out."""
    monkeypatch.setattr(distinct, "PARALLEL_AT", 1)
    monkeypatch.setattr(distinct, "FEW_COPIES", few_copies)
    rng = np.random.default_rng(few_copies)
    store, keys, times = DistinctEvents(10**9), [], []  # never merged before finish
    for size in (300, 5, 120):
        k = rng.integers(0, 30, size).astype(np.int64)
        t = rng.integers(0, 4, size).astype(np.int64)
        store.add(k, t)
        keys.append(k)
        times.append(t)
    key, time, duplicates = store.finish(with_time=with_time)
    want = _reference(np.concatenate(keys), np.concatenate(times))
    assert duplicates == 425 - len(want) and (np.diff(key) >= 0).all()
    if with_time:
        assert sorted(zip(key.tolist(), time.tolist(), strict=True)) == want
    else:
        assert key.tolist() == sorted(k for k, _ in want) and len(time) == 0
