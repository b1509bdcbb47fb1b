"""The weight x embedding product: column blocks on threads give exactly one scipy call's result."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ehrfeat.patients import product
from ehrfeat.patients.product import combine, sparse_times_dense
from ehrfeat.patients.weights import Weights


def _weights(n: int, codes: int, nnz: int, blocks: tuple[str, ...] = ("",), seed: int = 0) -> Weights:
    rng = np.random.default_rng(seed)
    width = codes * len(blocks)
    rows, cols = rng.integers(0, n, nnz), rng.integers(0, width, nnz)
    matrix = sp.csr_matrix((rng.integers(1, 4, nnz).astype(np.float64), (rows, cols)), shape=(n, width))
    matrix.sum_duplicates()
    return Weights(matrix, blocks, codes, np.asarray(matrix.sum(axis=1)).ravel().astype(np.int64), {}, nnz)


def _one_call(weights: Weights, e: np.ndarray, weighting: str, idf: np.ndarray | None) -> np.ndarray:
    """What combine computed before: one scipy product per block, then a division."""
    parts = []
    for b in range(len(weights.blocks)):
        w = weights.matrix[:, b * weights.n_codes : (b + 1) * weights.n_codes]
        if idf is not None:
            w = w @ sp.diags(idf[b * weights.n_codes : (b + 1) * weights.n_codes])
        block = np.asarray(w.astype(np.float32) @ e)
        if weighting != "count":
            total = np.asarray(w.sum(axis=1)).ravel()
            np.divide(block, np.where(total > 0, total, 1.0).astype(np.float32)[:, None], out=block)
        parts.append(block)
    return np.hstack(parts)


@pytest.mark.parametrize("weighting", ["mean", "count", "idf"])
@pytest.mark.parametrize("blocks", [("",), ("dx", "lab", "rx")])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_blocks_on_threads_equal_one_call_bit_for_bit(weighting: str, blocks: tuple[str, ...], threads: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(product, "SMALL_PRODUCT", 0)  # threads even on a small product
    weights = _weights(700, 50, 6000, blocks)
    e = np.random.default_rng(1).standard_normal((50, 200)).astype(np.float32)  # 200: blocks of 96, 96, 8
    idf = np.random.default_rng(2).random(50 * len(blocks)) + 1.0 if weighting == "idf" else None
    got = combine(weights, e, "mean" if weighting == "idf" else weighting, idf, threads=threads)
    want = _one_call(weights, e, "mean" if weighting == "idf" else weighting, idf)
    assert got.dtype == np.float32 and got.shape == (700, 200 * len(blocks))
    assert np.array_equal(got, want)


def test_patients_without_codes_get_zero_rows_not_nans() -> None:
    weights = _weights(50, 10, 40)
    empty = np.asarray(weights.matrix.sum(axis=1)).ravel() == 0
    assert empty.any()
    got = combine(weights, np.ones((10, 8), np.float32), "mean")
    assert np.isfinite(got).all() and not got[empty].any()
    assert np.allclose(got[~empty], 1.0)


def test_no_patients_and_no_dims() -> None:
    assert combine(_weights(0, 5, 0), np.ones((5, 4), np.float32), "mean").shape == (0, 4)
    assert combine(_weights(3, 5, 4), np.zeros((5, 0), np.float32), "count").shape == (3, 0)


def test_shapes_that_do_not_match_are_refused() -> None:
    w = sp.csr_matrix(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="shapes do not match"):
        sparse_times_dense(w, np.ones((5, 2), np.float32), np.empty((3, 2), np.float32))


def test_large_products_use_the_thread_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    seen: set[str] = set()
    real = product.np.ascontiguousarray

    def spy(a: np.ndarray) -> np.ndarray:
        seen.add(threading.current_thread().name)
        return real(a)

    monkeypatch.setattr(product.np, "ascontiguousarray", spy)
    monkeypatch.setattr(product, "SMALL_PRODUCT", 0)
    combine(_weights(100, 20, 300), np.ones((20, 300), np.float32), "mean", threads=2)
    assert seen and all(name.startswith("ehrfeat-product") for name in seen)
    seen.clear()
    combine(_weights(100, 20, 300), np.ones((20, 300), np.float32), "mean", threads=1)
    assert seen == {threading.current_thread().name}
