"""Patient vectors at MEDS prediction times: hand-computed inclusive/strict/window fixtures, labels carried
through, rows that cannot be used counted, and the same vectors from native, OMOP and MEDS inputs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from ehrfeat.cli.main import app
from ehrfeat.codes import Code
from ehrfeat.errors import InputError
from ehrfeat.patients.meds_vectors import meds_patient_vectors, meds_settings, write_prediction_vectors
from ehrfeat.patients.prediction_weights import NO_ROWS
from ehrfeat.patients.settings import VectorSettings
from ehrfeat.patients.vectors import patient_vectors
from ehrfeat.patients.weights import AFTER_AS_OF, UNKNOWN_CODE
from ehrfeat.store.database import open_database
from ehrfeat.store.embeddings import EmbeddingCache
from ehrfeat.store.meds.code_vectors import MedsCodeVectors, write_code_vectors
from ehrfeat.store.meds.labels import NULL_PREDICTION_TIME, UNKNOWN_SUBJECT
from tests.helpers import make_native_db
from tests.meds_data import EVENTS, write_events, write_labels

E = np.eye(4, dtype=np.float32)
MEDS_VECTORS = {"DIAGNOSIS//ICD//10//E119": E[0], "ICD10CM/I10": E[1], "LAB//4548-4//UNK": E[2],
                "DIAGNOSIS//ICD//9//4280": E[3]}  # metformin has no vector
CODE_OF = {"DIAGNOSIS//ICD//10//E119": ("ICD10CM", "E11.9"), "ICD10CM/I10": ("ICD10CM", "I10"),
           "LAB//4548-4//UNK": ("LOINC", "4548-4"), "DIAGNOSIS//ICD//9//4280": ("ICD9CM", "428.0"),
           "MEDICATION//START//metformin": ("RxNorm", "6809")}
LABELS = [(1, "2020-02-01", True), (1, "2020-04-01", False), (2, "2020-03-01", True), (3, "2020-06-01", False),
          (4, "2020-06-01", True), (2, None, False)]


def write_vectors(meds_dir: Path, vectors=MEDS_VECTORS) -> Path:
    codes = tuple(vectors)
    systems = tuple(CODE_OF[c][0] for c in codes)
    return write_code_vectors(meds_dir / "metadata" / "ehrfeat_code_embeddings.parquet", MedsCodeVectors(
        "hand-made", codes, tuple(f"text of {c}" for c in codes), ("test",) * len(codes), systems,
        np.stack([vectors[c] for c in codes])))


@pytest.fixture
def meds(meds_dir, tmp_path):
    write_vectors(meds_dir)
    return meds_dir, write_labels(tmp_path / "labels.parquet", LABELS)


def test_inclusive_rule_uses_events_at_the_prediction_time(meds):
    root, labels = meds
    v = meds_patient_vectors(root, labels=labels)
    assert list(v.subject_id) == [1, 1, 2, 3]
    assert [str(t)[:10] for t in v.prediction_time] == ["2020-02-01", "2020-04-01", "2020-03-01", "2020-06-01"]
    expected = [[0.5, 0.5, 0, 0], [0.5, 0.25, 0.25, 0], [0, 0.5, 0, 0.5], [0, 0, 0, 0]]
    np.testing.assert_allclose(v.matrix, expected, atol=1e-6)
    assert list(v.n_events) == [2, 4, 2, 0] and list(v.no_codes) == [False, False, False, True]
    assert v.labels["boolean_value"].to_pylist() == [True, False, True, False]
    assert v.report is not None and v.report.as_of_rule == "inclusive"
    assert v.report.label_issues == {UNKNOWN_SUBJECT: 1, NULL_PREDICTION_TIME: 1}
    assert v.report.skipped[UNKNOWN_CODE] == 1  # metformin
    assert v.report.events_read == 7


def test_strict_rule_uses_only_events_before(meds):
    root, labels = meds
    v = meds_patient_vectors(root, labels=labels, as_of_rule="strict")
    expected = [[1, 0, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    np.testing.assert_allclose(v.matrix, expected, atol=1e-6)
    assert list(v.n_events) == [1, 3, 1, 0]
    assert v.report is not None and v.report.skipped[AFTER_AS_OF] == 2  # E11.9 on 2020-04-01, 428.0 on 2020-03-01
    assert v.report.events_used == 4


def test_count_weighting_window_and_time_decay(meds):
    root, labels = meds
    counts = meds_patient_vectors(root, labels=labels, weighting="count")
    np.testing.assert_allclose(counts.matrix[1], [2, 1, 1, 0])
    window = meds_patient_vectors(root, labels=labels, window="31d")  # 2020-03-01 .. 2020-04-01 for row 2
    np.testing.assert_allclose(window.matrix[1], [0.5, 0, 0.5, 0], atol=1e-6)
    np.testing.assert_allclose(window.matrix[0], [0.5, 0.5, 0, 0], atol=1e-6)
    decay = meds_patient_vectors(root, labels=labels, weighting="time-decay", half_life="31d")
    w = np.exp2(-np.array([31.0, 0.0]) / 31)  # E11.9 a month before, I10 at the time
    np.testing.assert_allclose(decay.matrix[0], [w[0] / w.sum(), w[1] / w.sum(), 0, 0], atol=1e-6)


def test_static_rows_count_at_every_prediction_time(tmp_path):
    root = write_events(tmp_path / "m", [*EVENTS, (1, "NaT", "ICD10CM/I10")])
    write_vectors(root)
    labels = write_labels(tmp_path / "l.parquet", [(1, "2019-01-01", True)])
    v = meds_patient_vectors(root, labels=labels)
    np.testing.assert_allclose(v.matrix[0], [0, 1, 0, 0])
    dropped = meds_patient_vectors(root, labels=labels, static=False)
    assert dropped.no_codes[0]


def test_without_labels_one_row_per_subject_now(meds):
    root, _ = meds
    v = meds_patient_vectors(root)
    assert list(v.subject_id) == [1, 2, 3] and v.report is not None and v.report.as_of_rule == "strict"
    np.testing.assert_allclose(v.matrix[0], [0.5, 0.25, 0.25, 0], atol=1e-6)


def test_by_system_blocks_and_systems_filter(meds):
    root, labels = meds
    v = meds_patient_vectors(root, labels=labels, by_system=True)
    assert v.params["blocks"] == ["ICD10CM", "ICD9CM", "LOINC"]
    assert v.columns[0] == "ICD10CM_emb_000" and v.matrix.shape == (4, 12)
    only = meds_patient_vectors(root, labels=labels, systems=["icd-10-cm"])
    np.testing.assert_allclose(only.matrix[1], [2 / 3, 1 / 3, 0, 0], atol=1e-6)


def test_subjects_without_label_rows_are_counted(meds, tmp_path):
    root, _ = meds
    v = meds_patient_vectors(root, labels=write_labels(tmp_path / "one.parquet", [(2, "2021-01-01", True)]))
    assert v.report is not None and v.report.skipped[NO_ROWS] == 5


def test_written_parquet_is_keyed_by_subject_and_prediction_time(meds, tmp_path):
    root, labels = meds
    path = write_prediction_vectors(meds_patient_vectors(root, labels=labels), tmp_path / "out.parquet")
    table = pq.read_table(path)
    assert table.column_names[:5] == ["subject_id", "prediction_time", "boolean_value", "n_events", "no_codes"]
    assert str(table.schema.field("prediction_time").type) == "timestamp[us]"
    assert table.num_rows == 4 and b"ehrfeat" in table.schema.metadata
    assert write_prediction_vectors(meds_patient_vectors(root, labels=labels), path) == path  # an earlier output: replaced
    path.write_bytes(b"someone else's")
    with pytest.raises(InputError, match="E1204"):
        write_prediction_vectors(meds_patient_vectors(root, labels=labels), path)
    assert path.read_bytes() == b"someone else's"


def test_cli_prints_the_rule_and_writes(meds, tmp_path):
    root, labels = meds
    out = tmp_path / "v.parquet"
    result = CliRunner().invoke(app, ["patient-vectors", str(root), "--as-of-table", str(labels), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "as-of rule:             inclusive" in result.output and out.is_file()
    strict = CliRunner().invoke(app, ["patient-vectors", str(root), "--as-of-table", str(labels), "--out", str(out),
                                      "--as-of-rule", "strict"])
    assert "as-of rule:             strict" in strict.output
    bad = CliRunner().invoke(app, ["patient-vectors", str(root), "--as-of-rule", "sometimes", "--out", str(out)])
    assert bad.exit_code == 2 and "E1509" in bad.output


# -- the same events as native, OMOP and MEDS -------------------------------------------------------------------

def _native(path: Path) -> Path:
    make_native_db(path, [(s, t[:10], *CODE_OF[c], None) for s, t, c in EVENTS])
    cache = EmbeddingCache(open_database(path))
    cache.ensure_table()
    items = [(Code(*CODE_OF[c]), "t") for c in MEDS_VECTORS]
    cache.write("hand-made", items, np.stack(list(MEDS_VECTORS.values())))
    return path


def _omop(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE person (person_id INTEGER, year_of_birth INTEGER);
        CREATE TABLE concept (concept_id INTEGER, concept_name TEXT, domain_id TEXT, vocabulary_id TEXT, concept_code TEXT);
        CREATE TABLE condition_occurrence (person_id INTEGER, condition_concept_id INTEGER, condition_start_date TEXT);
        CREATE TABLE measurement (person_id INTEGER, measurement_concept_id INTEGER, measurement_date TEXT,
                                  value_as_number REAL);
        CREATE TABLE drug_exposure (person_id INTEGER, drug_concept_id INTEGER, drug_exposure_start_date TEXT);
    """)
    ids = {c: i + 1 for i, c in enumerate(CODE_OF)}
    con.executemany("INSERT INTO person VALUES (?, 1960)", [(1,), (2,), (3,)])
    con.executemany("INSERT INTO concept VALUES (?, 'x', 'd', ?, ?)", [(ids[c], *CODE_OF[c]) for c in CODE_OF])
    for s, t, c in EVENTS:
        table = {"LOINC": "measurement", "RxNorm": "drug_exposure"}.get(CODE_OF[c][0], "condition_occurrence")
        extra = ", NULL" if table == "measurement" else ""
        con.execute(f"INSERT INTO {table} VALUES (?, ?, ?{extra})", (s, ids[c], t[:10]))
    con.commit()
    con.close()
    cache = EmbeddingCache(open_database(path))
    cache.ensure_table()
    cache.write("hand-made", [(Code(*CODE_OF[c]), "t") for c in MEDS_VECTORS], np.stack(list(MEDS_VECTORS.values())))
    return path


