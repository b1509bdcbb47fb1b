from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from ehrfeat.errors import InputError
from ehrfeat.patients import PatientEmbedder, patient_vectors
from tests.patients.conftest import EVENTS, build_db


def test_transform_matches_patient_vectors(db):
    emb = PatientEmbedder(db).fit([1, 2, 3, 4])
    expected = patient_vectors(db)
    np.testing.assert_array_equal(emb.transform([4, 2, 1]), expected.matrix[[3, 1, 0]])
    assert list(emb.get_feature_names_out()) == ["emb_000", "emb_001", "emb_002", "emb_003"]


def test_idf_is_learned_on_fit_patients_only(db):
    emb = PatientEmbedder(db, weighting="idf").fit([1])  # patient 1 has E11.9 and I10
    n = 1
    assert emb.idf_[0] == pytest.approx(math.log((1 + n) / (1 + 1)) + 1)  # E11.9 column (codes sorted)
    before = emb.idf_.copy()
    out_b = emb.transform([2])
    np.testing.assert_array_equal(emb.idf_, before)  # transforming another fold learns nothing
    # patient 2's vector weighs I10 by patient 1's idf (1.0) and LOINC, unseen in fit, by ln(2) + 1
    w = np.array([0, 1.0, math.log(2) + 1, 0])
    np.testing.assert_allclose(out_b[0], w / w.sum(), rtol=1e-6)
    other = PatientEmbedder(db, weighting="idf").fit([1, 2])
    assert not np.allclose(other.transform([2]), out_b)  # the fit data, and only it, sets idf_


def test_as_of_column_and_set_output_pandas(db):
    X = pd.DataFrame({"patient_id": [1, 2], "as_of": ["2019-06-01", "2019-02-01"]}, index=["a", "b"])
    emb = PatientEmbedder(db, by_system=True).set_output(transform="pandas")
    out = emb.fit_transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.index) == ["a", "b"]
    assert list(out.columns[:2]) == ["ICD10CM_emb_000", "ICD10CM_emb_001"]
    np.testing.assert_allclose(out.loc["a"].to_numpy()[:4], [0.5, 0.5, 0, 0])  # E11.9 at the as-of is excluded
    assert not out.loc["b"].any()  # nothing strictly before 2019-02-01
    with pytest.raises(InputError, match="two as-of dates"):
        emb.transform(pd.DataFrame({"patient_id": [1, 1], "as_of": ["2019-06-01", "2019-07-01"]}))


def test_pipeline_with_logistic_regression_under_cross_validation(tmp_path):
    rng = np.random.default_rng(0)
    events, y = list(EVENTS), []
    for p in range(10, 70):
        sick = p % 2
        y.append(sick)
        for _ in range(3):
            code = ("E11.9" if sick else "J44.1") if rng.random() < 0.8 else "I10"
            events.append((p, f"2019-0{rng.integers(1, 9)}-01", "ICD10CM", code, None))
    db = build_db(tmp_path / "cv.db", events)
    X = pd.DataFrame({"patient_id": range(10, 70), "as_of": "2020-01-01"})
    pipe = Pipeline([("embed", PatientEmbedder(db, weighting="idf")), ("clf", LogisticRegression())])
    scores = cross_val_score(pipe, X, np.array(y), cv=3, scoring="roc_auc")
    assert scores.shape == (3,) and scores.mean() > 0.9
