"""A held-out evaluation set small enough to score by hand, and an encoder that looks vectors up in a table
(any Encoder works, no torch needed): shared by the tests of ehrfeat.evaluation and ehrfeat.training.compare."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ehrfeat.encoders.base import BatchedEncoder, EncodeCall
from ehrfeat.evaluation import EvalSet

__all__ = ["BAD", "EVAL", "GOOD", "TableEncoder"]


class TableEncoder(BatchedEncoder):
    """Vectors looked up in a dict: any Encoder works, no torch needed."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = table

    @property
    def fingerprint(self) -> str:
        return "table"

    @property
    def dim(self) -> int:
        return 2

    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
        return np.array([self.table[t] for t in texts], dtype=np.float32)


EVAL = EvalSet(
    pairs=(("s", "a", "a2", 0), ("s", "a", "b", 1), ("s", "a", "c", 2), ("s", "a", "d", 3)),
    synonym_groups=(("a", "a2"), ("d", "d2")),
)
GOOD = {"a": (1, 0), "a2": (1, 0.05), "b": (1, 0.5), "c": (1, 1.5), "d": (0, 1), "d2": (0.1, 1)}
BAD = {"a": (1, 0), "a2": (0, 1), "b": (1, 1), "c": (1, 0.1), "d": (1, 0.01), "d2": (1, 0)}
