"""The distinct timed events of a stream: duplicates found across chunks, not only within one.

:class:`DistinctEvents` keeps each ``(pair key, time)`` once. Chunks are only kept
as they come; duplicates are dropped now and then (amortised: when the parts hold
twice what the last pass left) and at :meth:`DistinctEvents.finish`, which returns
the distinct events sorted by key, with the number of duplicates dropped. Memory:
16 bytes per event kept (two int64).

Duplicates are found without sorting the pairs: each ``(key, time)`` is hashed to
one 64-bit value, and only values that occur twice (the true duplicates and the
rare hash collisions) are compared exactly. Sorting plain 64-bit values is several
times faster than sorting pairs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

__all__ = ["Distinct", "DistinctEvents", "distinct_events"]

_EMPTY = np.zeros(0, np.int64)
_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)  # odd: multiplying is a bijection


class Distinct(NamedTuple):
    """Distinct events sorted by ``key`` (times in no particular order within a key), and how many copies were dropped."""

    key: np.ndarray
    time: np.ndarray
    duplicates: int


def _hash(key: np.ndarray, time: np.ndarray) -> np.ndarray:
    """One uint64 per ``(key, time)``: equal pairs give equal values (unequal pairs almost never do)."""
    with np.errstate(over="ignore"):
        h = key.view(np.uint64) * _M1
        h ^= time.view(np.uint64) * _M2
        return h


def _copies(key: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Indices of the later copies of repeated ``(key, time)`` pairs (the first of each stays)."""
    if len(key) < 2:
        return _EMPTY
    h = _hash(key, time)
    hs = np.sort(h)
    again = hs[1:] == hs[:-1]
    if not again.any():
        return _EMPTY
    twice = np.unique(hs[1:][again])
    if len(twice) <= 16:  # the usual case: a few duplicates
        hit = h == twice[0]
        for value in twice[1:]:
            hit |= h == value
    else:
        hit = np.isin(h, twice, kind="sort")
    cand = np.flatnonzero(hit)  # the duplicates and the hash collisions: compared exactly
    order = np.lexsort((cand, time[cand], key[cand]))
    ck, ct = key[cand][order], time[cand][order]
    copy = np.zeros(len(cand), bool)
    copy[1:] = (ck[1:] == ck[:-1]) & (ct[1:] == ct[:-1])
    return cand[order][copy]


def drop_duplicates(key: np.ndarray, time: np.ndarray, copies: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(key, time)`` pairs each once (the first of each), in their order; ``copies``: :func:`_copies`, if known."""
    copies = _copies(key, time) if copies is None else copies
    if len(copies) == 0:
        return key, time
    keep = np.ones(len(key), bool)
    keep[copies] = False
    return key[keep], time[keep]


def _without(done: tuple[np.ndarray, np.ndarray], key: np.ndarray, time: np.ndarray, with_time: bool,
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """``done`` (sorted by key) less the dropped copies ``(key, time)``; ``None`` when sorting again is cheaper.

    A pair copied ``c`` times has ``c + 1`` equal elements in ``done``: any ``c`` of them go (keys only: any
    ``c`` elements of the key's run).
    """
    sk, st = done
    if len(key) > FEW_COPIES:
        return None
    drop: list[int] = []
    if not with_time:  # keys only: the copies of key k are any of its equal elements
        ks, counts = np.unique(key, return_counts=True)
        for k, c in zip(ks.tolist(), counts.tolist(), strict=True):
            lo = int(np.searchsorted(sk, k, "left"))
            drop.extend(range(lo, lo + c))
    else:
        groups, counts = np.unique(np.stack([key, time]), axis=1, return_counts=True)
        for (k, t), c in zip(groups.T.tolist(), counts.tolist(), strict=True):
            lo, hi = int(np.searchsorted(sk, k, "left")), int(np.searchsorted(sk, k, "right"))
            drop.extend((lo + np.flatnonzero(st[lo:hi] == t)[:c]).tolist())
    keep = np.ones(len(sk), bool)
    keep[drop] = False
    return sk[keep], (st[keep] if with_time else st)


def distinct_events(key: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(key, time)`` pairs sorted by key (times in no particular order within a key), each once."""
    key, time = drop_duplicates(np.asarray(key, np.int64), np.asarray(time, np.int64))
    if len(key) < 2:
        return key, time
    order = np.argsort(key)
    return key[order], time[order]


PARALLEL_AT = 1_000_000  # events from which the key sort runs beside the duplicate search
FEW_COPIES = 10_000  # dropped copies taken out of the sorted keys one by one; more: sort again


def _sorted(key: np.ndarray, time: np.ndarray, with_time: bool) -> tuple[np.ndarray, np.ndarray]:
    """``key`` sorted, with ``time`` in the same order (or empty)."""
    if not with_time:
        return np.sort(key), _EMPTY
    if len(key) < 2:
        return key, time
    order = np.argsort(key)
    return key[order], time[order]


class DistinctEvents:
    """Feed :meth:`add` with int64 ``(key, time)`` arrays, then :meth:`finish` once."""

    def __init__(self, merge_at: int = 8_000_000) -> None:
        self.merge_at = merge_at
        self.added = 0  # events added, duplicates included
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending = 0
        self._merged = 0

    def add(self, key: np.ndarray, time: np.ndarray) -> None:
        if len(key) == 0:
            return
        self.added += len(key)
        self._parts.append((np.array(key, np.int64), np.array(time, np.int64)))  # copies: callers may reuse theirs
        self._pending += len(key)
        if self._pending > max(self.merge_at, 2 * self._merged):
            self._merge()

    def _merge(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._parts) != 1 or self._pending != self._merged:
            if self._parts:
                keys, times = (np.concatenate(x) for x in zip(*self._parts, strict=True))
            else:
                keys, times = np.zeros(0, np.int64), np.zeros(0, np.int64)
            self._parts = [drop_duplicates(keys, times)]
        self._pending = self._merged = len(self._parts[0][0])
        return self._parts[0]

    def finish(self, with_time: bool = True) -> Distinct:
        """Every distinct event, sorted by key; the store is emptied. ``with_time=False``: keys only (``time`` empty).

        The sort by key runs on a second thread while the duplicates are looked for
        (numpy's sorts release the GIL); it is redone only when duplicates were dropped.
        """
        if len(self._parts) == 1 and self._pending == self._merged:  # merged already: nothing new to look through
            done = _sorted(*self._parts[0], with_time)
        else:
            keys, times = (np.concatenate(x) for x in zip(*self._parts, strict=True)) if self._parts else (_EMPTY, _EMPTY)
            if len(keys) < PARALLEL_AT:
                done = _sorted(*drop_duplicates(keys, times), with_time)
            else:
                with ThreadPoolExecutor(1, thread_name_prefix="ehrfeat-sort") as pool:
                    early = pool.submit(_sorted, keys, times, with_time)
                    copies = _copies(keys, times)
                    done = early.result()
                if len(copies):  # rare: take the copies out of the sorted result (few), or sort again
                    less = _without(done, keys[copies], times[copies], with_time)
                    done = less if less is not None else _sorted(*drop_duplicates(keys, times, copies), with_time)
        out = Distinct(done[0], done[1], self.added - len(done[0]))
        self._parts, self._pending, self._merged, self.added = [], 0, 0, 0
        return out
