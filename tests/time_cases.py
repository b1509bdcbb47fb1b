"""One table of time cases, read the same way by events, as-of tables, as-of values and DataFrames.

Each case: the stored value, the UTC time expected (``None``: null, ``"bad"``: unparsable),
and whether the value can be stored in SQLite as is (date objects cannot).
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

__all__ = ["TIME_CASES", "TimeCase"]


class TimeCase(NamedTuple):
    value: object
    expected: str | None  # ISO seconds in UTC, None for null, "bad" for unparsable
    sql: bool = True


_PLUS2 = dt.timezone(dt.timedelta(hours=2))

TIME_CASES: tuple[TimeCase, ...] = (
    TimeCase("2020-03-04", "2020-03-04T00:00:00"),
    TimeCase(" 2020-03-04 ", "2020-03-04T00:00:00"),
    TimeCase("2020-03-04 05:06:07", "2020-03-04T05:06:07"),
    TimeCase("2020-03-04T05:06:07", "2020-03-04T05:06:07"),
    TimeCase("2020-03-04T05:06", "2020-03-04T05:06:00"),
    TimeCase("2020-03-04T05:06:07.900", "2020-03-04T05:06:07"),
    TimeCase("2020-03-04T05:06:07Z", "2020-03-04T05:06:07"),
    TimeCase("2020-03-04T05:06:07+02:00", "2020-03-04T03:06:07"),
    TimeCase("2020-03-04T01:00:00-05:00", "2020-03-04T06:00:00"),
    TimeCase("20200304", "2020-03-04T00:00:00"),
    TimeCase(20200304, "2020-03-04T00:00:00"),
    TimeCase(1583298367, "2020-03-04T05:06:07"),  # epoch seconds (OMOP Eunomia)
    TimeCase("1583298367", "2020-03-04T05:06:07"),
    TimeCase(1583298367.5, "2020-03-04T05:06:07"),
    TimeCase(1583298367000, "2020-03-04T05:06:07"),  # epoch milliseconds
    TimeCase(2458912.5, "2020-03-04T00:00:00"),  # SQLite julianday
    TimeCase(-631152000, "1950-01-01T00:00:00"),
    TimeCase(0, "1970-01-01T00:00:00"),
    TimeCase(dt.date(2020, 3, 4), "2020-03-04T00:00:00", sql=False),
    TimeCase(dt.datetime(2020, 3, 4, 5, 6, 7), "2020-03-04T05:06:07", sql=False),
    TimeCase(dt.datetime(2020, 3, 4, 5, 6, 7, tzinfo=_PLUS2), "2020-03-04T03:06:07", sql=False),
    TimeCase(None, None),
    TimeCase("", None),
    TimeCase("   ", None),
    TimeCase("garbage", "bad"),
    TimeCase("2020-02-30", "bad"),
    TimeCase("2020-13-01T00:00", "bad"),
    TimeCase(20201399, "bad"),
    TimeCase(1e30, "bad"),
    TimeCase("3000-01-01", "bad"),  # outside 1800-2100
)
