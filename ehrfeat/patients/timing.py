"""Durations (``365d``, ``26w``, ``12h``, ``1y``) and as-of dates given on the command line or in code."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.store.dates import parse_time

__all__ = ["NAT", "parse_as_of", "parse_duration", "to_seconds"]

NAT = np.iinfo(np.int64).min  # numpy's NaT seen as int64
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365.25 * 86_400}


def parse_duration(value: str | float | dt.timedelta | np.timedelta64 | None, what: str = "duration") -> int | None:
    """Seconds in ``value``: ``'365d'``, ``'26w'``, ``'12h'``, ``'1y'`` (365.25 days), a timedelta, or a number of days."""
    if value is None:
        return None
    if isinstance(value, np.timedelta64):
        seconds = float(value / np.timedelta64(1, "s"))
    elif isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value) * 86_400
    else:
        found = _DURATION.match(str(value))
        if not found:
            raise InputError(
                f"{what} {value!r} is not a duration",
                fix="write a number and a unit: 365d, 26w, 12h, 1y (s, m=minutes, h, d, w, y)",
                code="E130",
            )
        seconds = float(found.group(1)) * _UNIT_S[found.group(2).lower()]
    if not seconds > 0:
        raise InputError(f"{what} must be positive, got {value!r}", fix="give a positive duration such as 365d", code="E130")
    return round(seconds)


def parse_as_of(value: str | int | float | dt.date | np.datetime64) -> np.datetime64:
    """One as-of time as ``datetime64[s]``, read as event times are (:func:`ehrfeat.store.dates.parse_time`).

    ``2020-01-01``, ``2020-01-01T12:00``, ``2020-01-01T12:00+02:00`` (converted to UTC),
    ``20200101``, epoch seconds ``1577836800``, a date or datetime object.
    """
    out = parse_time(value.strip() if isinstance(value, str) else value)
    if np.isnat(out):
        what = "empty" if value is None or (isinstance(value, str) and not value.strip()) else "cannot be read"
        raise InputError(
            f"as-of date {value!r} {what}",
            fix="use an ISO date such as 2020-01-01 (or 2020-01-01T12:00, 20200101, epoch seconds)",
            code="E131",
        )
    return out


def to_seconds(times: np.ndarray) -> np.ndarray:
    """``datetime64`` values as int64 epoch seconds (``NAT`` where not a time)."""
    return np.asarray(times).astype("datetime64[s]", copy=False).view(np.int64)
