"""The one time reader: event times, as-of tables and as-of values, as numpy ``datetime64[s]``.

Events (native and OMOP), as-of tables, a DataFrame's as-of column and the
``--as-of`` value all go through :func:`parse_times` (or :func:`parse_time` for one
value), so one rule reads a time everywhere. Naive times are taken as UTC.

Accepted forms (each value on its own, so one column may mix them):

* ISO text: ``2002-10-15``, ``2002-10-15 08:30:00``, ``2002-10-15T08:30:00``,
  with fractional seconds or a UTC offset (converted to UTC, offset dropped),
  and basic ``20021015``;
* ``datetime.date`` / ``datetime.datetime`` objects (PostgreSQL drivers), pandas
  ``Timestamp`` and numpy ``datetime64`` values, aware ones converted to UTC;
* numbers, told apart by range:

  ==========================================  ===================================
  range                                       read as
  ==========================================  ===================================
  integer 18000101 .. 21001231, valid date    ``yyyymmdd`` (19980409)
  2,378,496.5 .. 2,488,069.5 (1800-2100)      Julian day number (SQLite julianday)
  |x| >= 1e11                                 epoch milliseconds
  anything else                               epoch seconds (OMOP Eunomia SQLite)
  ==========================================  ===================================

  The price of this: epoch seconds between 1970-01-28 and 1970-01-29, or in
  July-September 1970, are misread. Epoch results outside the years
  1800-2100 are treated as unparsable.

Nulls (and blank text) and anything unparsable become ``NaT``; :func:`parse_times` counts both.
Values are parsed once per distinct value, so a chunk of dates costs little.
"""

from __future__ import annotations

import datetime as dt
import numbers as numbers_
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["NAT", "ParsedTimes", "null_mask", "parse_time", "parse_times"]

NAT = np.iinfo(np.int64).min  # the int64 view of numpy's NaT
_MIN_S = -5_364_662_400  # 1800-01-01 in epoch seconds
_MAX_S = 4_102_444_800  # 2100-01-01
_JD_MIN, _JD_MAX = 2_378_496.5, 2_488_069.5
_JD_EPOCH = 2_440_587.5  # Julian day of 1970-01-01T00:00
_UTC = dt.UTC
_PLAIN_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?")


class ParsedTimes(NamedTuple):
    times: np.ndarray  # datetime64[s]
    n_null: int
    n_unparsable: int


def parse_time(value: object) -> np.datetime64:
    """One time by the rules of :func:`parse_times`; ``NaT`` when null or unparsable."""
    return np.datetime64(parse_times(np.asarray([value], dtype=object)).times[0], "s")


