"""The (patient, code) count query of ``ehrfeat.store.pair_counts``, checked against counts worked out by hand.

The rows are integer ``(pid, col, t)`` with the markers of ``ehrfeat.store.coded_events``; DuckDB runs the
query here (PostgreSQL runs the same text in ``tests/patients/test_vectors_database_path_postgresql.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.store.coded_events import BAD_T, MALFORMED, NULL_T, PID_NULL
from ehrfeat.store.pair_counts import COLUMNS, CountRules, pair_count_query

duckdb = pytest.importorskip("duckdb")

NOW, AS_OF, WINDOW = 1000, 800, 650  # the window starts at 150
ROWS = [
    (1, 0, 200), (1, 0, 200),  # a duplicate
    (1, 0, 300), (1, 0, NULL_T), (1, 0, BAD_T),
    (1, 0, 1500),  # in the future
    (1, 0, 900),  # after the as-of
    (1, 0, 100),  # before the window
    (2, 1, 700),
    (PID_NULL, 0, 300),  # no patient: kept apart by its pid
    (3, MALFORMED, 300),  # a malformed code: kept apart by its column
    (9, 1, 500),  # a patient outside the cohort (Python drops it)
]


def _run(rules: CountRules, cohort: list[tuple[int, int]] | None = None) -> dict[tuple[int, int], dict[str, float]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE r (pid BIGINT, col BIGINT, t BIGINT)")
    con.executemany("INSERT INTO r VALUES (?, ?, ?)", ROWS)
    if cohort is not None:
        con.execute("CREATE TABLE c (pid BIGINT, a BIGINT)")
        con.executemany("INSERT INTO c VALUES (?, ?)", cohort)
    out = con.execute(pair_count_query("SELECT pid, col, t FROM r", rules, "c" if cohort is not None else None)).fetchall()
    return {(row[0], row[1]): dict(zip(COLUMNS[2:], row[2:], strict=True)) for row in out}


def _rules(as_of: list[int], **kw: object) -> CountRules:
    return CountRules(np.array([1, 2], np.int64), np.array(as_of, np.int64), NOW, **kw)  # type: ignore[arg-type]


def test_a_global_as_of_with_a_window_splits_each_pair_by_reason():
    got = _run(_rules([AS_OF, AS_OF], window_s=WINDOW))
    assert got[(1, 0)] == {"used_distinct": 2, "used": 3, "null_time": 1, "bad_time": 1, "future": 1, "after_as_of": 1,
                           "before_window": 1, "weight": 0.0}
    assert got[(2, 1)] == {**dict.fromkeys(COLUMNS[2:], 0), "used_distinct": 1, "used": 1, "weight": 0.0}
    assert got[(PID_NULL, 0)]["used"] == 1 and got[(3, MALFORMED)]["used"] == 1 and got[(9, 1)]["used"] == 1
    assert sum(sum(v for k, v in row.items() if k not in ("used_distinct", "weight")) for row in got.values()) == len(ROWS)


def test_without_a_window_nothing_is_before_it():
    got = _run(_rules([AS_OF, AS_OF]))
    assert got[(1, 0)]["before_window"] == 0 and got[(1, 0)]["used"] == 4 and got[(1, 0)]["used_distinct"] == 3


def test_time_decay_sums_each_distinct_time_once_unless_duplicates_are_kept():
    # half-life 100 s, as-of 800: 2**((200 - 800) / 100) + 2**((300 - 800) / 100) = 2**-6 + 2**-5
    deduped = _run(_rules([AS_OF, AS_OF], window_s=WINDOW, half_life_s=100))
    assert deduped[(1, 0)]["weight"] == pytest.approx(2**-6 + 2**-5, rel=1e-12)
    kept = _run(_rules([AS_OF, AS_OF], window_s=WINDOW, half_life_s=100, dedupe=False))
    assert kept[(1, 0)]["weight"] == pytest.approx(2 * 2**-6 + 2**-5, rel=1e-12)
    assert kept[(2, 1)]["weight"] == pytest.approx(2**-1, rel=1e-12)


def test_per_patient_as_of_times_come_from_the_cohort_relation():
    rules = _rules([250, AS_OF], window_s=WINDOW)
    assert rules.global_as_of is None
    with pytest.raises(ValueError, match="cohort"):
        pair_count_query("SELECT 1", rules)
    got = _run(rules, [(1, 250), (2, AS_OF)])
    # patient 1, as-of 250 (window from -400): 100 and 200 (twice) used; 300 and 900 after; 1500 in the future
    assert got[(1, 0)] == {"used_distinct": 2, "used": 3, "null_time": 1, "bad_time": 1, "future": 1, "after_as_of": 2,
                           "before_window": 0, "weight": 0.0}
    assert got[(9, 1)]["used"] == 1  # outside the cohort: read as of the run's start, dropped in Python


def test_an_empty_cohort_has_the_run_start_as_its_one_as_of():
    assert CountRules(np.zeros(0, np.int64), np.zeros(0, np.int64), NOW).global_as_of == NOW
