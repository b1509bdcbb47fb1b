"""One VectorSettings serves patient_vectors, PatientEmbedder and the CLI alike."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import InputError
from ehrfeat.patients import PatientEmbedder, patient_vectors
from ehrfeat.patients.settings import VectorSettings


def test_settings_check_values_before_any_database_is_opened():
    with pytest.raises(InputError, match="weighting") as bad:
        VectorSettings(weighting="median")
    assert bad.value.code == "E132"
    with pytest.raises(InputError, match="aggregate") as bad:
        VectorSettings(aggregate="fast")
    assert bad.value.code == "E1901"
    with pytest.raises(InputError, match="not a duration"):
        VectorSettings(window="a year")
    assert VectorSettings(systems=("icd-10-cm",)).systems == ("ICD10CM",)
    assert VectorSettings(weighting="time-decay", half_life="2d").options().half_life_s == 2 * 86_400


def test_function_settings_object_and_keywords_agree(db):
    settings = VectorSettings(weighting="idf", window="400d", as_of="2019-12-31")
    by_object = patient_vectors(db, settings)
    by_keywords = patient_vectors(db, weighting="idf", window="400d", as_of="2019-12-31")
    overridden = patient_vectors(db, settings, weighting="count")
    np.testing.assert_array_equal(by_object.matrix, by_keywords.matrix)
    assert by_object.params == by_keywords.params and by_object.params["weighting"] == "idf"
    assert overridden.params["weighting"] == "count" and not np.allclose(overridden.matrix, by_object.matrix)


def test_embedder_and_cli_build_the_same_settings(db, tmp_path):
    embedder = PatientEmbedder(db, weighting="count", window="365d", systems=["icd10cm"], as_of="2020-01-01")
    assert embedder.settings() == VectorSettings(weighting="count", window="365d", systems=("ICD10CM",), as_of="2020-01-01")
    ids = np.array([1, 2, 3, 4])
    expected = patient_vectors(db, embedder.settings())
    np.testing.assert_allclose(embedder.fit_transform(ids), expected.matrix, rtol=1e-6)
    out = tmp_path / "v.npy"
    result = CliRunner().invoke(app, ["patient-vectors", str(db), "--out", str(out), "--weighting", "count",
                                      "--window", "365d", "--systems", "icd10cm", "--as-of", "2020-01-01"])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(out), expected.matrix, rtol=1e-6)
    bad = CliRunner().invoke(app, ["patient-vectors", str(db), "--out", str(out), "--aggregate", "fast"])
    assert bad.exit_code == 2 and "E1901" in bad.output
