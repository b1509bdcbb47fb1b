"""The ``Encoder`` protocol and the batching every encoder shares.

An encoder turns terms into float32, L2-normalised vectors. :class:`BatchedEncoder`
does the part common to every backend, following sentence-transformers: identical
texts are encoded once, the longest texts are batched first (so padding is
minimal and memory peaks early), and rows come back in the caller's order. A backend
whose batches release the GIL (onnxruntime on the CPU) may run several at once.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ehrfeat.errors import InputError

__all__ = ["BatchedEncoder", "EncodeCall", "Encoder", "l2_normalize"]

logger = logging.getLogger(__name__)


@runtime_checkable
class Encoder(Protocol):
    """What embed-codes, patient vectors and the spaCy linker need of an encoder."""

    @property
    def fingerprint(self) -> str:
        """Identifies the weights and settings; embeddings of different fingerprints never mix."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        show_progress_bar: bool = False,
        normalize_embeddings: bool = True,
    ) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)``."""
        ...


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


@dataclass
class EncodeCall:
    """The state of one ``encode()`` call, handed to the backend's hooks.

    It lives on the caller's stack, never on the encoder, so one encoder can serve
    several calls at once (threads, nested calls). Backends keep what they prepare
    for a call (tokenised texts, say) in ``prepared``.
    """

    unique: list[str]
    normalize: bool
    n_texts: int = 0  # texts asked for, duplicates included
    prepared: dict[str, Any] = field(default_factory=dict)


class BatchedEncoder(ABC):
    """Deduplication, length sorting, batching and normalisation around ``_encode_batch``.

    Per-call hooks: ``_begin_call`` prepares an :class:`EncodeCall` (default: nothing to
    prepare), ``_length_key`` and ``_encode_batch`` read it, ``_end_call`` reports on it.
    ``_workers`` says how many batches may run at once (default 1); with more, a call
    smaller than ``workers * batch_size`` texts is cut into ``workers`` equal batches so
    that every worker has one.
    """

    max_length: int = 128

    @property
    @abstractmethod
    def fingerprint(self) -> str: ...

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
        """Pooled, not necessarily normalised, vectors of one batch of ``call``."""

    def _begin_call(self, call: EncodeCall) -> EncodeCall:
        """What one call needs before batching (e.g. every text tokenised once, in ``call.prepared``)."""
        return call

    def _end_call(self, call: EncodeCall) -> None:
        """Called once the call's batches are done (or failed); e.g. warnings about its texts."""
        return None

    def _length_key(self, text: str, call: EncodeCall) -> int:
        """Sort key for batching; backends with a tokenizer may count tokens instead."""
        return len(text)

    def _workers(self) -> int:
        """How many batches of one call may run at once; > 1 only if ``_encode_batch`` is thread-safe."""
        return 1

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        show_progress_bar: bool = False,
        normalize_embeddings: bool = True,
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise InputError(
                "encode() takes a list of texts, not one string",
                fix="wrap the text in a list: encode([text])",
                code="E109",
            )
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}", code="E105")
        texts = [self._check_text(i, t) for i, t in enumerate(texts)]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        call = self._begin_call(EncodeCall(unique, normalize_embeddings, len(texts)))
        out = np.empty((len(unique), self.dim), dtype=np.float32)
        bar = _progress(len(unique), show_progress_bar)
        try:
            order = sorted(range(len(unique)), key=lambda i: -self._length_key(unique[i], call))
            workers = max(1, min(self._workers(), len(order)))
            size = min(batch_size, -(-len(order) // workers))
            batches = [order[start : start + size] for start in range(0, len(order), size)]

            def run(idx: list[int]) -> int:
                out[idx] = self._encode_batch([unique[i] for i in idx], call)
                return len(idx)

            for done in _run_batches(run, batches, workers):
                if bar is not None:
                    bar.update(done)
        finally:
            if bar is not None:
                bar.close()
            self._end_call(call)
        if normalize_embeddings:
            out = l2_normalize(out)
        position = {t: i for i, t in enumerate(unique)}
        return out[[position[t] for t in texts]]

    @staticmethod
    def _check_text(index: int, text: object) -> str:
        if not isinstance(text, str):
            raise InputError(
                f"text #{index} is {type(text).__name__}, not str",
                fix="pass strings only; convert or drop missing values first",
                code="E109",
            )
        return text


def _run_batches(run: Callable[[list[int]], int], batches: list[list[int]], workers: int) -> Iterator[int]:
    """Yield each batch's size once it is done: in order on this thread, or on ``workers`` threads
    (longest batches first); the first failure cancels the batches not yet started and is raised."""
    if workers == 1 or len(batches) == 1:
        yield from map(run, batches)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="ehrfeat-encode") as pool:
        futures = [pool.submit(run, idx) for idx in batches]
        try:
            for future in futures:
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _progress(total: int, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="term", desc="encoding")
