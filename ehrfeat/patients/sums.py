"""Sums per key of sorted int64 keys: the step that turns events into (patient, code) weights."""

from __future__ import annotations

import numpy as np

__all__ = ["count_sorted", "reduce_sorted"]


def reduce_sorted(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique sorted ``keys`` with the summed ``weights`` of each."""
    if len(keys) < 2:
        return keys, weights
    first = np.empty(len(keys), bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    if first.all():  # most chunks: every key once
        return keys, weights
    return keys[first], np.bincount(np.cumsum(first) - 1, weights=weights)


def count_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique sorted ``keys`` with how often each occurs (float64): :func:`reduce_sorted` of unit weights."""
    if len(keys) == 0:
        return keys, np.zeros(0, np.float64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    counts = np.diff(np.append(starts, len(keys))).astype(np.float64)
    return (keys if len(starts) == len(keys) else keys[starts]), counts
