from __future__ import annotations

import math

import numpy as np
import pytest

from ehrfeat.errors import InputError
from ehrfeat.patients import patient_vectors
from ehrfeat.patients.weights import AFTER_AS_OF, BEFORE_WINDOW, DUPLICATE, FUTURE, NO_TIME, UNKNOWN_CODE
from tests.helpers import execute
from tests.patients.conftest import EVENTS, build_url


def _row(vectors, pid):
    return vectors.matrix[list(vectors.patient_ids).index(pid)]


def test_mean_is_event_weighted_mean_of_code_vectors(any_db):
    db = any_db
    v = patient_vectors(db)
    assert list(v.patient_ids) == [1, 2, 3, 4]
    np.testing.assert_allclose(_row(v, 1), [2 / 3, 1 / 3, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(_row(v, 2), [0, 0.5, 0.5, 0], rtol=1e-6)
    assert v.matrix.dtype == np.float32
    assert v.columns == ("emb_000", "emb_001", "emb_002", "emb_003")
    assert list(v.n_events) == [3, 2, 0, 0]


def test_count_sums_code_vectors(any_db):
    db = any_db
    v = patient_vectors(db, weighting="count")
    np.testing.assert_allclose(_row(v, 1), [2, 1, 0, 0])
    np.testing.assert_allclose(_row(v, 2), [0, 1, 1, 0])


def test_idf_weights_rare_codes_up(any_db):
    db = any_db
    v = patient_vectors(db, weighting="idf")
    n = 4  # patients in the cohort, with or without events
    idf = {"E11.9": math.log((1 + n) / 2) + 1, "I10": math.log((1 + n) / 3) + 1, "LOINC": math.log((1 + n) / 2) + 1}
    w1 = np.array([2 * idf["E11.9"], idf["I10"], 0, 0])
    np.testing.assert_allclose(_row(v, 1), w1 / w1.sum(), rtol=1e-6)
    w2 = np.array([0, idf["I10"], idf["LOINC"], 0])
    np.testing.assert_allclose(_row(v, 2), w2 / w2.sum(), rtol=1e-6)


def test_time_decay_halves_weight_per_half_life(any_db):
    db = any_db
    v = patient_vectors(db, weighting="time-decay", half_life="30d", as_of="2019-07-01")
    age = {"2019-01-01": 181, "2019-06-01": 30, "2019-03-01": 122}
    w = {d: 0.5 ** (a / 30) for d, a in age.items()}
    e, i = w["2019-01-01"] + w["2019-06-01"], w["2019-03-01"]
    np.testing.assert_allclose(_row(v, 1), [e / (e + i), i / (e + i), 0, 0], rtol=1e-5)
    with pytest.raises(InputError, match="half-life"):
        patient_vectors(db, weighting="time-decay", half_life=None)


def test_patients_without_codes_are_flagged_and_counted(any_db):
    db = any_db
    v = patient_vectors(db)
    assert list(v.no_codes) == [False, False, True, True]
    assert not _row(v, 3).any() and not _row(v, 4).any()
    assert v.report.patients_without_codes == 2
    assert v.report.skipped == {UNKNOWN_CODE: 1}
    assert v.report.events_read == len(EVENTS) and v.report.events_used == 5


def test_no_leakage_event_at_or_after_as_of_changes_nothing(new_database):
    as_of = "2019-06-01"
    base = patient_vectors(build_url(new_database()), as_of=as_of)
    np.testing.assert_allclose(_row(base, 1), [0.5, 0.5, 0, 0])  # E11.9 exactly at the as-of is excluded
    assert base.report.skipped[AFTER_AS_OF] == 1
    later = [*EVENTS, (1, "2019-06-02", "ICD10CM", "J44.1", None), (2, "2019-12-31 23:59:59", "ICD10CM", "J44.1", None)]
    leaked = patient_vectors(build_url(new_database(), later), as_of=as_of)
    np.testing.assert_array_equal(leaked.matrix, base.matrix)
    assert leaked.report.skipped[AFTER_AS_OF] == 3


def test_window_keeps_only_recent_events(any_db):
    db = any_db
    v = patient_vectors(db, as_of="2019-06-02", window="100d")  # from 2019-02-22 on
    np.testing.assert_allclose(_row(v, 1), [0.5, 0.5, 0, 0])
    assert v.no_codes[1]  # patient 2's events are all older
    assert v.report.skipped[BEFORE_WINDOW] == 3


def test_bad_events_are_counted_not_dropped_silently(new_database):
    events = [
        *EVENTS,
        (1, None, "ICD10CM", "I10", None),  # null time
        (1, "last tuesday", "ICD10CM", "I10", None),  # unparsable time
        (1, "2090-01-01", "ICD10CM", "I10", None),  # in the future
        (2, "2019-02-01", "ICD10CM", "I10", None),  # duplicate
        (9, "2019-02-01", "ICD10CM", "I10", None),  # patient 9 is added to `patients` by make_native_db
    ]
    db = build_url(new_database(), events)
    plain = patient_vectors(db)
    assert plain.report.skipped[FUTURE] == 1 and plain.report.skipped[DUPLICATE] == 1
    assert plain.report.read_issues == {
        "rows with a null time (read without a time)": 1,
        "rows with an unparsable time (read without a time)": 1,
    }
    dated = patient_vectors(db, as_of="2020-01-01")
    assert dated.report.skipped[NO_TIME] == 2  # without a time an event cannot be placed before the as-of
    for report in (plain.report, dated.report):
        assert report.events_used + sum(report.skipped.values()) == report.events_read == len(events)


def test_as_of_table_counts_unknown_null_and_repeated_rows(any_db):
    db = any_db
    execute(db, "CREATE TABLE cohort (patient_id INTEGER, index_date TEXT)")
    execute(db, "INSERT INTO cohort VALUES (:p, :d)", [
        {"p": p, "d": d} for p, d in [(1, "2019-06-01"), (1, "2019-12-01"), (2, "2019-02-01"), (77, "2019-01-01"),
                                      (3, None), (4, "soon")]
    ])
    v = patient_vectors(db, as_of_table="cohort")
    assert list(v.patient_ids) == [1, 2]
    np.testing.assert_allclose(_row(v, 1), [0.5, 0.5, 0, 0])  # the earliest as-of of patient 1
    assert v.no_codes[1]  # patient 2's events are on its as-of day: none strictly before
    assert v.report.as_of_issues == {
        "patient not in the database (row ignored)": 1,
        "null as-of date (row ignored)": 1,
        "unparsable as-of date (row ignored)": 1,
        "patient listed more than once (earliest as-of kept)": 1,
    }
    with pytest.raises(InputError, match="not in the database"):
        patient_vectors(db, as_of_table="nope")
    with pytest.raises(InputError, match="not both"):
        patient_vectors(db, as_of_table="cohort", as_of="2020-01-01")


def test_by_system_blocks_have_stable_names(any_db):
    db = any_db
    v = patient_vectors(db, by_system=True)
    assert v.columns[:4] == ("ICD10CM_emb_000", "ICD10CM_emb_001", "ICD10CM_emb_002", "ICD10CM_emb_003")
    assert v.columns[4:] == ("LOINC_emb_000", "LOINC_emb_001", "LOINC_emb_002", "LOINC_emb_003")
    np.testing.assert_allclose(_row(v, 2), [0, 1, 0, 0, 0, 0, 1, 0])
    np.testing.assert_allclose(_row(v, 1)[:4], [2 / 3, 1 / 3, 0, 0], rtol=1e-6)
    assert not _row(v, 1)[4:].any()


def test_systems_filter(any_db):
    db = any_db
    v = patient_vectors(db, systems=["loinc"])
    np.testing.assert_allclose(_row(v, 2), [0, 0, 1, 0])
    assert v.no_codes[0]
