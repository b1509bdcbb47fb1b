"""The ``Encoder`` protocol and the batching every encoder shares.

An encoder turns terms into float32, L2-normalised vectors. :class:`BatchedEncoder`
does the part common to every backend, following sentence-transformers: identical
texts are encoded once, the longest texts are batched first (so padding is
minimal and memory peaks early), and rows come back in the caller's order.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ehrfeat.errors import InputError

__all__ = ["BatchedEncoder", "Encoder", "l2_normalize"]

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


class BatchedEncoder(ABC):
    """Deduplication, length sorting, batching and normalisation around ``_encode_batch``."""

    max_length: int = 128

    @property
    @abstractmethod
    def fingerprint(self) -> str: ...

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Pooled, not necessarily normalised, vectors of one batch."""

    def _length_key(self, text: str) -> int:
        """Sort key for batching; backends with a tokenizer may count tokens instead."""
        return len(text)

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
        order = sorted(range(len(unique)), key=lambda i: -self._length_key(unique[i]))
        out = np.empty((len(unique), self.dim), dtype=np.float32)
        bar = _progress(len(unique), show_progress_bar)
        try:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                vectors = self._encode_batch([unique[i] for i in idx])
                out[idx] = vectors
                if bar is not None:
                    bar.update(len(idx))
        finally:
            if bar is not None:
                bar.close()
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


def _progress(total: int, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="term", desc="encoding")
