"""The one time reader: every reader of times (events, as-of tables, as-of values, DataFrames) on one table of cases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ehrfeat.errors import InputError
from ehrfeat.patients import patient_vectors
from ehrfeat.patients.as_of import BAD_DATE, NULL_DATE, cohort_from_rows, resolve_as_of
from ehrfeat.patients.timing import NAT, parse_as_of
from ehrfeat.store import open_database
from ehrfeat.store.dates import parse_time, parse_times
from ehrfeat.store.events import iter_events
from ehrfeat.store.schema import detect_schema
from tests.helpers import execute, insert_rows, make_native_db, make_native_url
from tests.patients.conftest import build_url
from tests.time_cases import TIME_CASES

SQL_CASES = [c for c in TIME_CASES if c.sql]


def _expected_seconds(expected: str | None) -> int:
    return NAT if expected in (None, "bad") else int(np.datetime64(expected, "s").astype(np.int64))


def _ids(cases) -> list[str]:
    return [repr(c.value) for c in cases]


@pytest.mark.parametrize("case", TIME_CASES, ids=_ids(TIME_CASES))
def test_one_value(case) -> None:
    got = parse_time(case.value)
    assert int(got.astype(np.int64)) == _expected_seconds(case.expected)


def test_events_reader_on_the_whole_table() -> None:
    parsed = parse_times([c.value for c in TIME_CASES])
    assert parsed.times.view(np.int64).tolist() == [_expected_seconds(c.expected) for c in TIME_CASES]
    assert parsed.n_null == sum(c.expected is None for c in TIME_CASES)
    assert parsed.n_unparsable == sum(c.expected == "bad" for c in TIME_CASES)


def test_native_events_stored_in_a_database(backend_url: str) -> None:
    db = make_native_url(backend_url, [(i + 1, c.value, "ICD10CM", "I10", None) for i, c in enumerate(SQL_CASES)])  # type: ignore[misc]
    engine = open_database(db)
    got: dict[int, int] = {}
    for chunk in iter_events(engine, detect_schema(engine)):
        got.update(zip(chunk.patient_id.tolist(), chunk.time.view(np.int64).tolist(), strict=True))
    assert got == {i + 1: _expected_seconds(c.expected) for i, c in enumerate(SQL_CASES)}


@pytest.mark.sqlite_only  # an untyped column keeps each value's own type: SQLite's dynamic typing
def test_as_of_table_stored_in_sqlite(tmp_path: Path) -> None:
    db = make_native_db(tmp_path / "t.db", [(i + 1, "2000-01-01", "ICD10CM", "I10", None) for i in range(len(SQL_CASES))])
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE cohort (patient_id INTEGER, as_of)")  # no type: each value kept as given
    con.executemany("INSERT INTO cohort VALUES (?, ?)", [(i + 1, c.value) for i, c in enumerate(SQL_CASES)])
    con.commit()
    con.close()
    engine = open_database(db)
    cohort = resolve_as_of(engine, detect_schema(engine), table="cohort", now_s=0)
    usable = {i + 1: _expected_seconds(c.expected) for i, c in enumerate(SQL_CASES) if c.expected not in (None, "bad")}
    assert dict(zip(cohort.patient_ids.tolist(), cohort.as_of_s.tolist(), strict=True)) == usable
    assert cohort.issues.get(NULL_DATE, 0) == sum(c.expected is None for c in SQL_CASES)
    assert cohort.issues.get(BAD_DATE, 0) == sum(c.expected == "bad" for c in SQL_CASES)


@pytest.mark.parametrize("case", TIME_CASES, ids=_ids(TIME_CASES))
def test_as_of_value(case) -> None:
    if case.expected in (None, "bad"):
        with pytest.raises(InputError, match="E131"):
            parse_as_of(case.value)  # type: ignore[arg-type]
    else:
        assert int(parse_as_of(case.value).astype(np.int64)) == _expected_seconds(case.expected)  # type: ignore[arg-type]


def test_dataframe_as_of_column() -> None:
    frame = pd.DataFrame({"patient_id": range(1, len(TIME_CASES) + 1), "as_of": [c.value for c in TIME_CASES]})
    cohort = cohort_from_rows(frame["patient_id"].to_numpy(), frame["as_of"].to_numpy(), None, now_s=0)
    usable = {i + 1: _expected_seconds(c.expected) for i, c in enumerate(TIME_CASES) if c.expected not in (None, "bad")}
    assert dict(zip(cohort.patient_ids.tolist(), cohort.as_of_s.tolist(), strict=True)) == usable


def test_typed_dataframe_columns_read_alike() -> None:
    """datetime64 (naive and aware) and integer epoch-second columns, as pandas gives them."""
    stamps = pd.Series(pd.to_datetime(["2020-03-04T05:06:07", None]))
    aware = pd.Series(pd.to_datetime(["2020-03-04T07:06:07+02:00"], utc=False))
    epoch = pd.Series([1583298367], dtype="int64")
    for column in (stamps, aware, epoch):
        cohort = cohort_from_rows(np.arange(1, len(column) + 1), column.to_numpy(), None, now_s=0)
        assert cohort.as_of_s.tolist() == [_expected_seconds("2020-03-04T05:06:07")]


def test_epoch_second_as_of_table_gives_the_vectors_of_iso_text(backend_url: str) -> None:
    """Was: integers read as nanoseconds (1970), so every vector came out empty, exit 0."""
    db = build_url(backend_url)
    execute(db, "CREATE TABLE iso (patient_id INTEGER, as_of TEXT)")
    execute(db, "CREATE TABLE epoch (patient_id INTEGER, as_of BIGINT)")
    execute(db, "CREATE TABLE ymd (patient_id INTEGER, as_of INTEGER)")
    insert_rows(db, "iso", [(1, "2019-05-01"), (2, "2019-12-31")])
    insert_rows(db, "epoch", [(1, 1556668800), (2, 1577750400)])
    insert_rows(db, "ymd", [(1, 20190501), (2, 20191231)])
    iso = patient_vectors(db, as_of_table="iso")
    assert not iso.no_codes.any()
    for table in ("epoch", "ymd"):
        other = patient_vectors(db, as_of_table=table)
        np.testing.assert_array_equal(other.matrix, iso.matrix)
        assert other.n_events.tolist() == iso.n_events.tolist() == [2, 2]