@pytest.mark.parametrize("rule", ["strict", "inclusive"])
@pytest.mark.parametrize("weighting", ["mean", "idf", "time-decay"])
def test_native_omop_and_meds_give_the_same_vectors(meds, tmp_path, rule, weighting):
    root, _ = meds
    as_of = [(1, "2020-03-01"), (2, "2020-03-01"), (3, "2020-06-01")]
    labels = write_labels(tmp_path / "l.parquet", [(s, d, True) for s, d in as_of])
    got = {}
    for name, build, id_col in (("native", _native, "patient_id"), ("omop", _omop, "person_id")):
        db = build(tmp_path / f"{name}.db")
        con = sqlite3.connect(db)
        con.execute(f"CREATE TABLE cohort ({id_col} INTEGER, as_of TEXT)")
        con.executemany("INSERT INTO cohort VALUES (?, ?)", as_of)
        con.commit()
        con.close()
        v = patient_vectors(db, as_of_table="cohort", as_of_rule=rule, weighting=weighting, half_life="30d")
        assert list(v.patient_ids) == [1, 2, 3]
        got[name] = v.matrix
    meds_rows = meds_patient_vectors(root, labels=labels, as_of_rule=rule, weighting=weighting, half_life="30d")
    assert list(meds_rows.subject_id) == [1, 2, 3]
    np.testing.assert_allclose(got["native"], meds_rows.matrix, atol=1e-6)
    np.testing.assert_allclose(got["omop"], meds_rows.matrix, atol=1e-6)
    assert np.abs(meds_rows.matrix).sum() > 0


