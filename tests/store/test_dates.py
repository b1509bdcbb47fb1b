from __future__ import annotations

import datetime as dt

import numpy as np

from ehrfeat.store import parse_times


def _iso(values: list[object]) -> list[str]:
    return [str(t) for t in parse_times(values).times]


def test_text_forms() -> None:
    assert _iso(["2002-10-15", "2002-10-15 00:00:00", "2002-10-15T08:30:00", " 2002-10-15 ", "20021015"]) == [
        "2002-10-15T00:00:00", "2002-10-15T00:00:00", "2002-10-15T08:30:00", "2002-10-15T00:00:00", "2002-10-15T00:00:00"]
    assert _iso(["2002-10-15T08:30:00.250+02:00", "2002-10-15T08:30:00Z"]) == ["2002-10-15T06:30:00", "2002-10-15T08:30:00"]


def test_numbers_by_range() -> None:
    epoch = 1034640000  # 2002-10-15 as epoch seconds (Eunomia SQLite)
    values = [epoch, float(epoch), 20021015, 2452562.5, epoch * 1000, -631152000, "1034640000", np.int64(epoch)]
    assert _iso(values) == ["2002-10-15T00:00:00"] * 5 + ["1950-01-01T00:00:00"] + ["2002-10-15T00:00:00"] * 2


def test_numeric_arrays_take_the_vectorised_path() -> None:
    parsed = parse_times(np.array([1034640000.0, 20021015.0, np.nan]))
    assert [str(t) for t in parsed.times] == ["2002-10-15T00:00:00", "2002-10-15T00:00:00", "NaT"]
    assert (parsed.n_null, parsed.n_unparsable) == (1, 0)


def test_date_objects() -> None:
    assert _iso([dt.date(2002, 10, 15), dt.datetime(2002, 10, 15, 1, 2, 3)]) == ["2002-10-15T00:00:00", "2002-10-15T01:02:03"]


def test_nulls_and_unparsable_are_nat_and_counted() -> None:
    parsed = parse_times([None, "", "garbage", 20021399, "2002-13-40", float("nan"), 1e30, "2002-10-15"])
    assert parsed.times.dtype == np.dtype("datetime64[s]")
    assert int(np.isnat(parsed.times).sum()) == 7
    assert (parsed.n_null, parsed.n_unparsable) == (3, 4)


def test_repeated_values_parse_once_and_map_back() -> None:
    values = ["2019-01-01", "2019-01-02"] * 1000
    times = parse_times(values).times
    assert times.shape == (2000,) and str(times[0]) == "2019-01-01T00:00:00" and str(times[-1]) == "2019-01-02T00:00:00"
