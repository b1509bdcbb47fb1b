"""Sums per key of sorted int64 keys (events into (patient, code) weights), and the idf of the counts."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["count_sorted", "reduce_sorted", "smooth_idf", "smooth_idf_from_counts"]


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


def smooth_idf(matrix: sp.csr_matrix) -> np.ndarray:
    """scikit-learn's smooth idf per column: ``ln((1 + n) / (1 + df)) + 1`` over the rows of ``matrix``."""
    df = np.bincount(matrix.indices[matrix.data > 0], minlength=matrix.shape[1])
    return smooth_idf_from_counts(df, matrix.shape[0])


def smooth_idf_from_counts(df: np.ndarray, n: int) -> np.ndarray:
    """``ln((1 + n) / (1 + df)) + 1`` of document frequencies ``df`` over ``n`` patients (ones when ``n`` is 0)."""
    df = np.asarray(df, dtype=np.float64)
    return np.log((1.0 + n) / (1.0 + df)) + 1.0 if n else np.ones(len(df))