def test_patient_embedder_on_meds_rows_in_any_order(meds):
    import pandas as pd

    from ehrfeat.patients.sklearn_api import PatientEmbedder

    root, _ = meds
    X = pd.DataFrame({"subject_id": [2, 1, 1, 9, 1],
                      "prediction_time": pd.to_datetime(["2020-03-01", "2020-04-01", "2020-02-01", "2020-01-01", "2020-02-01"])})
    embedder = PatientEmbedder(str(root)).fit(X)
    out = embedder.transform(X)
    expected = [[0, 0.5, 0, 0.5], [0.5, 0.25, 0.25, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 0], [0.5, 0.5, 0, 0]]
    np.testing.assert_allclose(out, expected, atol=1e-6)  # inclusive by default on MEDS; unknown subject 9: zeros
    strict = PatientEmbedder(str(root), as_of_rule="strict").fit_transform(X)
    np.testing.assert_allclose(strict[2], [1, 0, 0, 0])
    idf = PatientEmbedder(str(root), weighting="idf").fit(X.iloc[:3])
    assert idf.idf_ is not None and idf.idf_.shape == (4,)
    assert idf.transform(X.iloc[3:]).shape == (2, 4)
    assert list(embedder.get_feature_names_out()[:2]) == ["emb_000", "emb_001"]


