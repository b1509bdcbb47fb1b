"""Spark outputs: one parquet file written atomically (--single-file), and Delta (or a clear error naming the jars)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ehrfeat.errors import ConfigError, InputError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_vectors(spark, demo_source, demo_embeddings):
    from ehrfeat.spark.vectors import patient_vectors

    result = patient_vectors(spark, demo_source, demo_embeddings, weighting="idf", as_of="2021-01-01", partitions=3)
    yield result
    result.release()


def test_single_file_is_one_parquet_file_with_every_row_in_order(demo_vectors, tmp_path: Path) -> None:
    target = tmp_path / "out" / "vectors.parquet"
    written = demo_vectors.write(target, single_file=True)
    assert Path(written) == target.resolve() and target.is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == ["vectors.parquet"]  # no staging folder or .crc left
    frame = pd.read_parquet(target)
    local = demo_vectors.collect()
    assert list(frame.columns) == ["patient_id", "n_events", "no_codes", *local.columns]
    np.testing.assert_array_equal(frame["patient_id"], local.patient_ids)  # sorted, as the frame is
    assert (np.diff(frame["patient_id"].to_numpy()) > 0).all()
    np.testing.assert_allclose(frame[list(local.columns)].to_numpy(np.float32), local.matrix, atol=1e-6, rtol=0)

    demo_vectors.write(target, single_file=True)  # an earlier run's file is replaced whole
    assert len(pd.read_parquet(target)) == len(local)
    target.write_bytes(b"someone else's file")  # anything else is kept (test_spark_targets)
    with pytest.raises(InputError, match="E1621"):
        demo_vectors.write(target, single_file=True)
    assert target.read_bytes() == b"someone else's file"


def test_single_file_refuses_a_folder_and_delta(demo_vectors, tmp_path: Path) -> None:
    (tmp_path / "folder.parquet").mkdir()
    with pytest.raises(InputError, match="E1619") as info:
        demo_vectors.write(tmp_path / "folder.parquet", single_file=True)
    assert "folder" in str(info.value)
    with pytest.raises(InputError, match="E1619"):
        demo_vectors.write(tmp_path / "x", fmt="delta", single_file=True)
    with pytest.raises(InputError, match="E1619"):
        demo_vectors.write(tmp_path / "x", fmt="csv")


def test_delta_without_its_jars_is_a_clear_error(spark, demo_vectors, tmp_path: Path) -> None:
    from ehrfeat.spark.output import delta_jars_loaded

    if delta_jars_loaded(spark):
        pytest.skip("this session has Delta's jars: test_spark_writes_delta covers it")
    with pytest.raises(ConfigError, match="E1620") as info:
        demo_vectors.write(tmp_path / "delta", fmt="delta")
    assert "io.delta" in str(info.value) and info.value.fix and "delta-spark" in info.value.fix
    assert not (tmp_path / "delta").exists()  # refused before writing anything


def test_spark_writes_delta(spark, demo_vectors, tmp_path: Path) -> None:
    from ehrfeat.spark.output import delta_jars_loaded

    if not delta_jars_loaded(spark):
        pytest.skip("Delta Lake's jars are not on this Spark classpath (offline: Maven is not reachable)")
    target = demo_vectors.write(tmp_path / "delta", fmt="delta")
    assert (Path(target) / "_delta_log").is_dir()
    back = spark.read.format("delta").load(target).orderBy("patient_id").toPandas()
    np.testing.assert_array_equal(back["patient_id"], demo_vectors.collect().patient_ids)


def test_cli_single_file_and_delta(spark, demo, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    base = ["patient-vectors", str(demo["parquet"]), "--engine", "spark", "--master", "local[2]",
            "--embeddings", str(demo["embeddings"])]
    out = tmp_path / "one.parquet"
    result = CliRunner().invoke(app, [*base, "--out", str(out), "--single-file"])
    assert result.exit_code == 0, result.output
    assert "(parquet file)" in result.output and out.is_file()
    assert len(pd.read_parquet(out)) > 100

    result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "delta"), "--format", "delta"])
    if result.exit_code == 0:  # delta-spark and its jars are there
        assert (tmp_path / "delta" / "_delta_log").is_dir()
    else:
        assert result.exit_code == 2
        assert "E1618" in result.output or "E1620" in result.output
        assert "delta-spark" in result.output
        assert not (tmp_path / "delta").exists()
    result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "d"), "--format", "delta", "--single-file"])
    assert result.exit_code == 2 and "E1619" in result.output
