"""What the weight accumulator takes and gives: the weighting options, the weights, and a chunk of events.

:class:`WeightOptions` says how events become weights; :class:`Weights` is the
patient x code matrix :class:`ehrfeat.patients.weights.WeightAccumulator` builds;
:class:`EventsLike` is what a chunk of events offers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from ehrfeat.errors import InputError

__all__ = ["WEIGHTINGS", "EventsLike", "WeightOptions", "Weights"]

WEIGHTINGS = ("mean", "count", "idf", "time-decay")


class EventsLike(Protocol):
    """What a chunk of events offers (``ehrfeat.store.events.EventChunk`` does)."""

    @property
    def patient_id(self) -> np.ndarray: ...
    @property
    def time(self) -> np.ndarray: ...
    @property
    def system(self) -> np.ndarray: ...
    @property
    def code(self) -> np.ndarray: ...
    @property
    def domain(self) -> np.ndarray: ...


@dataclass(frozen=True)
class WeightOptions:
    """How events become weights: ``weighting`` one of :data:`WEIGHTINGS`; durations in seconds."""

    weighting: str = "mean"
    window_s: int | None = None
    half_life_s: int | None = None
    by_system: bool = False
    dedupe: bool = True

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise InputError(
                f"unknown weighting {self.weighting!r}", fix=f"use one of {', '.join(WEIGHTINGS)}", code="E132"
            )
        if self.weighting == "time-decay" and not self.half_life_s:
            raise InputError("time-decay weighting needs a half-life", fix="pass --half-life 180d", code="E133")

    @property
    def needs_time(self) -> bool:
        return self.window_s is not None or self.weighting == "time-decay"


@dataclass(frozen=True)
class Weights:
    """``matrix[p, b * n_codes + c]``: summed weight of code ``c`` in block ``b`` for patient ``p``."""

    matrix: sp.csr_matrix
    blocks: tuple[str, ...]
    n_codes: int
    n_events: np.ndarray  # events used per patient
    skipped: dict[str, int]
    events_read: int

    def block(self, b: int) -> sp.csr_matrix:
        return self.matrix[:, b * self.n_codes : (b + 1) * self.n_codes]
