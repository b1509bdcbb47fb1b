"""BatchedEncoder: batches run on several workers when a backend allows it, rows keep the caller's order."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ehrfeat.encoders.base import BatchedEncoder, EncodeCall


class LengthEncoder(BatchedEncoder):
    """Vector = (len(text), 1): easy to check every row against its text."""

    def __init__(self, workers: int, rendezvous: int = 0, fail_on: str | None = None, delay: float = 0.0) -> None:
        self.workers = workers
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self._barrier = threading.Barrier(rendezvous, timeout=10) if rendezvous else None
        self._fail_on = fail_on
        self._lock = threading.Lock()
        self._delay = delay

    @property
    def fingerprint(self) -> str:
        return "length"

    @property
    def dim(self) -> int:
        return 2

    def _workers(self) -> int:
        return self.workers

    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
        with self._lock:
            self.batches.append(texts)
            self.threads.add(threading.current_thread().name)
        if self._fail_on in texts:
            raise RuntimeError("boom")
        time.sleep(self._delay)
        if self._barrier is not None and len(self.batches) <= self._barrier.parties:
            self._barrier.wait()  # the first batches wait for each other: they only pass if they run at once
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


TEXTS = [f"{'x' * (i % 37 + 1)}-{i}" for i in range(300)]


def _expected(texts: list[str]) -> np.ndarray:
    rows = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_one_worker_runs_batches_in_order_on_the_callers_thread() -> None:
    encoder = LengthEncoder(workers=1)
    out = encoder.encode(TEXTS + TEXTS[:5], batch_size=64)
    np.testing.assert_allclose(out, _expected(TEXTS + TEXTS[:5]), rtol=1e-6)
    assert [len(b) for b in encoder.batches] == [64, 64, 64, 64, 44]
    assert encoder.threads == {threading.current_thread().name}
    lengths = [len(t) for b in encoder.batches for t in b]
    assert lengths == sorted(lengths, reverse=True)  # longest first


def test_several_workers_run_batches_at_once_and_keep_row_order() -> None:
    encoder = LengthEncoder(workers=2, rendezvous=2)  # deadlocks into BrokenBarrierError unless two batches overlap
    out = encoder.encode(TEXTS, batch_size=64)
    np.testing.assert_allclose(out, _expected(TEXTS), rtol=1e-6)
    assert sorted(t for b in encoder.batches for t in b) == sorted(TEXTS)  # every text once
    assert len(encoder.threads) == 2 and all(name.startswith("ehrfeat-encode") for name in encoder.threads)


def test_a_call_smaller_than_the_workers_batches_is_cut_so_each_worker_gets_one() -> None:
    encoder = LengthEncoder(workers=2, rendezvous=2)
    out = encoder.encode(TEXTS[:50], batch_size=64)
    np.testing.assert_allclose(out, _expected(TEXTS[:50]), rtol=1e-6)
    assert sorted(len(b) for b in encoder.batches) == [25, 25]
    one = LengthEncoder(workers=4)
    one.encode(["asthma"])
    assert one.batches == [["asthma"]] and one.threads == {threading.current_thread().name}


def test_a_failing_batch_is_raised_and_the_rest_not_started() -> None:
    longest = max(TEXTS, key=len)
    encoder = LengthEncoder(workers=2, fail_on=longest, delay=0.05)
    with pytest.raises(RuntimeError, match="boom"):
        encoder.encode(TEXTS, batch_size=8)  # 38 batches; the first one fails
    assert len(encoder.batches) < 38