def test_native_cli_prints_its_rule_and_inclusive_uses_events_on_the_as_of(tmp_path):
    db = _native(tmp_path / "n.db")
    out = tmp_path / "v.parquet"
    strict = CliRunner().invoke(app, ["patient-vectors", str(db), "--as-of", "2020-02-01", "--out", str(out)])
    assert strict.exit_code == 0, strict.output
    assert "as-of rule:             strict" in strict.output
    inclusive = CliRunner().invoke(app, ["patient-vectors", str(db), "--as-of", "2020-02-01", "--as-of-rule", "inclusive",
                                         "--out", str(out)])
    assert "as-of rule:             inclusive" in inclusive.output
    row = pq.read_table(out).to_pylist()[0]  # patient 1: E11.9 before, I10 on 2020-02-01
    assert (row["patient_id"], row["n_events"]) == (1, 2)
    assert abs(row["emb_000"] - 0.5) < 1e-6 and abs(row["emb_001"] - 0.5) < 1e-6


def test_patient_embedder_reads_text_times_with_the_store_time_reader(meds):
    import pandas as pd

    from ehrfeat.patients.sklearn_api import PatientEmbedder

    root, _ = meds
    text = pd.DataFrame({"subject_id": [1, 2], "prediction_time": ["2020-02-01", "20200301"]})
    typed = pd.DataFrame({"subject_id": [1, 2], "prediction_time": pd.to_datetime(["2020-02-01", "2020-03-01"], utc=True)})
    embedder = PatientEmbedder(str(root)).fit(typed)
    np.testing.assert_allclose(embedder.transform(text), embedder.transform(typed))
    np.testing.assert_allclose(embedder.transform(text)[0], [0.5, 0.5, 0, 0], atol=1e-6)
    with pytest.raises(Exception, match="E1517"):
        embedder.transform(pd.DataFrame({"subject_id": [1], "prediction_time": ["not a time"]}))


