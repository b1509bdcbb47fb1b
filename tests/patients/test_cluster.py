from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.patients.cluster import cluster_vectors, lift_table
from ehrfeat.patients.vectors import PatientVectors
from tests.patients.conftest import build_db


def _two_groups(tmp_path):
    """Patients 10..29 carry diabetes codes, 30..49 COPD codes; patient 50 only an uncached code."""
    events = []
    for p in range(10, 50):
        a, b = (("E11.9", "I10") if p < 30 else ("J44.1", "2345-7"))
        events += [(p, "2019-01-01", "ICD10CM", a, None), (p, "2019-02-01", "LOINC" if b == "2345-7" else "ICD10CM", b, None)]
    events.append((50, "2019-01-01", "LOCAL", "X", None))
    return build_db(tmp_path / "g.db", events, extra_patients=())


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "hdbscan"])
def test_methods_find_the_two_groups(tmp_path, method):
    from ehrfeat.patients import patient_vectors

    db = _two_groups(tmp_path)
    v = patient_vectors(db)
    result = cluster_vectors(v, k=2, method=method, min_cluster_size=5)
    labels = dict(zip(v.patient_ids.tolist(), result.labels.tolist(), strict=True))
    assert labels[50] == -1 and result.not_clustered["no usable codes (flagged no_codes)"] == 1
    assert len({labels[p] for p in range(10, 30)}) == 1 and len({labels[p] for p in range(30, 50)}) == 1
    assert labels[10] != labels[30]
    assert result.silhouette == pytest.approx(1.0)
    top = {lbl: {t.code for t in codes} for lbl, codes in result.top_codes.items()}
    assert top[labels[10]] == {"E11.9", "I10"} and top[labels[30]] == {"J44.1", "2345-7"}


def test_lift_is_share_in_cluster_over_share_overall():
    import scipy.sparse as sp

    from ehrfeat.codes import Code

    presence = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1], [0, 1]]))
    result = lift_table(presence, np.array([0, 0, 1, 1]), [Code("ICD10CM", "A00"), Code("ICD10CM", "B00")], ["a", "b"])
    best = result[0][0]
    assert (best.code, best.share_in_cluster, best.share_overall, best.lift) == ("A00", 1.0, 0.5, 2.0)
    assert [t.code for t in result[1]] == ["B00"] and result[1][0].lift == pytest.approx(1 / 0.75)


def test_cluster_cli_writes_labels_map_and_html(tmp_path):
    db = _two_groups(tmp_path)
    runner = CliRunner()
    out = tmp_path / "v.parquet"
    res = runner.invoke(app, ["patient-vectors", str(db), "--out", str(out), "--as-of", "2020-01-01"])
    assert res.exit_code == 0, res.output
    assert "without usable codes: 1" in res.output
    report = tmp_path / "rep"
    res = runner.invoke(app, ["cluster", str(out), "--k", "2", "--report", str(report)])
    assert res.exit_code == 0, res.output
    labels = (report / "labels.csv").read_text().splitlines()
    assert labels[0] == "patient_id,cluster" and len(labels) == 42
    assert (report / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (report / "report.html").read_text()
    assert "data:image/png;base64," in page and "J44.1" in page and "Silhouette" in page
    summary = json.loads((report / "summary.json").read_text())
    assert sorted(summary["sizes"].values()) == [20, 20]


def test_cli_reports_bad_input_with_exit_status_2(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["cluster", str(tmp_path / "missing.parquet")])
    assert res.exit_code == 2 and "does not exist" in res.output
    v = PatientVectors(np.arange(3), np.eye(3, dtype=np.float32), ("a", "b", "c"), np.ones(3, np.int64), np.zeros(3, bool))
    with pytest.raises(ValueError, match="cannot make 5 clusters"):
        cluster_vectors(v, k=5, top=0)
