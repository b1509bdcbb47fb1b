"""The sparse patient x code weight matrix, built from streamed event chunks.

Every event read is either used or counted under exactly one reason, checked in
this order: patient not in the cohort, code not in the embedding cache, no time
(when an as-of date, a window or time decay needs one), time in the future (after
the run started), at or after the patient's as-of time, before the window, code
block not seen when fitting, duplicate of an event read before (in any chunk).

No leakage: an event counts only when ``time < as_of`` (strictly before) and, with
a window, ``time >= as_of - window``. Without an as-of, the run's start time is
the as-of of every patient, so events dated in the future never count either.
Events without a time count only when no as-of, window or decay applies.

Duplicates (same patient, code and time) are dropped and counted wherever they lie
in the stream: the accumulator keeps the distinct ``(patient, block, code, time)``
of the timed events used (16 bytes each) until :meth:`WeightAccumulator.finish`,
so the result never depends on how the events were cut into chunks. Events
without a time are never duplicates and are reduced per (patient, code) at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from ehrfeat.errors import InputError
from ehrfeat.patients.code_columns import CodeColumns
from ehrfeat.patients.distinct import DistinctEvents
from ehrfeat.patients.sums import count_sorted, reduce_sorted, smooth_idf, smooth_idf_from_counts
from ehrfeat.patients.timing import NAT, to_seconds
from ehrfeat.patients.weight_types import WEIGHTINGS, EventsLike, WeightOptions, Weights

__all__ = ["WEIGHTINGS", "CodeColumns", "EventsLike", "WeightAccumulator", "WeightOptions", "Weights", "smooth_idf", "smooth_idf_from_counts"]

NO_PATIENT = "patient not in the cohort (patients table or as-of table)"
UNKNOWN_CODE = "code not in the embedding cache"
NO_TIME = "no usable time, while an as-of date, window or time decay applies"
FUTURE = "time in the future (after the run started)"
AFTER_AS_OF = "at or after the patient's as-of time"
BEFORE_WINDOW = "before the window"
UNSEEN_BLOCK = "code system/domain not seen when fitting"
DUPLICATE = "duplicate event (same patient, code and time; events without a time are never duplicates)"


class WeightAccumulator:
    """Feed chunks with :meth:`add`, then :meth:`finish`.

    Memory: the distinct timed events used, (pair key, time) sorted (with ``dedupe``,
    the default: duplicates are found across chunks), and the reduced (patient, code)
    pairs of the untimed ones; without ``dedupe`` the reduced pairs only.
    """

    CONSOLIDATE_AT = 8_000_000
    MAX_BLOCKS = 256

    def __init__(
        self,
        patient_ids: np.ndarray,
        as_of_s: np.ndarray,
        columns: CodeColumns,
        options: WeightOptions,
        *,
        now_s: int,
        blocks: Sequence[str] | None = None,
        explicit_as_of: bool = False,
    ) -> None:
        self.ids = np.asarray(patient_ids, dtype=np.int64)
        if len(self.ids) > 1 and not (np.diff(self.ids) > 0).all():
            raise InputError("patient ids must be sorted and unique", code="E134")
        self.as_of = np.minimum(np.where(as_of_s == NAT, now_s, as_of_s), now_s) if len(as_of_s) else as_of_s
        self.columns = columns
        self.options = options
        self.now_s = now_s
        self.explicit_as_of = explicit_as_of
        self.fixed_blocks = blocks is not None
        self.blocks: dict[str, int] = {b: i for i, b in enumerate(blocks or ([] if options.by_system else ["all"]))}
        self.skipped: Counter[str] = Counter()
        self.events_read = 0
        self.n_events = np.zeros(len(self.ids), np.int64)
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []  # (pair key, summed weight), keys sorted per part
        self._pending = 0
        self._consolidated = 0
        self._events = DistinctEvents(4 * self.CONSOLIDATE_AT)  # dedupe: the distinct (pair key, time) of timed events
        # pair key = row * stride + block * n_codes + code: one int64 sort key per (patient, block, code)
        self._stride = self.MAX_BLOCKS * max(len(columns), 1)
        span = int(self.ids[-1] - self.ids[0]) + 1 if len(self.ids) else 0
        self._dense = None
        if len(self.ids) and span <= 4 * len(self.ids) + 1024:  # compact ids: a direct lookup table
            self._dense = np.full(span, -1, np.int64)
            self._dense[self.ids - self.ids[0]] = np.arange(len(self.ids))

    def _drop(self, keep: np.ndarray, bad: np.ndarray, reason: str) -> np.ndarray:
        hit = keep & bad
        n = int(hit.sum())
        if n:
            self.skipped[reason] += n
        return keep & ~bad

    def add(self, chunk: EventsLike) -> None:
        """One chunk of events as the store yields them (canonical codes, ``datetime64`` times)."""
        cols = self.columns.lookup(np.asarray(chunk.system, dtype=object), np.asarray(chunk.code, dtype=object))
        domain = chunk.domain if self.options.by_system else None
        self.add_columns(np.asarray(chunk.patient_id, dtype=np.int64), cols, to_seconds(chunk.time), domain)

    def add_columns(self, pid: np.ndarray, cols: np.ndarray, t: np.ndarray, domain: Any = None) -> None:
        """One chunk as integer columns: patient id, code column (``-1``: not cached), epoch seconds (``NAT``: none).

        ``domain`` (the block label of each event) is needed with ``by_system`` only.
        """
        n = len(pid)
        self.events_read += n
        if n == 0:
            return
        rows_c, known = self._rows(pid)
        keep = self._drop(np.ones(n, bool), ~known, NO_PATIENT)
        keep = self._drop(keep, cols < 0, UNKNOWN_CODE)
        nat = t == NAT
        if self.explicit_as_of or self.options.needs_time:
            keep = self._drop(keep, nat, NO_TIME)
        keep = self._drop(keep, ~nat & (t >= self.now_s), FUTURE)
        as_of = self.as_of[rows_c] if len(self.ids) else np.zeros(n, np.int64)
        keep = self._drop(keep, ~nat & (t >= as_of), AFTER_AS_OF)
        if self.options.window_s is not None:
            keep = self._drop(keep, ~nat & (t < as_of - self.options.window_s), BEFORE_WINDOW)
        if self.options.by_system:
            block = self._block_of(np.asarray(domain, dtype=object), keep)
            keep = self._drop(keep, block < 0, UNSEEN_BLOCK)
        idx = np.flatnonzero(keep)
        r, tt = rows_c[idx], t[idx]
        key = r * self._stride + cols[idx]
        if self.options.by_system:
            key += block[idx] * len(self.columns)
        if self.options.dedupe:
            timed = tt != NAT
            self._events.add(key[timed], tt[timed])
            if not timed.all():  # never duplicates; weight 1 (decay and windows need a time)
                key, r = key[~timed], r[~timed]
                self.n_events += np.bincount(r, minlength=len(self.ids))
                self._add_pairs(count_sorted(np.sort(key)))
            return
        order = np.argsort(key)  # not stable: only the order of summing equal keys differs (rounding)
        key, tt, r = key[order], tt[order], r[order]
        self._add_events(r, key, tt)

    def add_counted(self, pid: np.ndarray, cols: np.ndarray, rows: np.ndarray, skipped: dict[str, np.ndarray],
                    used: np.ndarray, duplicates: np.ndarray, weight: np.ndarray, domain: Any = None) -> None:
        """Pairs the database counted (:mod:`ehrfeat.store.pair_counts`): one per distinct (patient, code column).

        ``rows``: the events of each pair; ``skipped``: reason -> the events of each pair
        the time rules skip for it; ``used`` and ``duplicates``: the rest; ``weight``: the used events' summed weight.
        """
        self.events_read += int(rows.sum())
        r, known = self._rows(pid)
        inside = known & (cols >= 0)
        for reason, n in ((NO_PATIENT, rows[~known]), (UNKNOWN_CODE, rows[known & (cols < 0)]),
                          *((reason, n[inside]) for reason, n in skipped.items())):
            if total := int(n.sum()):
                self.skipped[reason] += total
        keep = inside & (used + duplicates > 0)
        key = r * self._stride + np.maximum(cols, 0)
        if self.options.by_system:
            block = self._block_of(np.asarray(domain, dtype=object), keep)
            if unseen := int((used + duplicates)[keep & (block < 0)].sum()):
                self.skipped[UNSEEN_BLOCK] += unseen
            keep &= block >= 0
            key += np.maximum(block, 0) * len(self.columns)
        if dropped := int(duplicates[keep].sum()):
            self.skipped[DUPLICATE] += dropped
        idx = np.flatnonzero(keep & (used > 0))
        self.n_events += np.bincount(r[idx], weights=used[idx], minlength=len(self.ids)).astype(np.int64)
        order = np.argsort(key[idx])
        self._add_pairs((key[idx][order], np.asarray(weight, np.float64)[idx][order]))

    def _add_events(self, r: np.ndarray, key: np.ndarray, tt: np.ndarray) -> None:
        """Events used (rows ``r``, pair keys sorted, times): their weights summed per pair."""
        self.n_events += np.bincount(r, minlength=len(self.ids))
        if self.options.weighting == "time-decay":
            w = np.exp2(-(self.as_of[r] - tt).astype(np.float64) / float(self.options.half_life_s or 1))
            self._add_pairs(reduce_sorted(key, w))
        else:  # every event weighs 1: the number of events of each pair
            self._add_pairs(count_sorted(key))

    def _add_pairs(self, part: tuple[np.ndarray, np.ndarray]) -> None:
        self._parts.append(part)
        self._pending += len(part[0])
        if self._pending > max(self.CONSOLIDATE_AT, 2 * self._consolidated):
            self._consolidate_parts()

    def _fold_events(self) -> None:
        """The distinct timed events into the pair weights, and the duplicates counted (once, at the end)."""
        key, tt, duplicates = self._events.finish(with_time=self.options.weighting == "time-decay")  # else: counts only
        if duplicates:
            self.skipped[DUPLICATE] += duplicates
        r = key // self._stride
        self._add_events(r, key, tt)

    def _rows(self, pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of each patient id (clipped to a valid row) and whether the id is in the cohort."""
        n = len(self.ids)
        if n == 0:
            return np.zeros(len(pid), np.int64), np.zeros(len(pid), bool)
        if self._dense is not None:
            offset = pid - self.ids[0]
            inside = (offset >= 0) & (offset < len(self._dense))
            rows = np.where(inside, self._dense[np.where(inside, offset, 0)], -1)
            return np.maximum(rows, 0), rows >= 0
        rows = np.minimum(np.searchsorted(self.ids, pid), n - 1)
        return rows, self.ids[rows] == pid

    def _block_of(self, domains: np.ndarray, keep: np.ndarray) -> np.ndarray:
        if not self.options.by_system:
            return np.zeros(len(domains), np.int64)
        import pandas as pd

        idx, uniques = pd.factorize(domains, use_na_sentinel=False)
        lookup = np.empty(len(uniques), np.int64)
        used = set(np.unique(idx[keep]).tolist())
        for i, name in enumerate(uniques):
            label = str(name) if name is not None else "unknown"
            if label not in self.blocks and not self.fixed_blocks and i in used:
                if len(self.blocks) >= self.MAX_BLOCKS:
                    raise InputError(
                        f"more than {self.MAX_BLOCKS} code systems/domains for --by-system",
                        fix="choose some with --systems", code="E139",
                    )
                self.blocks[label] = len(self.blocks)
            lookup[i] = self.blocks.get(label, -1)
        return lookup[idx] if len(idx) else np.zeros(0, np.int64)

    def _consolidate_parts(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._parts) > 1:
            keys, data = (np.concatenate(x) for x in zip(*self._parts, strict=True))
            order = np.argsort(keys)
            self._parts = [reduce_sorted(keys[order], data[order])]
        elif not self._parts:
            self._parts = [(np.zeros(0, np.int64), np.zeros(0, np.float64))]
        self._pending = self._consolidated = len(self._parts[0][0])
        return self._parts[0]

    def _consolidate(self) -> sp.csr_matrix:
        keys, data = self._consolidate_parts()
        n = len(self.columns)
        rows, rest = np.divmod(keys, self._stride)  # keys are sorted: rows ascending, columns ascending within a row
        width = max(len(self.blocks), 1) * n
        indptr = np.zeros(len(self.ids) + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=len(self.ids)), out=indptr[1:])
        return sp.csr_matrix((data, rest, indptr), shape=(len(self.ids), width))

    def finish(self) -> Weights:
        """The weight matrix, with the blocks in a stable (sorted) order."""
        self._fold_events()
        matrix = self._consolidate()
        names = list(self.blocks)
        if not self.fixed_blocks and names:
            order = sorted(range(len(names)), key=lambda i: names[i])
            n = len(self.columns)
            perm = np.concatenate([np.arange(i * n, (i + 1) * n) for i in order]) if n else np.zeros(0, np.int64)
            matrix = matrix[:, perm].tocsr() if n else matrix
            names = [names[i] for i in order]
        return Weights(matrix.tocsr(), tuple(names), len(self.columns), self.n_events, dict(self.skipped), self.events_read)
