"""The column of each cached code in the patient x code matrix, and a chunk's codes looked up in C.

Codes are grouped by system; each system's codes sit in one pandas index, so a
chunk of millions of events costs one hash probe per event, not a Python lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ehrfeat.codes import Code

__all__ = ["CodeColumns"]


class CodeColumns:
    """Column index of each cached code; vectorised lookup of a chunk's (system, code) pairs."""

    def __init__(self, codes: Sequence[Code]) -> None:
        self.codes = tuple(codes)
        by_system: dict[str, tuple[list[str], list[int]]] = {}
        for i, c in enumerate(self.codes):
            names, cols = by_system.setdefault(c.system, ([], []))
            names.append(c.code)
            cols.append(i)
        self._by_system = by_system
        self._indexes: dict[str, tuple[Any, np.ndarray]] = {}
        self._columns: dict[tuple[str, str], int] | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def column(self, key: tuple[str, str]) -> int:
        """Column of one canonical ``(system, code)``, ``-1`` when not cached (the database paths' code maps)."""
        if self._columns is None:
            self._columns = {(c.system, c.code): i for i, c in enumerate(self.codes)}
        return self._columns.get(key, -1)

    def _index(self, system: str) -> tuple[Any, np.ndarray] | None:
        import pandas as pd

        if system not in self._indexes and system in self._by_system:
            names, cols = self._by_system[system]
            self._indexes[system] = (pd.Index(names, dtype=object), np.asarray(cols, np.int64))
        return self._indexes.get(system)

    def lookup(self, systems: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """int64 column of each event, ``-1`` for codes not cached: one hash probe per event, in C."""
        import pandas as pd

        out = np.full(len(codes), -1, np.int64)
        if len(codes) == 0:
            return out
        sys_idx, sys_uniques = pd.factorize(systems, use_na_sentinel=False)
        for i, system in enumerate(sys_uniques):
            found = self._index(system) if isinstance(system, str) else None
            if found is None:
                continue
            index, cols = found
            where = np.flatnonzero(sys_idx == i) if len(sys_uniques) > 1 else slice(None)
            pos = index.get_indexer(pd.Index(codes[where], dtype=object))  # object: no string-dtype inference
            out[where] = np.where(pos >= 0, cols[pos], -1)
        return out
