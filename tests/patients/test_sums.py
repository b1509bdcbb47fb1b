"""Sums per sorted key, checked against hand-computed values and against each other."""

from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.patients.sums import count_sorted, reduce_sorted


def test_reduce_sorted_by_hand() -> None:
    keys, sums = reduce_sorted(np.array([3, 3, 5, 9, 9, 9]), np.array([0.5, 1.0, 2.0, 1.0, 1.0, 0.25]))
    assert keys.tolist() == [3, 5, 9] and sums.tolist() == [1.5, 2.0, 2.25]


def test_count_sorted_by_hand() -> None:
    keys, counts = count_sorted(np.array([-4, 3, 3, 5, 9, 9, 9], np.int64))
    assert keys.tolist() == [-4, 3, 5, 9] and counts.tolist() == [1.0, 2.0, 1.0, 3.0]
    assert counts.dtype == np.float64


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_count_sorted_is_reduce_sorted_of_unit_weights(n: int) -> None:
    keys = np.sort(np.random.default_rng(n).integers(0, max(n // 3, 1), n))
    want = reduce_sorted(keys, np.ones(n, np.float64))
    got = count_sorted(keys)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_all_distinct_keys_are_returned_as_they_are() -> None:
    keys = np.arange(10, dtype=np.int64)
    assert count_sorted(keys)[0] is keys
