"""Spark readers (OMOP parquet, MEDS shards), embed-codes on Spark, the CLI's --engine spark, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ehrfeat.patients.vectors import patient_vectors
from tests.spark.conftest import export_parquet, random_vectors
from tests.spark.test_spark_parity import assert_same
from tests.store.conftest import omop_db  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow


def test_spark_embed_codes_matches_one_machine_and_resumes(spark, demo, tiny_onnx: Path, tmp_path: Path) -> None:
    from ehrfeat.embed import embed_codes
    from ehrfeat.models.loader import load_encoder
    from ehrfeat.spark.code_table import load_code_embeddings
    from ehrfeat.spark.embed import embed_codes as spark_embed
    from ehrfeat.store.database import open_database
    from ehrfeat.store.embeddings import EmbeddingCache

    db = tmp_path / "copy.db"
    db.write_bytes(demo["db"].read_bytes())
    local = embed_codes(db, encoder=load_encoder(tiny_onnx, backend="onnx", device="cpu", variant="fp32"))
    out = tmp_path / "code_embeddings.parquet"
    first = spark_embed(spark, str(demo["parquet"]), out, model=tiny_onnx, variant="fp32", partitions=2)
    assert (first.codes_found, first.embedded_now, first.unresolved, first.text_sources) == (
        local.codes_found, local.embedded_now, local.unresolved, local.text_sources)
    assert first.embedded_now > 100
    expected = EmbeddingCache(open_database(db)).load(local.fingerprint)
    got = load_code_embeddings(spark, str(out))
    assert got.fingerprint == expected.fingerprint
    assert got.codes == expected.codes and got.texts == expected.texts
    np.testing.assert_allclose(got.matrix, expected.matrix, atol=1e-5, rtol=0)
    again = spark_embed(spark, str(demo["parquet"]), out, model=tiny_onnx, variant="fp32")
    assert (again.embedded_now, again.already_cached) == (0, first.codes_found - sum(first.unresolved.values()))
    assert len(load_code_embeddings(spark, str(out))) == len(expected)  # nothing written twice


def _cache_all(db: Path, fingerprint: str = "omop-test") -> None:
    from ehrfeat.codes import Code
    from ehrfeat.store.database import open_database
    from ehrfeat.store.embeddings import EmbeddingCache
    from ehrfeat.store.events import distinct_codes
    from ehrfeat.store.schema import detect_schema

    engine = open_database(db)
    codes = [Code(c.system, c.code) for c in distinct_codes(engine, detect_schema(engine))[0]]
    cache = EmbeddingCache(engine)
    cache.ensure_table()
    cache.write(fingerprint, [(c, str(c)) for c in codes], random_vectors(codes, dim=4, seed=3))


def test_spark_omop_parquet_matches_one_machine(spark, omop_db: Path, tmp_path: Path) -> None:  # noqa: F811
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    _cache_all(omop_db)
    folder = export_parquet(omop_db, tmp_path / "omop", ("PERSON", "CONCEPT", "condition_occurrence", "measurement"))
    export_parquet(omop_db, tmp_path / "emb", ("code_embeddings",))
    for options in ({}, {"by_system": True, "weighting": "count"}, {"as_of": "2002-10-16"}):
        local = patient_vectors(omop_db, **options)
        result = spark_vectors(spark, str(folder), str(tmp_path / "emb" / "code_embeddings.parquet"), **options)
        got = result.collect()
        result.release()
        assert_same(got, local)
    assert local.report.read_issues  # unmapped concepts, malformed codes and null dates were counted alike
    assert got.params["blocks"] == ["all"]


def write_meds(db: Path, root: Path) -> Path:
    """The demo events as MEDS: data/train/0.parquet (subject_id, time, code, numeric_value) and metadata/codes.parquet."""
    import sqlite3

    import pandas as pd

    con = sqlite3.connect(db)
    events = pd.read_sql_query("SELECT patient_id, time, code_system, code, value FROM events", con)
    vocabulary = pd.read_sql_query("SELECT code_system, code, description FROM vocabulary", con)
    con.close()
    (root / "data" / "train").mkdir(parents=True)
    (root / "metadata").mkdir()
    meds = pd.DataFrame({
        "subject_id": events["patient_id"].astype("int64"),
        "time": pd.to_datetime(events["time"], errors="coerce", format="mixed"),
        "code": events["code_system"] + "/" + events["code"],
        "numeric_value": events["value"].astype("float32"),
    })
    half = len(meds) // 2
    meds.iloc[:half].to_parquet(root / "data" / "train" / "0.parquet", index=False)
    meds.iloc[half:].to_parquet(root / "data" / "train" / "1.parquet", index=False)
    pd.DataFrame({"code": vocabulary["code_system"] + "/" + vocabulary["code"], "description": vocabulary["description"]}
                 ).to_parquet(root / "metadata" / "codes.parquet", index=False)
    return root


def test_spark_meds_shards_match_one_machine(spark, demo, demo_embeddings, tmp_path: Path) -> None:
    from ehrfeat.spark.readers import read_source
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    root = write_meds(demo["db"], tmp_path / "meds")
    source = read_source(spark, str(root))
    assert source.kind == "meds" and source.texts is not None
    result = spark_vectors(spark, source, demo_embeddings, as_of="2021-01-01", weighting="idf")
    got = result.collect()
    result.release()
    local = patient_vectors(demo["db"], as_of="2021-01-01", weighting="idf")
    assert set(got.patient_ids) <= set(local.patient_ids)  # MEDS has no patients table: the events' patients
    rows = np.searchsorted(local.patient_ids, got.patient_ids)
    np.testing.assert_allclose(got.matrix, local.matrix[rows], atol=1e-5, rtol=0)
    np.testing.assert_array_equal(got.n_events, local.n_events[rows])


def test_spark_cli_patient_vectors_writes_the_same_columns(spark, demo, tmp_path: Path) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    out = tmp_path / "vectors.parquet"
    result = CliRunner().invoke(app, [
        "patient-vectors", str(demo["parquet"]), "--engine", "spark", "--master", "local[2]",
        "--embeddings", str(demo["embeddings"]), "--out", str(out), "--weighting", "time-decay", "--as-of", "2022-01-01",
    ])
    assert result.exit_code == 0, result.output
    assert "events used" in result.output
    local = patient_vectors(demo["db"], weighting="time-decay", as_of="2022-01-01")
    frame = pd.read_parquet(out).sort_values("patient_id")
    assert list(frame.columns) == ["patient_id", "n_events", "no_codes", *local.columns]
    np.testing.assert_array_equal(frame["patient_id"], local.patient_ids)
    np.testing.assert_allclose(frame[list(local.columns)].to_numpy(), local.matrix, atol=1e-5, rtol=0)


def test_spark_errors_name_the_input_and_the_fix(spark, demo, tmp_path: Path) -> None:
    from ehrfeat.errors import ConfigError, InputError
    from ehrfeat.spark.readers import read_source
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="E1608") as info:
        read_source(spark, str(tmp_path / "empty"))
    assert info.value.fix and "events.parquet" in info.value.fix
    with pytest.raises(InputError, match="E1605"):
        spark_vectors(spark, str(demo["parquet"]), str(tmp_path / "missing.parquet"))
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        with pytest.raises(ConfigError, match="E1603"):
            spark_vectors(spark, str(demo["parquet"]), str(demo["embeddings"]))
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_spark_modules_never_import_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import ehrfeat.spark.vectors, ehrfeat.spark.embed, ehrfeat.spark.events, ehrfeat.cli.spark\n"
        "assert 'transformers' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