def test_embed_codes_report_file_for_meds(meds, tmp_path, tiny_bert):
    import json

    root, _ = meds
    report = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["embed-codes", str(root), "--model", str(tiny_bert), "--out", str(tmp_path / "v.parquet"),
                                      "--no-progress", "--report", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["codes_found"] == 5 and sum(sum(v.values()) for v in data["by_source"].values()) == 5
    def run(out: Path) -> Result:
        return CliRunner().invoke(app, ["embed-codes", str(root), "--model", str(tiny_bert), "--out", str(out), "--no-progress",
                                        "--report", str(report)])

    assert run(tmp_path / "v.parquet").exit_code == 0  # an earlier report and code-vector file: replaced
    (tmp_path / "v2.parquet").write_text("precious")  # not a code-vector file: kept
    result = run(tmp_path / "v2.parquet")
    assert result.exit_code == 2 and "E1204" in result.output
    assert (tmp_path / "v2.parquet").read_text() == "precious"


def test_outputs_are_checked_before_any_work(meds, tmp_path):
    root, labels = meds
    for out, code in ((tmp_path / "v.csv", "E1512"), (tmp_path / "nope" / "v.parquet", "E1510"), (tmp_path, "E1512")):
        result = CliRunner().invoke(app, ["patient-vectors", str(root), "--as-of-table", str(labels), "--out", str(out)])
        assert result.exit_code == 2 and code in result.output


@pytest.mark.parametrize("rule", ["strict", "inclusive"])
def test_one_settings_object_serves_databases_and_meds(meds, tmp_path, rule):
    """The same VectorSettings (window and rule included) give the same vectors on a database and on MEDS."""
    root, _ = meds
    settings = VectorSettings(weighting="count", window="40d", as_of_rule=rule)
    as_of = [(1, "2020-04-01"), (2, "2020-03-01")]
    db = _native(tmp_path / "native.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE cohort (patient_id INTEGER, as_of TEXT)")
    con.executemany("INSERT INTO cohort VALUES (?, ?)", as_of)
    con.commit()
    con.close()
    sql = patient_vectors(db, settings.with_(as_of_table="cohort"))
    labels = write_labels(tmp_path / "l.parquet", [(s, d, True) for s, d in as_of])
    rows = meds_patient_vectors(root, settings, labels=labels)
    np.testing.assert_allclose(sql.matrix, rows.matrix, atol=1e-6)
    assert rows.matrix.sum() > 0 and rows.report is not None and rows.report.as_of_rule == rule
    keywords = meds_patient_vectors(root, labels=labels, weighting="count", window="40d", as_of_rule=rule)
    np.testing.assert_allclose(keywords.matrix, rows.matrix)
    assert meds_settings().as_of_rule == "inclusive" and meds_settings(settings, weighting="mean").weighting == "mean"


def test_duplicates_count_once_whatever_the_batches(tmp_path):
    """Same subject, code and time: one event, also when the copies fall in different batches (hand-computed)."""
    from ehrfeat.patients.weights import DUPLICATE

    e119, i10 = "DIAGNOSIS//ICD//10//E119", "ICD10CM/I10"
    events = [(1, "2020-01-01T00:00", e119)] * 3 + [(1, "2020-02-01T00:00", i10)] * 2 + [
        (1, "2020-03-01T00:00", e119), (2, "2020-01-15T00:00", i10), (2, "2020-01-15T00:00", i10)]
    root = write_events(tmp_path / "m", events, n_shards=1)
    write_vectors(root)
    labels = write_labels(tmp_path / "l.parquet", [(1, "2020-04-01", True), (2, "2020-04-01", False)])
    for batch_size in (1, 2, 3, 1000):  # with 1 and 2 most copies lie in different batches
        v = meds_patient_vectors(root, labels=labels, weighting="count", batch_size=batch_size)
        np.testing.assert_allclose(v.matrix, [[2, 1, 0, 0], [0, 1, 0, 0]], err_msg=f"batch_size={batch_size}")
        assert list(v.n_events) == [3, 1]
        assert v.report is not None and v.report.skipped == {DUPLICATE: 4} and v.report.events_read == 8
