"""The linker's mention vectors: its encoder, loaded lazily in each process, and a cache of text vectors.

The encoder is loaded on first use, never at import or construction, and is never
pickled: worker processes (``nlp.pipe(n_process=2)``) load their own, keeping the one
inherited from the parent alive (see :func:`_after_fork`). Each distinct mention text
is encoded once per process; the cache holds at most :data:`VECTOR_CACHE_SIZE` vectors,
the least recently used dropped first.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from typing import Any

import numpy as np

from ehrfeat.encoders.base import Encoder
from ehrfeat.linking.code_index import LinkingIndex

__all__ = ["VECTOR_CACHE_SIZE", "MentionVectors"]

VECTOR_CACHE_SIZE = 50_000


class MentionVectors:
    """The encoder of ``model`` (``None``: the default) and the vectors of the mention texts it encoded."""

    def __init__(self, model: str | None) -> None:
        self.model = model
        self._encoder: Encoder | None = None
        self._encoder_pid = 0
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def encoder(self) -> Encoder:
        """The encoder, loaded on first use (and again in a forked worker process)."""
        if self._encoder is None or self._encoder_pid != os.getpid():
            from ehrfeat.models.loader import load_encoder

            if self._encoder is not None:
                _after_fork(self._encoder)

            self._encoder = load_encoder(self.model)
            self._encoder_pid = os.getpid()
        return self._encoder

    def set_encoder(self, encoder: Encoder) -> None:
        """Use an encoder object already in memory (it must match the index); forgets the cached vectors."""
        self._encoder, self._encoder_pid = encoder, os.getpid()
        self._vectors.clear()

    def clear(self) -> None:
        """Forget the cached vectors (the index changed)."""
        self._vectors.clear()

    def encode(self, texts: list[str], index: LinkingIndex, batch_size: int) -> np.ndarray:
        """Vectors of ``texts`` (float32, ``index``'s width); each distinct text is encoded once per process."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            encoder = self.encoder
            index.check_encoder(encoder)
            fresh = encoder.encode(todo, batch_size=batch_size)
            for text, vector in zip(todo, fresh, strict=True):
                self._vectors[text] = vector
        out = np.empty((len(texts), index.embeddings.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vectors[text]
            self._vectors.move_to_end(text)
        while len(self._vectors) > VECTOR_CACHE_SIZE:  # after the copy: this batch's texts are the most recent
            self._vectors.popitem(last=False)
        return out

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the encoder and the cache: the receiving process loads its own."""
        return {**self.__dict__, "_encoder": None, "_encoder_pid": 0, "_vectors": OrderedDict()}


_INHERITED: list[Encoder] = []


def _after_fork(inherited: Encoder) -> None:
    """In a forked worker: keep the parent's encoder alive, and torch (if the parent used it) off its OpenMP pool.

    Both would deadlock: freeing an onnxruntime session waits on the thread pool of the
    parent, whose threads do not exist in the child (``nlp.pipe(n_process=2)`` hung once
    the parent had encoded anything), and torch's inherited OpenMP pool is in the same state.
    """
    _INHERITED.append(inherited)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
