"""Exact cosine nearest-neighbour search over code embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ehrfeat.codes import Code, canonical_system
from ehrfeat.errors import InputError
from ehrfeat.store.embeddings import CodeEmbeddings

__all__ = ["CodeIndex", "Neighbour"]


@dataclass(frozen=True)
class Neighbour:
    system: str
    code: str
    text: str
    score: float


class CodeIndex:
    """Top-k by cosine over an L2-normalised code matrix (a matrix product: exact, batched)."""

    def __init__(self, embeddings: CodeEmbeddings) -> None:
        self.embeddings = embeddings
        self._position = {code: i for i, code in enumerate(embeddings.codes)}
        self._systems = np.array([c.system for c in embeddings.codes], dtype=object)
        self._masks: dict[frozenset[str], np.ndarray | None] = {}

    def __len__(self) -> int:
        return len(self.embeddings)

    def find(self, code: str, system: str | None = None) -> list[Code]:
        """Codes of the index matching ``code`` (``SYSTEM:CODE``, or bare in any system)."""
        if system is None and ":" in code and not code.upper().startswith("HP:"):
            system, code = code.split(":", 1)
        systems = [canonical_system(system)] if system else sorted(set(self._systems))
        found = []
        for sys_ in systems:
            try:
                ref = Code.parse(sys_, code)
            except InputError:
                continue
            if ref in self._position:
                found.append(ref)
        return found

    def vector(self, code: Code) -> np.ndarray:
        return self.embeddings.matrix[self._position[code]]

    def text(self, code: Code) -> str:
        return self.embeddings.texts[self._position[code]]

    def search(
        self, queries: np.ndarray, k: int = 10, *, systems: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row indices ``(n_queries, k)`` of the ``k`` nearest codes, best first."""
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}", code="E125")
        scores = np.asarray(queries, dtype=np.float32) @ self.embeddings.matrix.T
        if systems:
            excluded = self._excluded(systems)
            if excluded is not None:
                scores[:, excluded] = -np.inf
        k = min(k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(np.arange(k), (len(scores), 1))
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        return np.take_along_axis(top_scores, order, axis=1), np.take_along_axis(top, order, axis=1)

    def _excluded(self, systems: Sequence[str]) -> np.ndarray | None:
        """The boolean mask of the rows outside ``systems`` (``None``: no row is), computed once per set of systems."""
        wanted = frozenset(canonical_system(s) for s in systems)
        if wanted not in self._masks:
            excluded = ~np.isin(self._systems, list(wanted))
            self._masks[wanted] = excluded if excluded.any() else None
        return self._masks[wanted]

    def neighbours(self, code: Code, k: int = 10, *, systems: Sequence[str] | None = None) -> list[Neighbour]:
        """The ``k`` codes nearest to ``code``, excluding itself."""
        scores, idx = self.search(self.vector(code)[None, :], k + 1, systems=systems)
        out = []
        for score, i in zip(scores[0], idx[0], strict=True):
            other = self.embeddings.codes[i]
            if other != code and np.isfinite(score):
                out.append(Neighbour(other.system, other.code, self.embeddings.texts[i], float(score)))
        return out[:k]