def parse_times(values: Iterable[object]) -> ParsedTimes:
    """Parse ``values`` to ``datetime64[s]`` (NaT for nulls and unparsable), with the counts of each."""
    if isinstance(values, np.ndarray):
        arr = values
    else:
        arr = np.empty(len(items := list(values)), dtype=object)
        arr[:] = items
    if arr.dtype.kind == "M":
        secs = arr.astype("datetime64[s]").astype(np.int64)
        n_null = int((secs == NAT).sum())
        secs[(secs != NAT) & ((secs < _MIN_S) | (secs >= _MAX_S))] = NAT
        return ParsedTimes(secs.view("datetime64[s]"), n_null, int((secs == NAT).sum()) - n_null)
    if arr.dtype.kind in "iuf":
        secs = _numbers_to_seconds(arr.astype(np.float64))
        n_null = int(np.isnan(arr).sum()) if arr.dtype.kind == "f" else 0
        return ParsedTimes(secs.view("datetime64[s]"), n_null, int((secs == NAT).sum()) - n_null)
    items = [None if _is_null(v) else v for v in arr.astype(object).tolist()]
    lookup: dict[object, int] = dict.fromkeys(items, NAT)
    lookup.pop(None, None)
    numbers: list[Any] = [v for v in lookup if isinstance(v, numbers_.Number) and not isinstance(v, bool | complex)]
    if numbers:
        seconds = _numbers_to_seconds(np.asarray([float(v) for v in numbers], dtype=np.float64)).tolist()
        lookup.update(zip(numbers, seconds, strict=True))
    plain = [k for k in lookup if isinstance(k, str) and _PLAIN_ISO.fullmatch(k)]
    if plain:
        try:  # one vectorised numpy parse for the common, strict ISO forms
            plain_s = np.asarray(plain, dtype="datetime64[s]").astype(np.int64)
            plain_s[(plain_s < _MIN_S) | (plain_s >= _MAX_S)] = NAT  # outside 1800-2100, as everywhere
            lookup.update(zip(plain, plain_s.tolist(), strict=True))
            done = set(plain)
        except ValueError:  # an impossible date among them (2002-13-40): parse one by one
            done = set()
    else:
        done = set()
    for key in lookup:
        if isinstance(key, str | dt.date) and key not in done:
            lookup[key] = _parse_one(key)
        elif isinstance(key, np.datetime64):
            lookup[key] = int(key.astype("datetime64[s]").astype(np.int64))
        elif isinstance(key, bytes):
            lookup[key] = _parse_one(key.decode("utf-8", "replace"))
    secs = np.fromiter((NAT if v is None else lookup[v] for v in items), dtype=np.int64, count=len(items))
    n_null = sum(1 for v in items if v is None or (isinstance(v, str) and not v.strip()))
    return ParsedTimes(secs.view("datetime64[s]"), n_null, int((secs == NAT).sum()) - n_null)


def null_mask(values: Iterable[object]) -> np.ndarray:
    """True where a value is null for :func:`parse_times` (None, NaN, NaT, NA, blank text)."""
    return np.fromiter((_is_null(v) or (isinstance(v, str) and not v.strip()) for v in values), dtype=bool)


def _is_null(value: object) -> bool:
    """None, a float NaN, pandas ``NaT``/``NA`` or numpy ``NaT``."""
    if value is None:
        return True
    if isinstance(value, float | np.floating | np.datetime64 | dt.datetime):
        return bool(value != value)
    return type(value).__name__ in ("NAType", "NaTType")


def _parse_one(value: str | dt.date) -> int:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        if not text:
            return NAT
        try:
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return NAT
            return int(_numbers_to_seconds(np.asarray([number]))[0])
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(_UTC).replace(tzinfo=None)
    seconds = int((stamp - dt.datetime(1970, 1, 1)).total_seconds() // 1)
    return seconds if _MIN_S <= seconds < _MAX_S else NAT


def _numbers_to_seconds(x: np.ndarray) -> np.ndarray:
    """Epoch seconds (int64, NAT where unusable) of numbers classified by range (see the module doc)."""
    out = np.full(x.shape, NAT, dtype=np.int64)
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    is_int = finite & (xf == np.floor(xf))
    ymd = is_int & (xf >= 18000101) & (xf <= 21001231)
    if ymd.any():
        v = xf[ymd].astype(np.int64)
        year, month, day = v // 10000, (v // 100) % 100, v % 100
        ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
        months = (year - 1970) * 12 + np.clip(month, 1, 12) - 1
        date = months.astype("datetime64[M]").astype("datetime64[D]") + (np.clip(day, 1, 31) - 1)
        ok &= date.astype("datetime64[M]") == months.astype("datetime64[M]")  # day exists in that month
        secs = np.where(ok, date.astype("datetime64[s]").astype(np.int64), NAT)
        out[ymd] = secs  # impossible dates (20021399) stay NaT
    rest = finite & ~ymd
    jd = rest & (xf >= _JD_MIN) & (xf <= _JD_MAX)
    out[jd] = np.round((xf[jd] - _JD_EPOCH) * 86_400).astype(np.int64)
    rest &= ~jd
    ms = rest & (np.abs(xf) >= 1e11)
    epoch = np.floor(np.where(ms, xf / 1000.0, xf))
    rest &= (epoch >= _MIN_S) & (epoch < _MAX_S)  # outside 1800-2100: unparsable
    out[rest] = epoch[rest].astype(np.int64)
    return out
