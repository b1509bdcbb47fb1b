"""The sparse (prediction row) x code weight matrix of a MEDS dataset, from streamed shard batches.

Rows are label rows (subject, prediction time), sorted. An event of subject ``s`` at
time ``t`` counts for every row of ``s`` whose prediction time ``p`` satisfies the
as-of rule and the window: ``inclusive`` (MEDS: data up to and including the
prediction time) ``t <= p``, ``strict`` ``t < p``; with a window ``w`` also
``t >= p - w``. Since a subject's rows are sorted by ``p``, those rows form one
contiguous range, found for every event at once by binary search over one int64
key per row (subject rank, rank of ``p`` among all prediction times); the
(row, code) pairs are reduced within each batch and kept as compact (int32 row, int32
column, float32 weight) triplets; one conversion to CSR at the end sums the few pairs two
batches share (MEDS keeps a subject's rows together), so nothing is ever re-sorted.
Duplicates (same subject, code and time) count once wherever they lie: timed rows are
kept as distinct (subject, code, time), 16 bytes each, across batches
(:class:`~ehrfeat.patients.distinct.DistinctEvents`) and placed at :meth:`finish`.

Rows with a null time are static in MEDS (true at every time): they count for every
row of their subject (``static=False`` drops them, as the SQL stores drop events
without a time once an as-of applies). Every event read is either used or counted
under one reason, with the same reasons as the SQL path where they mean the same.
With time-decay weighting, static rows keep weight 1 (a static fact does not age).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.distinct import DistinctEvents
from ehrfeat.patients.sums import reduce_sorted
from ehrfeat.patients.weights import (
    AFTER_AS_OF,
    BEFORE_WINDOW,
    DUPLICATE,
    FUTURE,
    NO_TIME,
    UNKNOWN_CODE,
    WeightOptions,
    Weights,
)
from ehrfeat.store.meds.dataset import MedsReadReport

if TYPE_CHECKING:
    from ehrfeat.patients.settings import VectorSettings
    from ehrfeat.store.meds.code_vectors import MedsCodeVectors
    from ehrfeat.store.meds.dataset import MedsDataset
    from ehrfeat.store.meds.labels import PredictionTimes

__all__ = ["AS_OF_RULES", "NO_ROWS", "MedsColumns", "MedsWeightsRead", "PredictionAccumulator", "meds_weights"]

AS_OF_RULES = ("inclusive", "strict")
NO_ROWS = "subject has no prediction time in the label table"
NAT = np.iinfo(np.int64).min
PAIR_BUDGET = 4_000_000  # (row, code) pairs expanded at once


class PredictionAccumulator:
    """Feed :meth:`add` with (subject, time in µs, code column) arrays, then :meth:`finish`."""

    def __init__(
        self, subject_id: np.ndarray, prediction_us: np.ndarray, code_block: np.ndarray, blocks: Sequence[str],
        options: WeightOptions, *, rule: str, now_us: int, static: bool = True,
    ) -> None:
        if rule not in AS_OF_RULES:
            raise InputError(f"unknown as-of rule {rule!r}", fix="use --as-of-rule inclusive or strict", code="E1509")
        self.sid = np.asarray(subject_id, np.int64)
        self.pred = np.asarray(prediction_us, np.int64)
        self.code_block = np.asarray(code_block, np.int64)
        self.n_codes = len(self.code_block)
        self.blocks = tuple(blocks)
        self.width = max(len(self.blocks), 1) * self.n_codes
        self.options, self.rule, self.now_us, self.static = options, rule, now_us, static
        self.subjects, self.first_row = np.unique(self.sid, return_index=True)
        self.times = np.unique(self.pred)
        self.m = len(self.times) + 1
        rank = np.searchsorted(self.subjects, self.sid)
        self.key = rank * self.m + np.searchsorted(self.times, self.pred)
        if len(self.key) > 1 and not (np.diff(self.key) > 0).all():
            raise InputError("label rows must be sorted by subject and prediction time, without repeats",
                             fix="build them with ehrfeat.store.meds.labels.from_arrays or read_labels", code="E1516")
        self.seen = np.zeros(len(self.subjects), bool)
        self.skipped: Counter[str] = Counter()
        self.events_read = 0
        self.n_events = np.zeros(len(self.sid), np.int64)
        # per batch: (row int32, column int32, summed weight float32), reduced within the batch; 12 bytes a pair
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._events = DistinctEvents()  # dedupe: distinct (subject rank, column, time) of the timed rows, across batches

    def _drop(self, keep: np.ndarray, bad: np.ndarray, reason: str) -> np.ndarray:
        n = int((keep & bad).sum())
        if n:
            self.skipped[reason] += n
        return keep & ~bad

    def mark_seen(self, subject_id: np.ndarray) -> None:
        """Note subjects present in the data even when none of their rows is added (all filtered out)."""
        if len(self.subjects) and len(subject_id):
            pos = np.minimum(np.searchsorted(self.subjects, subject_id), len(self.subjects) - 1)
            self.seen[pos[self.subjects[pos] == subject_id]] = True

    def add(self, subject_id: np.ndarray, time_us: np.ndarray, column: np.ndarray) -> None:
        n = len(subject_id)
        self.events_read += n
        if n == 0 or len(self.subjects) == 0:
            self.skipped[NO_ROWS] += n
            return
        pos = np.minimum(np.searchsorted(self.subjects, subject_id), len(self.subjects) - 1)
        known = self.subjects[pos] == subject_id
        self.seen[pos[known]] = True
        keep = self._drop(np.ones(n, bool), ~known, NO_ROWS)
        keep = self._drop(keep, column < 0, UNKNOWN_CODE)
        static = time_us == NAT
        if not self.static:
            keep = self._drop(keep, static, NO_TIME)
        keep = self._drop(keep, ~static & (time_us >= self.now_us), FUTURE)
        idx = np.flatnonzero(keep)
        if self.options.dedupe:  # timed rows wait in the distinct set until finish; static rows are never duplicates
            timed = idx[~static[idx]]
            self._events.add(pos[timed] * max(self.n_codes, 1) + column[timed], time_us[timed])
            idx = idx[static[idx]]
        self._place(pos[idx], time_us[idx], column[idx], static[idx])

    def _place(self, r: np.ndarray, t: np.ndarray, c: np.ndarray, st: np.ndarray) -> None:
        """Rows of subject rank ``r`` at times ``t`` with columns ``c`` (``st``: static) into the rows they count for."""
        start = np.searchsorted(self.key, r * self.m, "left")
        end = np.searchsorted(self.key, (r + 1) * self.m, "left")
        first = np.searchsorted(self.times, t, "left") if self.rule == "inclusive" else np.searchsorted(self.times, t, "right")
        lo = np.where(st, start, np.searchsorted(self.key, r * self.m + first, "left"))
        hi = end
        if self.options.window_s is not None:
            reach = t + int(self.options.window_s) * 1_000_000
            hi = np.where(st, end, np.searchsorted(self.key, r * self.m + np.searchsorted(self.times, reach, "right"), "left"))
        count = np.maximum(hi - lo, 0)
        after = lo >= end
        if after.any():
            self.skipped[AFTER_AS_OF] += int(after.sum())
        outside = ~after & (count == 0)
        if outside.any():
            self.skipped[BEFORE_WINDOW] += int(outside.sum())
        self._expand(lo, count, t, c, st)

    def _expand(self, lo: np.ndarray, count: np.ndarray, t: np.ndarray, c: np.ndarray, st: np.ndarray) -> None:
        ends = np.cumsum(count)
        begin = 0
        while begin < len(count):
            stop = int(np.searchsorted(ends, (ends[begin - 1] if begin else 0) + PAIR_BUDGET, "right"))
            stop = max(stop, begin + 1)
            cnt = count[begin:stop]
            total = int(cnt.sum())
            if total:
                ev = np.repeat(np.arange(begin, stop), cnt)
                offset = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                rows = lo[ev] + offset
                col = c[ev]
                key = rows * self.width + self.code_block[col] * self.n_codes + col
                if self.options.weighting == "time-decay":
                    age_s = (self.pred[rows] - t[ev]).astype(np.float64) / 1e6
                    w = np.where(st[ev], 1.0, np.exp2(-age_s / float(self.options.half_life_s or 1)))
                else:
                    w = np.ones(total, np.float64)
                order = np.argsort(key, kind="stable")
                keys, sums = reduce_sorted(key[order], w[order])
                part_rows, part_cols = np.divmod(keys, self.width)
                self._parts.append((part_rows.astype(np.int32), part_cols.astype(np.int32), sums.astype(np.float32)))
                self.n_events += np.bincount(rows, minlength=len(self.n_events))
            begin = stop

    def _fold_events(self) -> None:
        """The distinct timed rows, placed in slices; the duplicates counted once, across all batches."""
        key, t, duplicates = self._events.finish()
        if duplicates:
            self.skipped[DUPLICATE] += duplicates
        r, c = np.divmod(key, max(self.n_codes, 1))
        for begin in range(0, len(key), PAIR_BUDGET):
            end = begin + PAIR_BUDGET
            self._place(r[begin:end], t[begin:end], c[begin:end], np.zeros(len(r[begin:end]), bool))

    def finish(self) -> Weights:
        import scipy.sparse as sp

        self._fold_events()

        if self._parts:
            rows, cols, data = (np.concatenate(x) for x in zip(*self._parts, strict=True))
        else:
            rows, cols, data = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)
        self._parts = []
        # coo -> csr sums the few keys two batches share (a subject whose rows span a batch boundary)
        matrix = sp.coo_matrix((data, (rows, cols)), shape=(len(self.sid), self.width)).tocsr()
        del rows, cols, data
        return Weights(matrix, self.blocks or ("all",), self.n_codes, self.n_events, dict(self.skipped), self.events_read)

    def subjects_seen(self) -> np.ndarray:
        """Per label row: whether its subject had any row in the data read."""
        return self.seen[np.searchsorted(self.subjects, self.sid)] if len(self.sid) else np.zeros(0, bool)


@dataclass(frozen=True)
class MedsColumns:
    """The code vectors' columns that settings select: per column its block, and each code's column."""

    matrix: np.ndarray  # the selected codes' vectors, float32
    code_block: np.ndarray  # int64 block of each column
    blocks: tuple[str, ...]
    position: dict[str, int]  # code -> column
    excluded: frozenset[str]  # codes of systems not selected

    @classmethod
    def of(cls, vectors: MedsCodeVectors, settings: VectorSettings) -> MedsColumns:
        wanted = set(settings.systems) if settings.systems else None
        selected = [i for i, s in enumerate(vectors.systems) if wanted is None or s in wanted]
        code_systems = [vectors.systems[i] or "unknown" for i in selected]
        blocks = tuple(sorted(set(code_systems))) if settings.by_system else ("all",)
        block_of = {b: k for k, b in enumerate(blocks)}
        return cls(
            matrix=vectors.matrix[selected] if selected else np.zeros((0, vectors.dim), np.float32),
            code_block=np.asarray([block_of[s] if settings.by_system else 0 for s in code_systems], np.int64),
            blocks=blocks, position={vectors.codes[i]: k for k, i in enumerate(selected)},
            excluded=frozenset(vectors.codes[i] for i in range(len(vectors)) if wanted is not None and vectors.systems[i] not in wanted),
        )


class MedsWeightsRead(NamedTuple):
    """Weights of the label rows, whether each row's subject was in the data, shard issues, events of systems left out."""

    weights: Weights
    seen: np.ndarray
    read_issues: dict[str, int]
    not_selected: int


