from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.errors import InputError
from ehrfeat.patients.timing import NAT, parse_duration
from ehrfeat.patients.weights import DUPLICATE, NO_PATIENT, UNKNOWN_CODE, CodeColumns, WeightAccumulator, WeightOptions
from ehrfeat.store.records import EventChunk

NOW = int(np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64))


def chunk(pids, codes, day="2020-01-01"):
    systems = np.array([s for s, _ in codes], dtype=object)
    return EventChunk(
        patient_id=np.asarray(pids, np.int64), time=np.full(len(pids), np.datetime64(day, "s")),
        system=systems, code=np.array([c for _, c in codes], dtype=object), value=np.full(len(pids), np.nan), domain=systems,
    )


@pytest.mark.parametrize("ids", [[5, 7], [5, 10**12]])  # compact ids use a lookup table, sparse ones a search
def test_rows_codes_and_counts_across_chunks(ids):
    columns = CodeColumns([Code("ICD10CM", "E11.9"), Code("LOINC", "2345-7"), Code("ICD10CM", "I10")])
    acc = WeightAccumulator(np.array(ids), np.full(2, NAT, np.int64), columns, WeightOptions("count"), now_s=NOW)
    a, b = ids
    acc.add(chunk([a, b, a, 99], [("ICD10CM", "E11.9"), ("LOINC", "2345-7"), ("LOINC", "E11.9"), ("ICD10CM", "I10")]))
    acc.add(chunk([a, b], [("ICD10CM", "E11.9"), ("ICD10CM", "I10")], day="2020-02-01"))
    w = acc.finish()
    np.testing.assert_array_equal(w.matrix.toarray(), [[2, 0, 0], [0, 1, 1]])
    assert w.skipped == {NO_PATIENT: 1, UNKNOWN_CODE: 1}  # LOINC:E11.9 is not ICD10CM:E11.9
    assert list(w.n_events) == [2, 2] and w.events_read == 6


def test_consolidation_keeps_sums_exact(monkeypatch):
    monkeypatch.setattr(WeightAccumulator, "CONSOLIDATE_AT", 1)
    columns = CodeColumns([Code("ICD10CM", "E11.9"), Code("ICD10CM", "I10")])
    acc = WeightAccumulator(np.array([1, 2]), np.full(2, NAT, np.int64), columns, WeightOptions("count"), now_s=NOW)
    for day in range(1, 6):
        acc.add(chunk([1, 2, 2], [("ICD10CM", "E11.9"), ("ICD10CM", "I10"), ("ICD10CM", "E11.9")], day=f"2020-01-0{day}"))
    np.testing.assert_array_equal(acc.finish().matrix.toarray(), [[5, 0], [5, 5]])


@pytest.mark.parametrize("consolidate_at", [1, 8_000_000])
@pytest.mark.parametrize("weighting", ["count", "time-decay"])
def test_duplicates_in_different_chunks_count_once(monkeypatch, consolidate_at, weighting):
    """Same patient, code and time: one event, wherever the copies lie in the stream (hand-computed)."""
    monkeypatch.setattr(WeightAccumulator, "CONSOLIDATE_AT", consolidate_at)
    columns = CodeColumns([Code("ICD10CM", "E11.9"), Code("ICD10CM", "I10")])
    as_of = np.full(2, int(np.datetime64("2020-01-11T00:00:00", "s").astype(np.int64)))
    options = WeightOptions(weighting, half_life_s=86_400 * 10 if weighting == "time-decay" else None)
    acc = WeightAccumulator(np.array([1, 2]), as_of, columns, options, now_s=NOW, explicit_as_of=True)
    e11, i10 = ("ICD10CM", "E11.9"), ("ICD10CM", "I10")
    acc.add(chunk([1, 1, 2], [e11, e11, i10], day="2020-01-01"))  # a duplicate within the chunk
    acc.add(chunk([1, 2], [e11, i10], day="2020-01-01"))  # both again, in the next chunk
    acc.add(chunk([1], [i10], day="2020-01-06"))
    acc.add(chunk([1, 2], [i10, e11], day="2020-01-06"))  # 1's I10 again; 2's E11.9 is new
    w = acc.finish()
    ten, five = (0.5, 2**-0.5) if weighting == "time-decay" else (1.0, 1.0)  # 10 and 5 days before the as-of
    np.testing.assert_allclose(w.matrix.toarray(), [[ten, five], [five, ten]])
    assert w.skipped == {DUPLICATE: 4}
    assert list(w.n_events) == [2, 2] and w.events_read == 8


def test_untimed_events_are_never_duplicates():
    columns = CodeColumns([Code("ICD10CM", "E11.9")])
    acc = WeightAccumulator(np.array([1]), np.full(1, NAT, np.int64), columns, WeightOptions("count"), now_s=NOW)
    untimed = replace(chunk([1, 1], [("ICD10CM", "E11.9")] * 2), time=np.full(2, np.datetime64("NaT"), "datetime64[s]"))
    acc.add(untimed)
    acc.add(untimed)
    w = acc.finish()
    assert w.matrix.toarray().tolist() == [[4.0]] and not w.skipped and list(w.n_events) == [4]


def test_durations():
    assert parse_duration("365d") == 365 * 86_400
    assert parse_duration("2w") == 14 * 86_400
    assert parse_duration(1.5) == 129_600
    for bad in ("soon", "-3d", "0d"):
        with pytest.raises(InputError):
            parse_duration(bad)
