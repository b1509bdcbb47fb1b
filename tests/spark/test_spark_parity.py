"""Spark local[2] against the single-machine path on the demo database exported to parquet: same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ehrfeat.patients.vectors import PatientVectors, patient_vectors
from ehrfeat.patients.weights import WEIGHTINGS
from tests.spark.conftest import FINGERPRINT

pytestmark = pytest.mark.slow  # one Spark session for the module: about two minutes on 2 cores

AS_OF_MODES = ("none", "date", "table")


def as_of_arguments(mode: str, demo: dict[str, Path]) -> tuple[dict[str, object], dict[str, object]]:
    """(single-machine kwargs, Spark kwargs) of one as-of mode."""
    if mode == "date":
        return {"as_of": "2020-01-01"}, {"as_of": "2020-01-01"}
    if mode == "table":
        return {"as_of_table": "cohort", "as_of_column": "index_date"}, {"as_of_table": str(demo["cohort"]), "as_of_column": "index_date"}
    return {}, {}


def assert_same(spark_vectors: PatientVectors, local: PatientVectors) -> None:
    assert spark_vectors.columns == local.columns
    np.testing.assert_array_equal(spark_vectors.patient_ids, local.patient_ids)
    np.testing.assert_array_equal(spark_vectors.n_events, local.n_events)
    np.testing.assert_array_equal(spark_vectors.no_codes, local.no_codes)
    np.testing.assert_allclose(spark_vectors.matrix, local.matrix, atol=1e-5, rtol=0)
    assert spark_vectors.report is not None and local.report is not None
    for name in ("patients", "patients_without_codes", "events_read", "events_used", "skipped", "read_issues", "as_of_issues"):
        assert getattr(spark_vectors.report, name) == getattr(local.report, name), name


@pytest.mark.parametrize("mode", AS_OF_MODES)
@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_spark_patient_vectors_match_one_machine(spark, demo, demo_source, demo_embeddings, weighting: str, mode: str) -> None:
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    local_kw, spark_kw = as_of_arguments(mode, demo)
    options = {"weighting": weighting, "half_life": "200d"}
    local = patient_vectors(demo["db"], **local_kw, **options)
    result = spark_vectors(spark, demo_source, demo_embeddings, **spark_kw, **options)
    got = result.collect()
    result.release()
    assert_same(got, local)
    assert got.no_codes.sum() < len(got)  # most patients have vectors: the comparison is not of zeros
    assert np.abs(got.matrix).sum() > 0
    if mode != "none":
        assert local.report.skipped  # events at or after the as-of were left out on both sides


@pytest.mark.parametrize(
    "options",
    [
        {"weighting": "time-decay", "half_life": "90d", "window": "730d", "as_of": "2021-03-01", "by_system": True},
        {"weighting": "idf", "by_system": True, "systems": ["ICD10CM", "loinc"], "window": "3y", "as_of": "2024-01-01"},
        {"weighting": "mean", "as_of_table": "cohort", "as_of_rule": "inclusive", "window": "365d"},
    ],
    ids=["decay-window-by-system", "idf-systems-by-system", "inclusive-as-of-table-window"],
)
def test_spark_window_and_blocks_match_one_machine(spark, demo, demo_source, demo_embeddings, options: dict[str, object]) -> None:
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    local = patient_vectors(demo["db"], **options)
    spark_options = {**options, "as_of_table": str(demo["cohort"])} if "as_of_table" in options else options
    result = spark_vectors(spark, demo_source, demo_embeddings, **spark_options)
    got = result.collect()
    result.release()
    assert_same(got, local)
    assert len(got.params["blocks"]) > 1 or not options.get("by_system")
    assert any("window" in reason for reason in local.report.skipped)


def test_spark_reads_code_embeddings_from_the_sql_database_too(spark, demo) -> None:
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    result = spark_vectors(spark, str(demo["parquet"]), demo["db"], fingerprint=FINGERPRINT)
    got = result.collect()
    result.release()
    assert_same(got, patient_vectors(demo["db"]))