def meds_weights(
    dataset: MedsDataset, rows: PredictionTimes, columns: MedsColumns, settings: VectorSettings, *, now_us: int,
    static: bool = True, batch_size: int = 262_144,
) -> MedsWeightsRead:
    """Stream the shards once into a :class:`PredictionAccumulator` under ``settings`` (the MEDS twin of
    :func:`ehrfeat.patients.vectors.patient_weights`); the rule applies in microseconds, so the window is not moved."""
    acc = PredictionAccumulator(rows.subject_id, rows.prediction_us, columns.code_block, columns.blocks,
                                settings.options(rule_moves_as_of=False), rule=settings.as_of_rule, now_us=now_us, static=static)
    read = MedsReadReport()
    not_selected = 0
    for batch in dataset.iter_batches(read, batch_size=batch_size):
        lut = np.fromiter((columns.position.get(c, -2 if c in columns.excluded else -1) for c in batch.codes.tolist()),
                          np.int64, len(batch.codes))
        column = lut[batch.code_index] if len(batch) else np.zeros(0, np.int64)
        off = column == -2
        if off.any():
            not_selected += int(off.sum())
            acc.mark_seen(batch.subject_id)
            keep = ~off
            acc.add(batch.subject_id[keep], batch.time_us[keep], column[keep])
        else:
            acc.add(batch.subject_id, batch.time_us, column)
    return MedsWeightsRead(acc.finish(), acc.subjects_seen(), read.counts(), not_selected)
