"""Strict ISO times read straight from an Arrow string array's bytes: no Python object per value.

:func:`plain_iso_seconds` reads ``YYYY-MM-DD``, ``YYYY-MM-DD[ T]HH:MM`` and
``YYYY-MM-DD[ T]HH:MM:SS`` (years 1800-2099, real calendar days, hours below 24,
minutes and seconds below 60) as epoch seconds, naive times as UTC. These are
values the time reader (:func:`ehrfeat.store.dates.parse_times`) reads to the very
same seconds; every other value is left to it (``ok`` is False there), so the
reader stays the one authority on what a time means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plain_iso_seconds"]

_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int32)
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]  # past a value's end they read '0'
_ZERO, _DASH, _COLON, _SPACE, _T = 48, 45, 58, 32, 84


def plain_iso_seconds(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds (int64) of each value of a ``large_string`` array, and where they were read (bool)."""
    n = len(values)
    secs, ok = np.zeros(n, np.int64), np.zeros(n, bool)
    if n == 0 or values.null_count == n:
        return secs, ok
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int64)[values.offset : values.offset + n + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None and buffers[2].size else np.zeros(1, np.uint8)
    lengths = np.diff(offsets)
    valid = np.ones(n, bool) if values.null_count == 0 else np.asarray(values.is_valid().to_numpy(zero_copy_only=False))
    cand = np.flatnonzero(valid & ((lengths == 10) | (lengths == 16) | (lengths == 19)))
    if len(cand) == 0:
        return secs, ok
    start, length = offsets[cand], lengths[cand]
    at = np.minimum(start[:, None] + np.arange(19), len(data) - 1)
    m = data[at]  # candidates x 19 bytes; '0' past each one's end
    m[:, 10:] = np.where(length[:, None] > np.arange(10, 19), m[:, 10:], _ZERO)
    d = m - np.uint8(_ZERO)  # digits 0-9; anything else wraps to 10 and above
    good = (d[:, _DIGITS] <= 9).all(axis=1) & (m[:, 4] == _DASH) & (m[:, 7] == _DASH)
    timed = length >= 16
    good &= ~timed | (((m[:, 10] == _SPACE) | (m[:, 10] == _T)) & (m[:, 13] == _COLON))
    good &= (length != 19) | (m[:, 16] == _COLON)
    d = d.astype(np.int32)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 5] * 10 + d[:, 6], d[:, 8] * 10 + d[:, 9]
    hour, minute, second = d[:, 11] * 10 + d[:, 12], d[:, 14] * 10 + d[:, 15], d[:, 17] * 10 + d[:, 18]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    good &= (year >= 1800) & (year <= 2099) & (month >= 1) & (month <= 12)
    month_c = np.clip(month, 1, 12)
    good &= (day >= 1) & (day <= _DAYS[month_c] + ((month_c == 2) & leap))
    good &= (hour < 24) & (minute < 60) & (second < 60)
    days = _days_from_civil(year, month_c, day).astype(np.int64)
    secs[cand] = days * 86_400 + (hour * 3600 + minute * 60 + second)
    ok[cand] = good
    secs[~ok] = 0
    return secs, ok


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm; years >= 1 here)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468
