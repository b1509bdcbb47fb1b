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

from typing import NamedTuple

import numpy as np

__all__ = ["Distinct", "DistinctEvents", "distinct_events"]

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


def drop_duplicates(key: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(key, time)`` pairs each once (the first of each), in their order."""
    if len(key) < 2:
        return key, time
    h = _hash(key, time)
    hs = np.sort(h)
    again = hs[1:] == hs[:-1]
    if not again.any():
        return key, time
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
    if not copy.any():
        return key, time
    keep = np.ones(len(key), bool)
    keep[cand[order][copy]] = False
    return key[keep], time[keep]


def distinct_events(key: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(key, time)`` pairs sorted by key (times in no particular order within a key), each once."""
    key, time = drop_duplicates(np.asarray(key, np.int64), np.asarray(time, np.int64))
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
        """Every distinct event, sorted by key; the store is emptied. ``with_time=False``: keys only (``time`` empty)."""
        key, time = self._merge()
        if not with_time:
            key, time = np.sort(key), np.zeros(0, np.int64)
        elif len(key) > 1:
            order = np.argsort(key)
            key, time = key[order], time[order]
        out = Distinct(key, time, self.added - len(key))
        self._parts, self._pending, self._merged, self.added = [], 0, 0, 0
        return out
