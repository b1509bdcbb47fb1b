"""Repeated (patient, code, time) events: Spark, the single-machine path in small chunks, and a hand count agree.

The events are generated with many exact repeats (few patients, codes and days),
copies placed far apart in the stream (so that with ``chunk_size=7`` most copies
fall in different chunks) and a few copies in another raw form of the same code
and time. The expected numbers are computed here with pandas, independently of
both engines: each distinct (patient, canonical code, time) counts once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.patients.vectors import patient_vectors
from ehrfeat.patients.weights import DUPLICATE
from ehrfeat.store.database import open_database
from ehrfeat.store.embeddings import EmbeddingCache
from tests.helpers import make_native_db
from tests.spark.conftest import export_parquet, random_vectors
from tests.spark.test_spark_parity import assert_same

pytestmark = pytest.mark.slow

CODES = [("ICD10CM", "E11.9"), ("ICD10CM", "I10"), ("ICD10CM", "J44.1"), ("LOINC", "2345-7"), ("LOINC", "4548-4")]
RAW_FORMS = {("ICD10CM", "E11.9"): ("icd-10-cm", "E119"), ("LOINC", "2345-7"): ("loinc", "2345-7")}
FINGERPRINT = "duplicates"


def generated_events(seed: int = 3) -> list[tuple[int, str, str, str, None]]:
    rng = np.random.default_rng(seed)
    days = [f"2019-0{m}-1{d}" for m in range(1, 4) for d in range(3)]  # 9 days: repeats are frequent
    rows = [(int(rng.integers(1, 13)), days[int(rng.integers(len(days)))], *CODES[int(rng.integers(len(CODES)))], None)
            for _ in range(300)]
    copies = [rows[int(i)] for i in rng.integers(0, len(rows), 60)]  # exact copies, appended far from the originals
    other_form = [(p, t + " 00:00:00", *RAW_FORMS[(s, c)], v) for p, t, s, c, v in rows[:80] if (s, c) in RAW_FORMS]
    return rows + copies + other_form


@pytest.fixture(scope="module")
def repeated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("spark-duplicates")
    db = make_native_db(root / "repeated.db", generated_events())
    codes = [Code(s, c) for s, c in CODES]
    cache = EmbeddingCache(open_database(db))
    cache.ensure_table()
    cache.write(FINGERPRINT, [(c, f"text of {c}") for c in codes], random_vectors(codes, dim=4, seed=5))
    return {"db": db, "parquet": export_parquet(db, root / "parquet", ("events", "patients"))}


def hand_counts(events: list[tuple[int, str, str, str, None]]) -> tuple[np.ndarray, np.ndarray, int]:
    """(patient ids, patients x codes count of distinct (code, day), duplicates) from the generated rows."""
    import pandas as pd

    canon = {**{raw: key for key, raw in RAW_FORMS.items()}, **{key: key for key in CODES}}
    frame = pd.DataFrame([(p, t[:10], *canon[(s, c)]) for p, t, s, c, _ in events], columns=["pid", "day", "system", "code"])
    distinct = frame.drop_duplicates()
    ids = np.sort(frame["pid"].unique())
    counts = np.zeros((len(ids), len(CODES)))
    for (pid, system, code), n in distinct.groupby(["pid", "system", "code"]).size().items():
        counts[np.searchsorted(ids, pid), CODES.index((system, code))] = n
    return ids, counts, len(frame) - len(distinct)


@pytest.mark.parametrize("weighting", ["count", "mean", "time-decay"])
def test_spark_and_small_chunks_drop_repeats_like_the_hand_count(spark, repeated, weighting: str) -> None:
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    options = {"weighting": weighting, "half_life": "30d", "as_of": "2019-04-01"}
    small = patient_vectors(repeated["db"], chunk_size=7, aggregate="events", **options)
    whole = patient_vectors(repeated["db"], **options)
    result = spark_vectors(spark, str(repeated["parquet"]), repeated["db"], fingerprint=FINGERPRINT, **options)
    got = result.collect()
    result.release()
    assert_same(got, small)
    assert_same(got, whole)

    ids, counts, duplicates = hand_counts(generated_events())
    assert duplicates > 60  # the copies, and repeats the generator made by chance
    assert got.report.skipped == {DUPLICATE: duplicates}
    np.testing.assert_array_equal(got.patient_ids, ids)
    np.testing.assert_array_equal(got.n_events, counts.sum(axis=1))
    if weighting != "time-decay":  # decay weights depend on each day: the engines' agreement above covers them
        vectors = EmbeddingCache(open_database(repeated["db"])).load(FINGERPRINT).matrix
        expected = counts @ vectors
        if weighting == "mean":
            expected /= counts.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(got.matrix, expected, atol=1e-5, rtol=0)
